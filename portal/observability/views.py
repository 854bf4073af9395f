"""/health for load balancers and /metrics for Prometheus."""

import hmac
import ipaddress
import logging

from flask import Blueprint, abort, current_app, jsonify, request
from flask_login import current_user
from sqlalchemy import func, select, text

from portal.extensions import db
from portal.observability import metrics

bp = Blueprint("observability", __name__)
log = logging.getLogger(__name__)
FORWARDING_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


def _queue():
    """The job queue (huey) of this app, or None when the jobs package is not installed."""
    return current_app.extensions.get("huey")


def _queue_length(queue):
    return queue.pending_count() if queue is not None and not queue.immediate else 0


def _jobs_by_status():
    try:
        from portal.jobs.models import Job
    except ImportError:  # an instance without the jobs package
        return {}
    try:
        rows = db.session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
    except Exception:  # noqa: BLE001 - a scrape must not fail because one figure is missing
        log.exception("metrics: could not count jobs")
        db.session.rollback()
        return {}
    return {status: count for status, count in rows}


@bp.route("/health")
def health():
    """200 when the database and the job queue answer, else 503 naming what failed."""
    checks, healthy = {}, True
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means unhealthy; details go to the log
        log.exception("health: database check failed")
        db.session.rollback()
        checks["database"], healthy = "fail", False
    queue = _queue()
    if queue is None:
        checks["queue"] = "absent"
    else:
        try:
            checks["queue"] = "ok"
            checks["queue_length"] = _queue_length(queue)
        except Exception:  # noqa: BLE001
            log.exception("health: job queue check failed")
            checks["queue"], healthy = "fail", False
    body = {"status": "ok" if healthy else "fail", **checks}
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _allowed():
    token = current_app.config.get("METRICS_TOKEN")
    offered = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return True
    if current_user.is_authenticated and getattr(current_user, "is_admin", False):
        return True
    # A direct connection from this machine (not a request a local proxy forwarded).
    try:
        loopback = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        loopback = False
    direct = not any(request.headers.get(name) for name in FORWARDING_HEADERS)
    return loopback and direct and current_app.config.get("METRICS_LOOPBACK", True)


@bp.route("/metrics")
def metrics_view():
    if not _allowed():
        abort(404)  # do not even confirm that the endpoint exists
    try:
        queue_length = _queue_length(_queue())
    except Exception:  # noqa: BLE001 - a dead queue is reported by /health, not here
        queue_length = None
    body = metrics.exposition(_jobs_by_status(), queue_length)
    response = current_app.response_class(body, mimetype="text/plain")
    response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
    response.headers["Cache-Control"] = "no-store"
    return response
