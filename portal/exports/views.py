from flask import Blueprint

from portal.exports import models  # noqa: F401

bp = Blueprint("exports", __name__, url_prefix="/staff")
