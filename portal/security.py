"""Security headers on every response, and a UTF-8 check on every submitted form.

The CSP allows no inline script: every script is a file under /static, which keeps the
portal safe even if a sanitiser ever misses an attribute.
"""

from urllib.parse import unquote_to_bytes

from flask import request
from flask_babel import gettext as _

from portal.errors import render_error

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _add_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    return response


def reject_non_utf8_forms():
    """Refuse a form whose bytes are not UTF-8 with a clear 400, before anything reads it.

    Werkzeug keeps a bad percent-escape such as %FF as literal text and drops a body with raw
    invalid bytes, so neither would reach a form or a service as an error on its own.
    """
    if request.method != "POST" or request.mimetype != "application/x-www-form-urlencoded":
        return None
    raw = request.get_data(cache=True)
    try:
        for pair in raw.split(b"&"):
            for part in pair.split(b"=", 1):
                unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return render_error(400, _("The text is not valid UTF-8. Save it as UTF-8 and try again."))
    return None


def init_app(app):
    """Register before CSRFProtect: its check reads the form, and bad bytes would be lost."""
    app.before_request(reject_non_utf8_forms)
    app.after_request(_add_headers)
