"""The huey queue behind `enqueue`, and the runner that executes a Job row.

Only the Job id travels through huey; everything staff see (status, progress, result,
error) lives in the Job row of the portal's own database.
"""

import datetime as dt
import logging
import threading
import time
import traceback
from pathlib import Path

from flask import current_app
from huey import RedisHuey, SqliteHuey, crontab
from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.jobs.models import Job, utcnow

log = logging.getLogger(__name__)

# kind -> handler(payload, progress) -> dict | None
REGISTRY = {}
# kind -> what the status page calls it (a lazy translated string)
LABELS = {}
# kind -> explain(code, details) -> the message of a failure in the current language
EXPLAIN = {}
# Progress is written at most this often (seconds); the last call is always written.
PROGRESS_INTERVAL = 0.5
_PENDING = "tynda_pending_jobs"


def job(kind, label=None, explain=None):
    """Register `handler(payload: dict, progress) -> dict | None` as the job `kind`;
    `label` (a lazy translated string) names it on the status page. A handler refuses with
    an exception carrying `code` and `details` (the capability's own error); `explain(code,
    details)` turns them into a message in the reader's language when the page is shown."""

    def decorator(handler):
        if REGISTRY.get(kind, handler) is not handler:
            raise ValueError(f"job kind {kind!r} is already registered")
        REGISTRY[kind] = handler
        if label is not None:
            LABELS[kind] = label
        if explain is not None:
            EXPLAIN[kind] = explain
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

    # Every worker looks each minute for jobs whose worker died and queues them again.
    @huey.periodic_task(crontab(), name="tynda.recover_jobs")
    def recover_task():
        with app.app_context():
            recover_and_hand_over()

    app.extensions["huey"] = huey
    app.extensions["huey_run_job"] = run_job_task
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)


def _after_commit(session):
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    task = current_app.extensions["huey_run_job"]
    for job_id in pending:
        try:
            task(job_id)
        except Exception:  # the Job row stays queued; `flask jobs requeue` hands it over again
            log.exception("could not hand job %s to the queue", job_id)


