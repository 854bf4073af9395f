"""Fixtures: one migrated database per xdist worker, and a transaction per test that is
rolled back afterwards (views may commit: they commit a savepoint)."""

import contextvars
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from dbutil import fresh_database_url, prepare_schema
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from helpers import login, make_user
from helpers import new_cycle as _new_cycle
from mailserver import SMTPServer

from portal import create_app
from portal.extensions import db as _db


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, worker_id):
    return fresh_database_url(tmp_path_factory.mktemp("db"), f"tynda_test_{worker_id}")


def pytest_sessionstart(session):
    """Compile the catalogues so a bare `pytest` sees the same pages as `make test`."""
    if hasattr(session.config, "workerinput"):
        return
    translations = Path(__file__).parent.parent / "portal" / "translations"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "compile", "-d", str(translations)],
        check=True,
        capture_output=True,
    )


class IsolatedClient(FlaskClient):
    """A test client whose requests run outside the test's own app context.

    Flask reuses an already pushed app context for a request, which would share `g` and
    the database session between the test and every request; real requests never do.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Like a browser, send a language; tests read English unless they ask for another.
        self.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url})
    app.test_client_class = IsolatedClient
    prepare_schema(app)
    return app


@pytest.fixture
def db(app):
    """The database, inside a transaction that is rolled back after the test."""
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        original = _db.session
        factory = sa.orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        _db.session = sa.orm.scoped_session(factory, scopefunc=_app_ctx_id)
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            transaction.rollback()
            connection.close()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def new_cycle(db):
    """new_cycle(phase="proposals", region="KZ-75", **columns) -> a committed BudgetCycle in
    the test's transaction (see helpers.new_cycle): the one way tests build a cycle."""
    return _new_cycle


@pytest.fixture
def as_role(app, db):
    """as_role("staff") -> a test client signed in as a new user with that role."""

    def make(role, region="KZ-75", **kwargs):
        client = app.test_client()
        if role == "anonymous":
            return client
        user = make_user(role=role, region=region, **kwargs)
        login(client, user)
        client.user = user
        return client

    return make


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free loopback port for the whole run."""
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(app, smtp_server, monkeypatch):
    """Point the app's mail at the test SMTP server; returns its (emptied) inbox."""
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp_server.port)
    smtp_server.inbox.clear()
    return smtp_server.inbox


@pytest.fixture(scope="session")
def oidc_provider():
    """The test OpenID Connect provider (tests/oidc_provider.py) as its own process."""
    import time
    import urllib.request

    from mailserver import free_port
    from oidc_helpers import OIDC_CLIENT

    port = free_port()
    script = Path(__file__).parent / "oidc_provider.py"
    process = subprocess.Popen(
        [sys.executable, str(script), str(port), *OIDC_CLIENT, "http://"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/.well-known/openid-configuration", timeout=2)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("the test OIDC provider did not start")
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)
