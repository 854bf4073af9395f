"""Mail goes out through the real job worker process to the real test SMTP server."""

import os
import subprocess
import sys
import time
from pathlib import Path

from dbutil import fresh_database_url, prepare_schema

from portal import create_app
from portal.extensions import db as _db
from portal.jobs.models import Job
from portal.mail import send_mail

ROOT = Path(__file__).resolve().parent.parent.parent


def test_worker_process_sends_the_queued_mail_in_kazakh(tmp_path, worker_id, smtp_server):
    url = fresh_database_url(tmp_path, f"tynda_mail_worker_{worker_id}")
    queue_file = str(tmp_path / "huey.sqlite")
    settings = {"JOBS_IMMEDIATE": False, "JOBS_SQLITE_PATH": queue_file}
    app = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": url, **settings})
    prepare_schema(app)
    smtp_server.inbox.clear()
    with app.test_request_context("/"), app.app_context():
        send_mail(
            _db.session,
            to="worker@example.kz",
            locale="kk",
            template="confirm_email",
            context={"user": {"full_name": "Дәурен"}, "link": "http://x/confirm"},
        )
        _db.session.commit()
        assert smtp_server.inbox.to("worker@example.kz") == []  # not sent by the request
    env = dict(
        os.environ,
        DATABASE_URL=url,
        JOBS_SQLITE_PATH=queue_file,
        TYNDA_ENV="development",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp_server.port),
    )
    env.pop("JOBS_REDIS_URL", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        (mail,) = smtp_server.inbox.wait_for("worker@example.kz", timeout=60)
        # The worker records the job done just after sending: wait for that before stopping
        # it (SIGTERM stops a worker at once, between the two on a loaded machine).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with app.app_context():
                status = _db.session.query(Job.status).filter_by(kind="mail.send").scalar()
                _db.session.remove()
            if status == "done":
                break
            time.sleep(0.2)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode()
    assert "Дәурен" in mail.get_body(("plain",)).get_content(), output
    assert "электрондық пошта" in mail["Subject"]
    assert status == "done", output
    with app.app_context():
        _db.engine.dispose()
