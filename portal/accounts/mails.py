"""The account mails: confirmation, password reset, new address. Rendered in the person's
language (their account setting, else the page's) and sent by the mail job."""

from flask import current_app

from portal.accounts import tokens
from portal.i18n import current_language
from portal.mail import absolute_url, send_mail


def _key():
    return current_app.config["SECRET_KEY"]


def _locale(user):
    return user.locale or current_language()


def send_confirmation(session, user):
    link = absolute_url("accounts.confirm_email", token=tokens.make(_key(), user, "confirm"))
    send_mail(
        session,
        to=user.email,
        locale=_locale(user),
        template="confirm_email",
        context={"user": user, "link": link},
    )


def send_email_change(session, user, new_email):
    token = tokens.make(_key(), user, "change_email", email=new_email)
    link = absolute_url("accounts.confirm_email_change", token=token)
    send_mail(
        session,
        to=new_email,
        locale=_locale(user),
        template="email_change",
        context={"user": user, "link": link, "new_email": new_email},
    )


def send_password_reset(session, user):
    link = absolute_url("accounts.reset_password", token=tokens.make(_key(), user, "reset"))
    send_mail(
        session,
        to=user.email,
        locale=_locale(user),
        template="password_reset",
        context={"user": user, "link": link, "hours": tokens.LIFETIMES["reset"] // 3600},
    )


def read_token(token, purpose):
    from portal.accounts.models import User
    from portal.extensions import db

    return tokens.read(_key(), token, purpose, lambda uid: db.session.get(User, uid))
