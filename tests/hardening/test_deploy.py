"""The deployment files in portal/deploy: gunicorn really serves the app with them (two worker
processes whose metrics add up), and the systemd units run commands that exist."""

import configparser
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "portal" / "deploy"
GUNICORN = Path(sys.executable).parent / "gunicorn"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback only
        return answer.status, dict(answer.headers), answer.read().decode()


def test_gunicorn_config_is_valid():
    done = subprocess.run(
        [str(GUNICORN), "--check-config", "-c", str(DEPLOY / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TYNDA_ENV": "development"},
    )
    assert done.returncode == 0, done.stderr


def test_gunicorn_serves_with_the_config(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "TYNDA_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'live.sqlite'}",
        "JOBS_SQLITE_PATH": str(tmp_path / "jobs.sqlite"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    log = (tmp_path / "gunicorn.log").open("w+")
    server = subprocess.Popen(  # noqa: S603
        [str(GUNICORN), "-c", str(DEPLOY / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, headers, body = _get(base + "/health")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    log.seek(0)
                    pytest.fail("gunicorn did not start:\n" + log.read()[-3000:])
                time.sleep(0.2)
        assert status == 200 and json.loads(body)["database"] == "ok"
        assert len(headers["X-Request-ID"]) == 32
        for _ in range(10):
            _get(base + "/health")
        _status, _headers, metrics = _get(base + "/metrics")
        total = sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("tynda_http_requests_total{") and 'route="/health"' in line
        )
        assert total >= 11  # counted by whichever worker answered, summed over both
    finally:
        server.terminate()
        server.wait(timeout=30)
    log.seek(0)
    lines = [json.loads(line) for line in log if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "portal.access"]
    assert access and all(line["request_id"] for line in access)
    assert {line["route"] for line in access} >= {"/health", "/metrics"}


@pytest.mark.parametrize(
    "unit",
    [
        "tynda-web.service",
        "tynda-worker.service",
        "tynda-backup.service",
        "tynda-ballot-writer.service",
    ],
)
def test_systemd_units_run_commands_that_exist(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(DEPLOY / unit)
    service = parser["Service"]
    command = service["ExecStart"]
    assert service["User"] == "tynda" and "EnvironmentFile" in service
    assert "TYNDA_ENV=production" in service["Environment"]
    from portal import create_app

    app = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    if "gunicorn" in command:
        assert "portal/deploy/gunicorn.conf.py wsgi:app" in command
    else:
        words = command.split("--app wsgi ", 1)[1].split()
        group = app.cli.get_command(None, words[0])
        assert group is not None and group.get_command(None, words[1]) is not None
