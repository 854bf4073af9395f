"""Notification pages on the accounts blueprint: my notifications, settings, unsubscribe."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.accounts import mails, notify
from portal.accounts.forms import EmptyForm
from portal.accounts.models import Notice, utcnow
from portal.accounts.tokens import TokenError
from portal.accounts.views import bp
from portal.extensions import csrf, db
from portal.pagination import paginate


@bp.route("/notifications")
@login_required
def notifications():
    query = (
        select(Notice)
        .where(Notice.user_id == current_user.id, Notice.in_portal.is_(True))
        .order_by(Notice.id.desc())
    )
    page = paginate(query)
    unread = [n for n in page.items if n.read_at is None]
    html = render_template(
        "accounts/notifications.html", page=page, describe=notify.describe, unread=unread
    )
    for notice in unread:  # seen now; shown as new this once
        notice.read_at = utcnow()
    db.session.commit()
    return html


@bp.route("/notifications/settings", methods=["GET", "POST"])
@login_required
def notification_settings():
    form = EmptyForm()
    kinds = notify.kinds_for(current_user)
    if form.validate_on_submit():
        chosen = {
            (kind, channel)
            for kind in kinds
            for channel in notify.CHANNELS
            if request.form.get(f"{kind}-{channel}")
        }
        notify.set_preferences(db.session, current_user, chosen)
        db.session.commit()
        flash(_("Your notification settings are saved."), "success")
        return redirect(url_for("accounts.notification_settings"))
    return render_template(
        "accounts/notification_settings.html",
        form=form,
        kinds=kinds,
        labels=notify.kind_labels(),
        wants=notify.wants,
    )


@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the authority; mail clients POST without a form
def unsubscribe(token):
    """One click from a mail: stop that kind of e-mail (RFC 8058 one-click POST too)."""
    try:
        user, payload = mails.read_token(token, "unsubscribe")
    except TokenError:
        flash(_("This link is not valid or was already used. Ask for a new one."), "error")
        return redirect(url_for("main.index"))
    kind = payload.get("kind", "all")
    notify.unsubscribe(db.session, user, kind if kind in notify.KINDS else "all")
    db.session.commit()
    if request.method == "POST":
        return "", 204
    label = notify.kind_labels().get(kind, _("all notifications"))
    return render_template("accounts/unsubscribed.html", label=label)
