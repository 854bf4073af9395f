"""Security headers on every response, and checks on what every request brings in.

The CSP allows no inline script: every script is a file under /static, which keeps the
portal safe even if a sanitiser ever misses an attribute. Bad input is refused by class here,
before any view runs: control characters in query strings, ids beyond the database's integer
range, bodies over MAX_CONTENT_LENGTH (chunked ones too), forms that are not UTF-8.
"""

import io
from urllib.parse import unquote_to_bytes

from flask import current_app, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

from portal.errors import render_error
from portal.textcheck import has_bad_characters

INT32_MAX = 2**31 - 1
HSTS = "max-age=31536000; includeSubDomains"


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` that stops at the signed 32-bit limit of the id columns: larger ids are 404.

    Registered under the name "int", so every route gets it; without it SQLite raises
    OverflowError and PostgreSQL a DataError (both a 500) for /drafts/99999999999.
    """

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", INT32_MAX)
        super().__init__(map, *args, **kwargs)


class ChunkedBodyLimit:
    """WSGI middleware: a body without Content-Length (chunked) is read up to the limit.

    Werkzeug would silently cut such a body at MAX_CONTENT_LENGTH and process the rest as
    if complete. Here a short body gets its real Content-Length; a longer one is replaced by
    an empty stream with a too-large Content-Length, which the app answers with a 413.
    """

    def __init__(self, wsgi_app, limit):
        self.wsgi_app = wsgi_app
        self.limit = limit

    def __call__(self, environ, start_response):
        limit = self.limit()
        if (
            limit is not None
            and not environ.get("CONTENT_LENGTH")
            and environ.get("wsgi.input_terminated")
        ):
            stream = environ["wsgi.input"]
            body, size = [], 0
            while size <= limit:
                chunk = stream.read(min(65536, limit + 1 - size))
                if not chunk:
                    break
                body.append(chunk)
                size += len(chunk)
            if size > limit:
                body, size = [], limit + 1
            environ["wsgi.input"] = io.BytesIO(b"".join(body))
            environ["CONTENT_LENGTH"] = str(size)
            # The body is now a plain one of known length; Werkzeug ignores Content-Length
            # while Transfer-Encoding says chunked.
            environ.pop("wsgi.input_terminated", None)
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.wsgi_app(environ, start_response)


def refuse_oversized_body():
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        return render_error(413)
    return None


def refuse_bad_query():
    """Control characters in a query string are never meant: refuse with a clear 400.

    Without this a NUL in ?region= or ?q= reaches PostgreSQL, which answers with a DataError.
    A path with one (/budget/photos/a%00b.jpg) names nothing here: 404.
    """
    if has_bad_characters(request.path):
        return render_error(404)
    for key, value in request.args.items(multi=True):
        if has_bad_characters(key) or has_bad_characters(value):
            return render_error(
                400,
                _("The address contains characters that are not allowed. Check the link."),
            )
    return None


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
    if current_app.config.get("HSTS"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    if response.status_code >= 400:
        # An error is about this request only: no shared cache may keep or replay it.
        headers["Cache-Control"] = "no-store"
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
        # The whole body at once: every name and value is UTF-8 exactly when the body with
        # all of them unquoted is (the "&" and "=" between them are ASCII, and an escape
        # never spans one), and one pass is much cheaper than two per field.
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return render_error(400, _("The text is not valid UTF-8. Save it as UTF-8 and try again."))
    return None


def init_app(app):
    """Register before CSRFProtect: its check reads the form, and bad bytes would be lost.

    The integer converter must be in place before any blueprint adds its routes.
    """
    app.url_map.converters["int"] = BoundedIntConverter
    app.wsgi_app = ChunkedBodyLimit(app.wsgi_app, lambda: app.config.get("MAX_CONTENT_LENGTH"))
    app.before_request(refuse_oversized_body)
    app.before_request(refuse_bad_query)
    app.before_request(reject_non_utf8_forms)
    app.after_request(_add_headers)
