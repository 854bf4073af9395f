"""Budgeting pages."""

from flask import Blueprint

from portal.budgeting import models  # noqa: F401

bp = Blueprint("budgeting", __name__, url_prefix="/budget")
