"""Who may open what: role checks shared by every blueprint; refusals say what to do."""

from functools import wraps

from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.errors import Refusal
from portal.extensions import db
from portal.regions.models import Region


def _role_names():
    return {
        "moderator": _("moderators"),
        "staff": _("akimat staff"),
        "admin": _("administrators"),
    }


def role_refusal(roles):
    """The refusal for a signed-in user whose role does not open the page."""
    names = _role_names()
    wanted = ", ".join(names[r] for r in roles if r in names) or names["admin"]
    return Refusal(
        _(
            "This page is for %(roles)s. If your work needs it, ask an administrator to give "
            "your account that role.",
            roles=wanted,
        ),
        url_for("accounts.profile"),
        _("Open my profile"),
    )


def roles_required(*roles):
    """Require a signed-in user with one of the roles (admins always pass)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role != "admin" and current_user.role not in roles:
                raise role_refusal(roles)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def region_refusal(region_id):
    """The refusal for staff or a moderator of another region."""
    region = db.session.get(Region, region_id)
    yours = current_user.scope_region
    if yours is None:
        return role_refusal(("staff",))
    return Refusal(
        _(
            "This belongs to %(region)s; your account works for %(yours)s.",
            region=region.name if region else "—",
            yours=yours.name,
        ),
        url_for("main.index", region=yours.code),
        _("Go to your region"),
    )


def require_region_access(region_id, roles=("staff",)):
    """Refuse unless the current user works for this region in one of the roles, or is admin."""
    if current_user.is_admin:
        return
    if current_user.role not in roles:
        raise role_refusal(roles)
    if current_user.scope_region_id != region_id:
        raise region_refusal(region_id)
