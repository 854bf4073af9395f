"""A fresh database and queue file for tests that start a real `flask jobs worker`, and a
Redis server of their own."""

import os
import socket
import subprocess
import time

import pytest
from dbutil import fresh_database_url, prepare_schema

from portal import create_app
from portal.extensions import db as _db


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


@pytest.fixture
def redis_url(tmp_path):
    """A redis-server of the test's own on a free port (installed by `make redis`)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=20)
