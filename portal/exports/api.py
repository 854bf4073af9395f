from flask import Blueprint

bp = Blueprint("exports_api", __name__, url_prefix="/api/v1")
