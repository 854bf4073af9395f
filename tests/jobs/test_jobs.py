"""Background jobs: queued after commit, progress and results recorded, failures kept, and a
real `flask jobs worker` process doing a job end to end."""

import subprocess
import sys
from pathlib import Path

import pytest
from worker_helpers import wait_for as _wait_for

from portal.extensions import db as _db
from portal.jobs import enqueue, init_app, job
from portal.jobs.models import Job

ROOT = Path(__file__).resolve().parents[2]
RAN = []


@job("test.count")
def count(payload, progress):
    RAN.append(payload["n"])
    for i in range(payload["n"]):
        progress(i, payload["n"], f"step {i}")
    return {"counted": payload["n"]}


@job("test.boom")
def boom(payload, progress):
    progress(1, 4, "about to fail")
    raise ValueError("the ballots do not add up")


def test_job_runs_only_after_commit_and_records_result(db):
    RAN.clear()
    row = enqueue(db.session, "test.count", {"n": 3})
    assert row.status == "queued" and RAN == []  # flushed, not yet handed over
    db.session.commit()
    assert RAN == [3]
    db.session.expire_all()
    done = db.session.get(Job, row.id)
    assert done.status == "done"
    assert done.result == {"counted": 3}
    assert (done.progress, done.total, done.percent) == (3, 3, 100)
    assert done.started_at and done.finished_at


def test_rolled_back_job_never_runs(db):
    RAN.clear()
    enqueue(db.session, "test.count", {"n": 2})
    db.session.rollback()
    db.session.commit()
    assert RAN == []


def test_failed_job_keeps_its_error_and_progress(db):
    row = enqueue(db.session, "test.boom", {})
    db.session.commit()
    db.session.expire_all()
    failed = db.session.get(Job, row.id)
    assert failed.status == "failed"
    assert "do not add up" in failed.error
    assert (failed.progress, failed.total, failed.message) == (1, 4, "about to fail")
    assert failed.as_dict()["error"] == failed.error and failed.as_dict()["finished"]


def test_unknown_kind_is_refused(db):
    with pytest.raises(KeyError):
        enqueue(db.session, "no.such.job", {})


@pytest.mark.parametrize("queue", ["sqlite", "redis"])
def test_real_worker_process_completes_a_job(worker_setup, queue, request):
    app, env = worker_setup
    if queue == "redis":
        url = request.getfixturevalue("redis_url")
        app.config["JOBS_REDIS_URL"] = env["JOBS_REDIS_URL"] = url
        init_app(app)  # the app's queue is now the Redis one, like the worker's
        assert app.extensions["huey"].storage.__class__.__name__ == "RedisStorage"
    with app.app_context():
        row = enqueue(_db.session, "jobs.ping", {"steps": 4})
        _db.session.commit()
        job_id = row.id
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        status = _wait_for(app, job_id, timeout=60)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode()
    assert status == ("done", {"pong": 4}), output
