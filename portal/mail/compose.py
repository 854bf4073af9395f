"""Render a mail in one language and queue it as a "mail.send" job."""

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale

from portal.mail import queue


def render_mail(template, locale, context):
    """(subject, body) of templates/mail/<template>.* rendered in `locale`."""
    languages = current_app.config["LANGUAGES"]
    locale = locale if locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        subject = render_template(f"mail/{template}.subject.txt", **context)
        body = render_template(f"mail/{template}.txt", **context)
    return " ".join(subject.split()), body


def send_mail(session, *, to, locale, template, context=None, headers=None):
    """Render now (the request knows the language and links), deliver after the commit."""
    subject, body = render_mail(template, locale, dict(context or {}))
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or "Tynda <no-reply@tynda.kz>"
    payload = {
        "to": to,
        "from": sender,
        "subject": subject,
        "body": body,
        "headers": dict(headers or {}),
    }
    return queue.enqueue_mail(session, payload)


def absolute_url(endpoint, **values):
    """A full link for a mail: from the request, else from PUBLIC_URL (CLI and jobs)."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    base = current_app.config.get("PUBLIC_URL", "http://127.0.0.1:5000")
    with current_app.test_request_context(base_url=base):
        return url_for(endpoint, _external=True, **values)
