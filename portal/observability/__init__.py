"""Observability: a request id on every request, JSON log lines, Prometheus metrics, health.

- X-Request-ID: taken from the request when it is a plain token (a proxy's id), else made
  here; returned on the response and written into every log line of the request.
- Logs: one JSON object per line on stderr (LOG_FORMAT=json, the default; "text" for humans),
  with an access line per request (method, route, status, duration, request id).
- /metrics: Prometheus text format, for a token (METRICS_TOKEN, sent as a Bearer token),
  a signed-in administrator, or a direct loopback connection; nobody else.
- /health: the database and the job queue answer; 503 when one does not.
"""

import re
import time
import uuid

from flask import g, request

from portal.observability import logs, metrics

REQUEST_ID_HEADER = "X-Request-ID"
_TOKEN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def current_request_id():
    return getattr(g, "request_id", None)


def _start():
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = offered if _TOKEN.match(offered) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish(response):
    response.headers[REQUEST_ID_HEADER] = getattr(g, "request_id", "") or uuid.uuid4().hex
    started = getattr(g, "request_started", None)
    if started is not None:
        elapsed = time.perf_counter() - started
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.observe_request(request.method, route, response.status_code, elapsed)
        logs.access(request.method, route, request.path, response.status_code, elapsed)
    return response


def init_app(app):
    """Register first, so the request id exists before any other hook logs."""
    logs.configure(app)
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    from portal.observability.views import bp

    app.register_blueprint(bp)