def _after_rollback(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def _side_session(bind=None):
    """A session of its own for status and progress, so recording them never commits (or
    waits for) the handler's work. In tests it joins the test's connection via a savepoint.
    Call progress outside write transactions: on SQLite a second writer would wait."""
    return Session(
        bind=bind or db.session.get_bind(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )


def _update(job_id, attempt=None, bind=None, **fields):
    """Write `fields` to the Job row; with `attempt`, only while that run is the job's
    latest and still running (a run that lost its lease and was replaced writes nothing)."""
    with _side_session(bind) as session:
        row = session.get(Job, job_id)
        if row is None:
            return None
        if attempt is not None and (row.attempts != attempt or row.status != "running"):
            return None
        for name, value in fields.items():
            setattr(row, name, value)
        session.commit()
        return row


def _claim(job_id):
    """Mark the job running unless another worker already took it (or it is unknown): one
    conditional UPDATE, so two workers handed the same id cannot both run it."""
    now = utcnow()
    with _side_session() as session:
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued")
            .values(status="running", started_at=now, heartbeat_at=now, attempts=Job.attempts + 1)
        ).rowcount
        row = session.get(Job, job_id) if claimed else None
        session.commit()
        return row


def lease():
    """Seconds without a heartbeat after which a running job counts as interrupted."""
    return float(current_app.config.get("JOBS_LEASE") or 120)


class Heartbeat:
    """While a handler runs in a worker, a thread writes the job's heartbeat every
    `interval` seconds, whether or not the handler reports progress. A killed worker stops
    writing, and the job's lease runs out."""

    def __init__(self, job_id, attempt, interval):
        self.job_id, self.attempt, self.interval = job_id, attempt, interval
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        bind = db.session.get_bind()
        # In-process jobs (tests, JOBS_IMMEDIATE) share the caller's connection: no thread.
        if self.interval and isinstance(bind, Engine):
            self._thread = threading.Thread(
                target=self._beat, args=(bind,), name=f"job-{self.job_id}-heartbeat", daemon=True
            )
            self._thread.start()
        return self

    def _beat(self, bind):
        while not self._stop.wait(self.interval):
            try:
                _update(self.job_id, attempt=self.attempt, bind=bind, heartbeat_at=utcnow())
            except Exception:  # a missed beat is retried; the lease allows for several
                log.exception("could not record the heartbeat of job %s", self.job_id)

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


class Progress:
    """The `progress(done, total, message="")` callable handed to a handler."""

    def __init__(self, job_id, attempt=None):
        self.job_id = job_id
        self.attempt = attempt
        self._last = 0.0

    def __call__(self, done, total, message=""):
        now = time.monotonic()
        if now - self._last < PROGRESS_INTERVAL and done < (total or 0):
            return
        self._last = now
        try:
            _update(
                self.job_id,
                attempt=self.attempt,
                progress=int(done),
                total=None if total is None else int(total),
                message=str(message)[:200],
                heartbeat_at=utcnow(),
            )
        except Exception:  # progress is advisory: never fail the job for it
            log.exception("could not record progress of job %s", self.job_id)


def run_job(job_id):
    """Run one queued Job in the current app context; record done or failed."""
    row = _claim(job_id)
    if row is None:
        return
    attempt = row.attempts
    handler = REGISTRY.get(row.kind)
    interval = float(current_app.config.get("JOBS_HEARTBEAT") or 10)
    try:
        if handler is None:
            raise LookupError(f"no handler for job kind {row.kind!r} in this worker")
        with Heartbeat(job_id, attempt, interval):
            result = handler(dict(row.payload or {}), Progress(job_id, attempt))
            db.session.commit()
    except Exception as exc:
        db.session.rollback()
        log.error("job %s (%s) failed:\n%s", job_id, row.kind, traceback.format_exc())
        code, details = _code_of(row.kind, exc)
        _update(
            job_id,
            attempt=attempt,
            status="failed",
            error=_describe(exc),
            error_code=code,
            error_details=details,
            finished_at=utcnow(),
        )
        return
    finally:
        db.session.remove()
    _finish(job_id, attempt, result)


def _finish(job_id, attempt, result):
    with _side_session() as session:
        row = session.get(Job, job_id)
        if row.attempts != attempt or row.status != "running":
            log.warning("job %s: run %s finished after it was replaced", job_id, attempt)
            return
        row.status, row.result, row.finished_at = "done", result, utcnow()
        row.progress, row.message = row.total or row.progress, ""
        session.commit()


def _describe(exc):
    text = str(exc) or exc.__class__.__name__
    return text[:2000]


def _code_of(kind, exc):
    """A refusal the job's kind can explain keeps its code; anything else is "unexpected"."""
    code, details = getattr(exc, "code", None), getattr(exc, "details", None)
    if kind in EXPLAIN and isinstance(code, str) and isinstance(details, dict):
        return code[:80], {str(k): _plain(v) for k, v in details.items()}
    return "unexpected", {}


def _plain(value):
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


# ------------------------------------------------------------------ workers that died
MAX_ATTEMPTS = 3


def recover(session, now=None):
    """Queue again every running job whose lease ran out (its worker died); a job that
    lost its worker MAX_ATTEMPTS times fails as "interrupted" instead, so a job that kills
    its worker (memory) does not take every worker down in turn. Flush only; returns the
    ids queued again (hand them to the queue after the commit, `hand_over`)."""
    cutoff = (now or utcnow()) - dt.timedelta(seconds=lease())
    last = db.func.coalesce(Job.heartbeat_at, Job.started_at, Job.created_at)
    stale = session.execute(
        select(Job.id, Job.attempts).where(Job.status == "running", last < cutoff)
    ).all()
    again = []
    for job_id, attempts in stale:
        if attempts >= MAX_ATTEMPTS:
            values = dict(
                status="failed",
                error_code="interrupted",
                error_details={"attempts": attempts},
                error=f"the worker stopped {attempts} times while running the job",
                finished_at=now or utcnow(),
            )
        else:
            values = dict(status="queued", message="")
        # Conditional on the attempt: a worker that wrote meanwhile keeps its job.
        changed = session.execute(
            update(Job)
            .where(
                Job.id == job_id, Job.status == "running", Job.attempts == attempts, last < cutoff
            )
            .values(**values)
        ).rowcount
        if changed and values["status"] == "queued":
            again.append(job_id)
    session.flush()
    return again


def retry(session, row):
    """Queue an interrupted job again now (a staff member's button); flush only; the task
    reaches the queue after the commit. False when it is not interrupted (any more)."""
    if not (
        row.interrupted(lease()) or (row.status == "failed" and row.error_code == "interrupted")
    ):
        return False
    # Conditional on what the page saw: a worker that took the job meanwhile keeps it.
    changed = session.execute(
        update(Job)
        .where(Job.id == row.id, Job.status == row.status, Job.attempts == row.attempts)
        .values(status="queued", message="", error=None, error_code=None, error_details=None)
        .values(finished_at=None)
    ).rowcount
    session.expire(row)
    if not changed:
        return False
    session.info.setdefault(_PENDING, []).append(row.id)
    return True


def recover_and_hand_over():
    """What a worker does at start and each minute: `recover`, commit, queue the jobs."""
    ids = recover(db.session)
    db.session.commit()
    hand_over(ids)
    return ids


def hand_over(ids):
    task = current_app.extensions["huey_run_job"]
    for job_id in ids:
        task(job_id)
