"""The huey queue behind `enqueue`, and the runner that executes a Job row.

Only the Job id travels through huey; everything staff see (status, progress, result,
error) lives in the Job row of the portal's own database.
"""

import logging
import time
import traceback
from pathlib import Path

from huey import RedisHuey, SqliteHuey
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.jobs.models import Job, utcnow

log = logging.getLogger(__name__)

# kind -> handler(payload, progress) -> dict | None
REGISTRY = {}
# kind -> what the status page calls it (a lazy translated string)
LABELS = {}
# Progress is written at most this often (seconds); the last call is always written.
PROGRESS_INTERVAL = 0.5
_PENDING = "tynda_pending_jobs"


def job(kind, label=None):
    """Register `handler(payload: dict, progress) -> dict | None` as the job `kind`;
    `label` (a lazy translated string) names it on the status page."""

    def decorator(handler):
        if REGISTRY.get(kind, handler) is not handler:
            raise ValueError(f"job kind {kind!r} is already registered")
        REGISTRY[kind] = handler
        if label is not None:
            LABELS[kind] = label
        return handler

    return decorator


def enqueue(session, kind, payload, actor=None):
    """Add a queued Job row (flush only); the task reaches the queue after the commit."""
    if kind not in REGISTRY:
        raise KeyError(f"unknown job kind {kind!r}")
    row = Job(kind=kind, payload=dict(payload), status="queued", created_by_id=_id(actor))
    session.add(row)
    session.flush()
    session.info.setdefault(_PENDING, []).append(row.id)
    return row


def _id(actor):
    return getattr(actor, "id", None) if actor is not None else None


def init_app(app):
    """Create the app's huey instance and hand committed jobs to it."""
    if app.config.get("JOBS_REDIS_URL"):
        huey = RedisHuey("tynda", url=app.config["JOBS_REDIS_URL"])
    else:
        path = app.config.get("JOBS_SQLITE_PATH") or str(Path(app.instance_path) / "jobs.sqlite")
        huey = SqliteHuey("tynda", filename=path)
    huey.immediate = bool(app.config.get("JOBS_IMMEDIATE"))

    @huey.task(name="tynda.run_job")
    def run_job_task(job_id):
        with app.app_context():
            run_job(job_id)

    app.extensions["huey"] = huey
    app.extensions["huey_run_job"] = run_job_task
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)


def _after_commit(session):
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    from flask import current_app

    task = current_app.extensions["huey_run_job"]
    for job_id in pending:
        try:
            task(job_id)
        except Exception:  # the Job row stays queued; `flask jobs requeue` hands it over again
            log.exception("could not hand job %s to the queue", job_id)


def _after_rollback(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def _side_session():
    """A session of its own for status and progress, so recording them never commits (or
    waits for) the handler's work. In tests it joins the test's connection via a savepoint.
    Call progress outside write transactions: on SQLite a second writer would wait."""
    return Session(
        bind=db.session.get_bind(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )


def _update(job_id, **fields):
    with _side_session() as session:
        row = session.get(Job, job_id)
        if row is None:
            return None
        for name, value in fields.items():
            setattr(row, name, value)
        session.commit()
        return row


def _claim(job_id):
    """Mark the job running unless another worker already took it (or it is unknown)."""
    with _side_session() as session:
        row = session.get(Job, job_id)
        if row is None or row.status != "queued":
            return None
        row.status, row.started_at = "running", utcnow()
        session.commit()
        return row


class Progress:
    """The `progress(done, total, message="")` callable handed to a handler."""

    def __init__(self, job_id):
        self.job_id = job_id
        self._last = 0.0

    def __call__(self, done, total, message=""):
        now = time.monotonic()
        if now - self._last < PROGRESS_INTERVAL and done < (total or 0):
            return
        self._last = now
        try:
            _update(
                self.job_id,
                progress=int(done),
                total=None if total is None else int(total),
                message=str(message)[:200],
            )
        except Exception:  # progress is advisory: never fail the job for it
            log.exception("could not record progress of job %s", self.job_id)


def run_job(job_id):
    """Run one queued Job in the current app context; record done or failed."""
    row = _claim(job_id)
    if row is None:
        return
    handler = REGISTRY.get(row.kind)
    try:
        if handler is None:
            raise LookupError(f"no handler for job kind {row.kind!r} in this worker")
        result = handler(dict(row.payload or {}), Progress(job_id))
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        log.error("job %s (%s) failed:\n%s", job_id, row.kind, traceback.format_exc())
        _update(job_id, status="failed", error=_describe(exc), finished_at=utcnow())
        return
    finally:
        db.session.remove()
    _finish(job_id, result)


def _finish(job_id, result):
    with _side_session() as session:
        row = session.get(Job, job_id)
        row.status, row.result, row.finished_at = "done", result, utcnow()
        row.progress, row.message = row.total or row.progress, ""
        session.commit()


def _describe(exc):
    text = str(exc) or exc.__class__.__name__
    return text[:2000]
