"""Sign-in through an OpenID Connect identity provider (eGov or an akimat's own), with Authlib.

Configured by settings; nothing shows unless OIDC_CLIENT_ID is set:
  OIDC_ISSUER or OIDC_METADATA_URL   the provider (discovery document)
  OIDC_CLIENT_ID, OIDC_CLIENT_SECRET the portal's registration at the provider
  OIDC_IIN_CLAIM                     the claim that carries the IIN (default "iin")
  OIDC_VERIFIES_RESIDENCE            True: an IIN confirmed by the provider verifies the
                                     resident in the region of their account
  OIDC_NAME                          the button's label, e.g. "eGov"
The IIN claim is linked to an account through the same keyed IIN hash as registration; the
IIN itself is never stored.
"""

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import current_app, flash, redirect, session, url_for
from flask_babel import gettext as _

from portal.accounts import services
from portal.accounts.domain import IINError, parse_iin
from portal.accounts.models import iin_key
from portal.accounts.views import _start_session, bp
from portal.extensions import db

SESSION_IIN = "oidc_iin"


def init_app(app):
    """Register the provider client for this app (per app: each has its own settings)."""
    if not app.config.get("OIDC_CLIENT_ID"):
        return
    metadata = app.config.get("OIDC_METADATA_URL") or (
        app.config["OIDC_ISSUER"].rstrip("/") + "/.well-known/openid-configuration"
    )
    oauth = OAuth(app)
    oauth.register(
        "oidc",
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config.get("OIDC_CLIENT_SECRET"),
        server_metadata_url=metadata,
        client_kwargs={"scope": "openid profile", "code_challenge_method": "S256"},
    )
    app.extensions["tynda_oidc"] = oauth.oidc


def enabled():
    return "tynda_oidc" in current_app.extensions


def _client():
    return current_app.extensions["tynda_oidc"]


@bp.route("/login/oidc")
def oidc_login():
    if not enabled():
        return redirect(url_for("accounts.login"))
    return _client().authorize_redirect(url_for("accounts.oidc_callback", _external=True))


@bp.route("/login/oidc/callback")
def oidc_callback():
    if not enabled():
        return redirect(url_for("accounts.login"))
    try:
        token = _client().authorize_access_token()
        claims = token.get("userinfo") or _client().userinfo(token=token)
    except (OAuthError, ValueError, KeyError) as error:
        current_app.logger.warning("OIDC sign-in failed: %s", error)
        flash(
            _("Sign-in through the identity provider did not succeed. Please try again."), "error"
        )
        return redirect(url_for("accounts.login"))
    iin = str(claims.get(current_app.config.get("OIDC_IIN_CLAIM", "iin")) or "")
    try:
        parse_iin(iin)
    except IINError:
        flash(
            _("The identity provider did not give a valid IIN. Sign in with your password."),
            "error",
        )
        return redirect(url_for("accounts.login"))
    user = services.find_by_iin(db.session, iin, iin_key())
    if user is None or user.deleted_at is not None:
        # Keep the confirmed IIN for this browser's registration; never stored in the database.
        session[SESSION_IIN] = iin
        flash(
            _(
                "Your identity is confirmed, but no account uses this IIN yet. Register once; "
                "your IIN is already filled in."
            ),
            "info",
        )
        return redirect(url_for("accounts.register"))
    verify_by_provider(user)
    db.session.commit()
    _start_session(user)
    flash(_("You are signed in."), "success")
    return redirect(url_for("accounts.profile"))


def verify_by_provider(user):
    """An IIN confirmed by a provider that vouches for residence verifies the resident."""
    if current_app.config.get("OIDC_VERIFIES_RESIDENCE") and user.verified_region_id is None:
        services.mark_verified(user, user.region_id, "oidc")
