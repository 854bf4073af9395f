"""Error pages in the reader's language; JSON for /api/ paths. No traceback reaches a user."""

from flask import jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

PAGES = (400, 403, 404, 405, 409, 413, 429, 500, 503)


class Refusal(HTTPException):
    """A refusal that says why and what to do next: raised by views, rendered here.

    `message` is already translated; `next_url`/`next_label` name the step that helps
    (verify, sign in, go to one's own region …). 403 by default; 409 for "not now".
    """

    code = 403

    def __init__(self, message, next_url=None, next_label=None, code=403):
        super().__init__(str(message))
        self.code = code
        self.user_message = str(message)
        self.next_url = next_url
        self.next_label = str(next_label) if next_label else None


def _titles():
    return {
        400: _("The request could not be understood"),
        403: _("You do not have access to this page"),
        409: _("This is not possible now"),
        404: _("Page not found"),
        405: _("This action is not allowed here"),
        413: _("The upload is too large"),
        429: _("Too many attempts"),
        500: _("Something went wrong on our side"),
        503: _("The service is busy"),
    }


def _explanations():
    return {
        400: _("Please go back, reload the page and try again."),
        403: _("If you think you should have access, sign in with another account."),
        404: _("The address may be mistyped, or the page was removed."),
        405: _("Please go back and use the form on the page."),
        409: _("Please go back and check the page's current state."),
        413: _("Please send a smaller file."),
        429: _("Please wait a few minutes and try again."),
        500: _("We have been told about it. Please try again later."),
        503: _("Please try again in a minute."),
    }


def render_error(code, detail=None, next_url=None, next_label=None):
    code = code if code in PAGES else (400 if code < 500 else 500)
    title = _titles()[code]
    if request.path.startswith("/api/"):
        body = {"code": code, "message": detail or title}
        if next_url:
            body["next"] = next_url
        return jsonify({"error": body}), code
    return (
        render_template(
            "errors/error.html",
            code=code,
            title=title,
            explanation=detail or _explanations()[code],
            next_url=next_url,
            next_label=next_label,
        ),
        code,
    )


def _handle_http(error):
    response = make_response(
        render_error(
            error.code or 500,
            getattr(error, "user_message", None),
            getattr(error, "next_url", None),
            getattr(error, "next_label", None),
        )
    )
    # A 405 must say which methods the address allows (RFC 9110); Werkzeug's error knows them.
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return response


def _handle_csrf(error):
    return render_error(
        400, _("The form has expired or was sent from another site. Reload the page and try again.")
    )


def _handle_rate_limit(error):
    """429 with Retry-After and a message in the reader's language (JSON under /api/)."""
    from portal.ratelimit import retry_after

    seconds = retry_after()
    minutes = max(1, -(-seconds // 60))
    message = _(
        "Too many requests from you in a short time. Please try again in %(minutes)d minutes.",
        minutes=minutes,
    )
    response, code = render_error(429, message)
    response = make_response(response, code)
    response.headers["Retry-After"] = str(seconds)
    return response


def _handle_unexpected(error):
    if isinstance(error, HTTPException):
        return _handle_http(error)
    # Logged with its traceback for operators; the user sees a plain page.
    from flask import current_app

    current_app.logger.exception("Unhandled error", exc_info=error)
    return render_error(InternalServerError.code)


def init_app(app):
    app.register_error_handler(CSRFError, _handle_csrf)
    app.register_error_handler(RateLimitExceeded, _handle_rate_limit)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
