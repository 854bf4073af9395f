"""Who may open what: role checks shared by every blueprint."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def roles_required(*roles):
    """Require a signed-in user with one of the roles (admins always pass)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role != "admin" and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def require_region_access(region_id, roles=("staff",)):
    """403 unless the current user works for this region in one of the roles, or is admin."""
    if current_user.is_admin:
        return
    if current_user.role not in roles or current_user.scope_region_id != region_id:
        abort(403)
