"""A job whose worker died: its heartbeat stops, it shows as interrupted once its lease runs
out, and it is run again (by the next worker, `flask jobs requeue`, or a staff member's
audited button) without a replaced run writing over the new one."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import post_form, translate
from sqlalchemy import select
from worker_helpers import wait_for

from portal.audit.models import AuditEntry
from portal.extensions import db as _db
from portal.jobs import enqueue
from portal.jobs import queue as jobs_queue
from portal.jobs.models import Job, utcnow

ROOT = Path(__file__).resolve().parents[2]
LONG_AGO = dt.timedelta(hours=1)


def _running(db, owner, attempts=1, silent_for=LONG_AGO):
    row = Job(kind="jobs.ping", payload={"steps": 2}, status="running", attempts=attempts)
    row.started_at = row.heartbeat_at = utcnow() - silent_for
    row.created_by_id = owner.id if owner else None
    db.session.add(row)
    db.session.commit()
    return row


def _job(db, job_id):
    db.session.expire_all()
    return db.session.get(Job, job_id)


def test_a_silent_running_job_is_shown_interrupted_and_staff_can_start_it_again(db, as_role):
    staff = as_role("staff")
    row = _running(db, staff.user)
    page = staff.get(f"/jobs/{row.id}").get_data(as_text=True)
    assert "Interrupted" in page and 'id="job-retry"' in page
    assert "Working on it" not in page and 'data-finished="yes"' in page
    data = staff.get(f"/jobs/{row.id}.json").json
    assert data["interrupted"] is True and data["status"] == "running"

    response = post_form(staff, f"/jobs/{row.id}/retry", {}, token_from=f"/jobs/{row.id}")
    assert response.status_code == 303
    done = _job(db, row.id)  # JOBS_IMMEDIATE: the queued job ran after the commit
    assert (done.status, done.result, done.attempts) == ("done", {"pong": 2}, 2)
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.target, entry.actor_id) == (
        "job.retry",
        f"job {row.id}",
        staff.user.id,
    )


def test_a_live_job_is_not_interrupted_and_cannot_be_started_twice(db, as_role):
    staff = as_role("staff")
    row = _running(db, staff.user, silent_for=dt.timedelta(seconds=1))
    page = staff.get(f"/jobs/{row.id}").get_data(as_text=True)
    assert "Working on it" in page and "job-retry" not in page
    before = db.session.scalar(select(_db.func.count()).select_from(AuditEntry))
    post_form(staff, f"/jobs/{row.id}/retry", {}, token_from="/")
    assert (_job(db, row.id).status, _job(db, row.id).attempts) == ("running", 1)
    assert db.session.scalar(select(_db.func.count()).select_from(AuditEntry)) == before


def test_retry_needs_a_token_and_the_jobs_owner(db, as_role):
    staff, other = as_role("staff"), as_role("staff")
    row = _running(db, staff.user)
    assert staff.post(f"/jobs/{row.id}/retry").status_code == 400
    assert post_form(other, f"/jobs/{row.id}/retry", {}, token_from="/").status_code == 403
    assert _job(db, row.id).status == "running"


def test_recover_requeues_stale_jobs_and_fails_those_that_keep_killing_workers(db, app, as_role):
    staff = as_role("staff")
    stale, fresh = _running(db, staff.user), _running(db, staff.user, silent_for=dt.timedelta())
    hopeless = _running(db, staff.user, attempts=jobs_queue.MAX_ATTEMPTS)
    with app.test_request_context():
        again = jobs_queue.recover_and_hand_over()
    assert again == [stale.id]
    assert (_job(db, stale.id).status, _job(db, stale.id).attempts) == ("done", 2)
    assert _job(db, fresh.id).status == "running"
    failed = _job(db, hopeless.id)
    assert (failed.status, failed.error_code) == ("failed", "interrupted")

    # The reason is told in the reader's language, and the job can still be started again.
    staff.user.locale = "kk"
    db.session.commit()
    page = staff.get(f"/jobs/{hopeless.id}").get_data(as_text=True)
    message = (
        "The worker running this job stopped %(count)s times before the job was finished, "
        "so it was not started again by itself."
    )
    assert translate("kk", message) % {"count": jobs_queue.MAX_ATTEMPTS} in page
    assert 'id="job-retry"' in page


def test_requeue_command_hands_over_interrupted_jobs(db, app):
    row = _running(db, None)
    result = app.test_cli_runner().invoke(args=["jobs", "requeue"])
    assert result.exit_code == 0, result.output
    assert _job(db, row.id).status == "done"


def test_a_replaced_run_writes_nothing(db):
    """A worker that was only slow (its lease ran out, the job was queued again and taken by
    another worker) cannot overwrite the new run's progress or outcome."""
    row = _running(db, None, attempts=2)
    jobs_queue.Progress(row.id, attempt=1)(5, 10, "old run")
    jobs_queue._finish(row.id, 1, {"stale": True})
    kept = _job(db, row.id)
    assert (kept.status, kept.progress, kept.result) == ("running", 0, None)
    jobs_queue.Progress(row.id, attempt=2)(5, 10, "new run")
    assert (_job(db, row.id).progress, _job(db, row.id).message) == (5, "new run")


def test_the_heartbeat_beats_while_the_handler_is_silent(worker_setup):
    """In a worker (an engine, not a test's connection) a thread writes the heartbeat."""
    app, _env = worker_setup
    with app.app_context():
        row = Job(kind="jobs.ping", status="running", attempts=1, payload={})
        row.heartbeat_at = utcnow() - LONG_AGO
        _db.session.add(row)
        _db.session.commit()
        job_id, before = row.id, row.heartbeat_at
        _db.session.remove()
        with jobs_queue.Heartbeat(job_id, 1, 0.05):
            time.sleep(0.5)  # a handler computing without reporting progress
        beat = _db.session.get(Job, job_id).heartbeat_at
        assert beat > before + LONG_AGO - dt.timedelta(seconds=5)
        assert not _db.session.get(Job, job_id).interrupted(lease=5)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_job_whose_worker_is_killed_is_finished_by_the_next_worker(worker_setup):
    app, env = worker_setup
    lease = 2.0
    env = dict(env, JOBS_HEARTBEAT="0.2", JOBS_LEASE=str(lease))
    app.config.update(JOBS_HEARTBEAT=0.2, JOBS_LEASE=lease)
    with app.app_context():
        row = enqueue(_db.session, "jobs.ping", {"steps": 30, "pause": 0.1})
        _db.session.commit()
        job_id = row.id
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker"]
    first = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_until(app, job_id, lambda job: job.status == "running" and job.progress >= 3)
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    with app.app_context():
        killed = _db.session.get(Job, job_id)
        assert (killed.status, killed.attempts) == ("running", 1)
        assert killed.progress < 30
        _db.session.remove()
    # Nothing beats for the dead worker: the lease runs out and the job shows interrupted.
    _wait_until(app, job_id, lambda job: job.interrupted(lease), timeout=lease * 5)

    second = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        status = wait_for(app, job_id, timeout=60)
    finally:
        second.terminate()
        output = second.communicate(timeout=30)[0].decode()
    assert status == ("done", {"pong": 30}), output
    assert "1 interrupted job(s) queued again" in output
    with app.app_context():
        assert _db.session.get(Job, job_id).attempts == 2


def _wait_until(app, job_id, check, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            row = _db.session.get(Job, job_id)
            ok = check(row)
            _db.session.remove()
        if ok:
            return
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached the expected state")
