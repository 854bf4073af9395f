"""The home page and the language switcher."""

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from portal.accounts import services
from portal.extensions import db
from portal.forms import BaseForm, require_valid
from portal.i18n import COOKIE
from portal.redirects import safe_local_path
from portal.regions.models import Region

bp = Blueprint("main", __name__)
ONE_YEAR = 365 * 24 * 3600


@bp.route("/")
def index():
    regions = db.session.scalars(select(Region).order_by(Region.code)).all()
    return render_template("main/index.html", regions=regions)


@bp.route("/language", methods=["POST"])
def set_language():
    require_valid(BaseForm())
    lang = request.form.get("lang", "")
    back = safe_local_path(request.form.get("next", "")) or url_for("main.index")
    response = redirect(back)
    if lang in current_app.config["LANGUAGES"]:
        response.set_cookie(
            COOKIE,
            lang,
            max_age=ONE_YEAR,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
        if current_user.is_authenticated:
            services.change_locale(db.session, current_user, lang)
            db.session.commit()
    return response
