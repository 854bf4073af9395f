"""The home page and the language switcher."""

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

from portal.accounts import services
from portal.accounts.models import utcnow
from portal.extensions import db
from portal.forms import BaseForm, require_valid
from portal.i18n import COOKIE
from portal.main import queries
from portal.redirects import safe_local_path
from portal.regions.models import Region

bp = Blueprint("main", __name__)
ONE_YEAR = 365 * 24 * 3600


def _home_region(regions):
    """The region asked for (remembered in the session), else the account's, else none."""
    by_code = {r.code: r for r in regions}
    asked = request.args.get("region")
    if asked is not None:
        if asked in by_code:
            session["home_region"] = asked
        else:
            session.pop("home_region", None)
        return by_code.get(asked)
    remembered = by_code.get(session.get("home_region", ""))
    if remembered is not None:
        return remembered
    if current_user.is_authenticated:
        return next((r for r in regions if r.id == current_user.region_id), None)
    return None


@bp.route("/")
def index():
    regions = db.session.scalars(select(Region).order_by(Region.code)).all()
    region = _home_region(regions)
    now = utcnow()
    region_id = region.id if region else None
    context = {
        "regions": regions,
        "region": region,
        "drafts": queries.open_drafts(db.session, region_id, now),
        "answers": queries.recent_answers(db.session, region_id),
        "overdue": queries.overdue_count(db.session, region_id, now),
        "phases": {},
        "results": [],
    }
    if region is not None:
        context["phases"] = queries.cycles_by_phase(db.session, region.id, now)
        context["results"] = queries.recent_results(db.session, region.id)
    return render_template("main/index.html", **context)


@bp.route("/verification")
def verification_help():
    return render_template("main/verification.html")


@bp.route("/accessibility")
def accessibility():
    return render_template("main/accessibility.html")


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
