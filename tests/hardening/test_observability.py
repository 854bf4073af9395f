"""Request ids, JSON logs, /metrics (Prometheus, not public) and /health."""

import json
import logging

import pytest
from hardening_helpers import new_project
from helpers import make_user, new_cycle, post_form
from huey import SqliteHuey

from portal.observability import logs

FORWARDED = {"X-Forwarded-For": "203.0.113.9"}


# Request ids and logs ---------------------------------------------------------------------


def test_every_answer_has_a_request_id(client):
    first = client.get("/").headers["X-Request-ID"]
    second = client.get("/").headers["X-Request-ID"]
    assert len(first) == 32 and first != second


def test_a_proxys_request_id_is_kept_and_a_bad_one_replaced(client):
    assert client.get("/", headers={"X-Request-ID": "edge-42.a"}).headers["X-Request-ID"] == (
        "edge-42.a"
    )
    replaced = client.get("/", headers={"X-Request-ID": "<script>x</script>"})
    assert replaced.headers["X-Request-ID"] != "<script>x</script>"
    assert len(replaced.headers["X-Request-ID"]) == 32


def test_access_log_lines_are_json_with_the_request_id(client, caplog):
    caplog.set_level(logging.INFO, logger="portal.access")
    response = client.get("/budget/", headers={"X-Request-ID": "trace-1"})
    records = [r for r in caplog.records if r.name == "portal.access"]
    assert records, "no access log line"
    line = json.loads(logs.formatter("json").format(records[-1]))
    assert line["request_id"] == "trace-1" == response.headers["X-Request-ID"]
    assert line["route"] == "/budget/" and line["status"] == 200 and line["method"] == "GET"
    assert line["level"] == "INFO" and "duration_ms" in line and "time" in line


def test_errors_are_logged_with_the_request_id(app, client, caplog, monkeypatch):
    from portal.exports import api

    def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(api.openapi, "document", broken)
    response = client.get("/api/v1/openapi.json", headers={"X-Request-ID": "trace-500"})
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "trace-500"
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    line = json.loads(logs.formatter("json").format(failures[-1]))
    assert line["request_id"] == "trace-500" and "database on fire" in line["exc_info"]


# /metrics ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "headers"),
    [
        ({"REMOTE_ADDR": "203.0.113.5"}, {}),  # another machine
        ({}, FORWARDED),  # the local proxy forwarding a visitor
        ({"REMOTE_ADDR": "203.0.113.5"}, {"Authorization": "Bearer wrong"}),
    ],
)
def test_metrics_are_not_public(app, db, environ, headers):
    client = app.test_client()
    client.environ_base.update(environ)
    app.config["METRICS_TOKEN"] = "scrape-token-123"
    try:
        response = client.get("/metrics", headers=headers)
    finally:
        app.config["METRICS_TOKEN"] = None
    assert response.status_code == 404 and "tynda_http" not in response.get_data(as_text=True)


def test_metrics_for_a_residents_session_from_afar_are_refused(db, as_role):
    resident = as_role("resident")
    resident.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    assert resident.get("/metrics").status_code == 404


def test_metrics_with_the_token_admin_or_loopback(app, db, as_role):
    far = app.test_client()
    far.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    app.config["METRICS_TOKEN"] = "scrape-token-123"
    try:
        token = far.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"})
    finally:
        app.config["METRICS_TOKEN"] = None
    assert token.status_code == 200
    assert token.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    admin = as_role("admin")
    admin.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    assert admin.get("/metrics", headers=FORWARDED).status_code == 200
    assert app.test_client().get("/metrics").status_code == 200  # loopback, direct


def _metric(text, name, **labels):
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_latencies_and_ballots(app, db, client):
    scrape = lambda: client.get("/metrics").get_data(as_text=True)  # noqa: E731
    before = scrape()
    cycle = new_cycle("voting")
    project = new_project(cycle, 1000)
    for _ in range(3):
        client.get(f"/budget/{cycle.id}")
    voter_client = app.test_client()
    from helpers import login

    voter = make_user()
    login(voter_client, voter)
    url = f"/budget/{cycle.id}/ballot"
    response = post_form(voter_client, url, {"project": str(project.id)}, token_from=url)
    assert response.status_code == 302
    after = scrape()
    route = "/budget/<int:cycle_id>"
    labels = {"method": "GET", "route": route, "status": "200"}
    assert (
        _metric(after, "tynda_http_requests_total", **labels)
        - _metric(before, "tynda_http_requests_total", **labels)
        == 3
    )
    assert _metric(after, "tynda_http_request_duration_seconds_count", route=route) >= 3
    assert (
        _metric(after, "tynda_ballots_cast_total", channel="online")
        - _metric(before, "tynda_ballots_cast_total", channel="online")
        == 1
    )
    assert "tynda_job_queue_length" in after


def test_metrics_show_jobs_by_status(app, db, client):
    from portal.jobs import enqueue

    staff = make_user(role="staff")
    enqueue(db.session, "jobs.ping", {}, actor=staff)
    db.session.commit()  # TestingConfig runs it at once
    text = client.get("/metrics").get_data(as_text=True)
    assert _metric(text, "tynda_jobs", status="done") >= 1


# /health ----------------------------------------------------------------------------------


def test_health_checks_database_and_queue(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json["database"] == "ok" and response.json["queue"] == "ok"
    assert response.headers["Cache-Control"] == "no-store"


def test_health_and_metrics_show_a_real_queue_length(app, db, client, tmp_path):
    queue = SqliteHuey("health-test", filename=str(tmp_path / "q.sqlite"))

    @queue.task()
    def nothing():
        return None

    saved = app.extensions["huey"]
    app.extensions["huey"] = queue
    try:
        nothing()
        nothing()
        health = client.get("/health").json
        metrics = client.get("/metrics").get_data(as_text=True)
    finally:
        app.extensions["huey"] = saved
    assert health["queue"] == "ok" and health["queue_length"] == 2
    assert _metric(metrics, "tynda_job_queue_length") == 2


def test_health_says_when_the_queue_fails(app, db, client, tmp_path):
    from huey import RedisHuey

    # A Redis queue on a port where nothing listens: the real client, really failing.
    queue = RedisHuey("health-broken", url="redis://127.0.0.1:9/0")
    saved = app.extensions["huey"]
    app.extensions["huey"] = queue
    try:
        response = client.get("/health")
    finally:
        app.extensions["huey"] = saved
    assert response.status_code == 503
    assert response.json == {"status": "fail", "database": "ok", "queue": "fail"}


def test_health_without_the_jobs_package(app, db, client):
    saved = app.extensions.pop("huey")
    try:
        response = client.get("/health")
        metrics = client.get("/metrics")
    finally:
        app.extensions["huey"] = saved
    assert response.status_code == 200 and response.json["queue"] == "absent"
    assert metrics.status_code == 200


def test_health_says_when_the_database_fails(tmp_path):
    from portal import create_app

    broken = create_app(
        {
            "CONFIG": "testing",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/no/such/dir/x.sqlite",
            "JOBS_SQLITE_PATH": str(tmp_path / "jobs.sqlite"),
        }
    )
    response = broken.test_client().get("/health")
    assert response.status_code == 503
    assert response.json["database"] == "fail" and response.json["status"] == "fail"
