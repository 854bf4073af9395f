"""Background jobs: queued after commit, progress and results recorded, failures kept, and a
real `flask jobs worker` process doing a job end to end."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dbutil import fresh_database_url, prepare_schema

from portal import create_app
from portal.extensions import db as _db
from portal.jobs import enqueue, job
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


@pytest.fixture
def worker_setup(tmp_path, worker_id):
    url = fresh_database_url(tmp_path, f"tynda_jobs_worker_{worker_id}")
    queue_file = str(tmp_path / "huey.sqlite")
    app = create_app(
        {
            "CONFIG": "testing",
            "SQLALCHEMY_DATABASE_URI": url,
            "JOBS_IMMEDIATE": False,
            "JOBS_SQLITE_PATH": queue_file,
        }
    )
    prepare_schema(app)
    env = dict(os.environ, DATABASE_URL=url, JOBS_SQLITE_PATH=queue_file, TYNDA_ENV="development")
    env.pop("JOBS_REDIS_URL", None)
    yield app, env
    with app.app_context():
        _db.engine.dispose()


def test_real_worker_process_completes_a_job(worker_setup):
    app, env = worker_setup
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


def _wait_for(app, job_id, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            row = _db.session.get(Job, job_id)
            status = (row.status, row.result)
            _db.session.remove()
        if status[0] in ("done", "failed"):
            return status
        time.sleep(0.2)
    return status
