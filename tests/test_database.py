"""How transactions begin (portal/database.py): reads never wait for a writer on SQLite,
writes take the lock late, sign-in hashes passwords with no lock held, and old password
hashes are upgraded at sign-in."""

import sqlite3
import time

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from dbutil import fresh_database_url, postgres_base_url, prepare_schema
from helpers import PASSWORD, make_user, new_cycle, post_form

from portal import create_app, database
from portal.accounts import services as account_services
from portal.accounts.models import User
from portal.extensions import db as _db

sqlite_only = pytest.mark.skipif(
    postgres_base_url() is not None, reason="SQLite locking; PostgreSQL readers never wait"
)


@pytest.fixture
def live_db(tmp_path, monkeypatch, worker_id):
    """An app on its own database file with real commits (no rolled-back test transaction)."""
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 3000)
    url = fresh_database_url(tmp_path, f"tynda_database_{worker_id}")
    app = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": url})
    prepare_schema(app)
    yield app, url
    with app.app_context():
        _db.engine.dispose()


def _writer(url):
    """A second connection that holds the SQLite write lock until rolled back."""
    connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=0)
    connection.execute("BEGIN IMMEDIATE")
    return connection


def _can_take_write_lock(url):
    connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=0)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        connection.close()


@sqlite_only
def test_a_read_only_request_does_not_wait_for_a_writer(live_db):
    app, url = live_db
    writer = _writer(url)
    try:
        started = time.monotonic()
        response = app.test_client().get("/")
        elapsed = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert response.status_code == 200
    assert elapsed < 2.5  # a BEGIN IMMEDIATE would have waited the 3 s busy timeout


@sqlite_only
def test_start_write_after_a_read_survives_a_concurrent_commit(live_db):
    """A deferred read that later writes would fail with SQLITE_BUSY_SNAPSHOT; start_write
    ends the snapshot first and reads again under the lock."""
    app, url = live_db
    with app.app_context():
        user = make_user()
        database.start_read(_db.session)
        assert _db.session.get(User, user.id).full_name
        other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        other.execute("UPDATE user_account SET full_name = 'Changed' WHERE id = ?", (user.id,))
        other.close()
        database.start_write(_db.session)
        again = _db.session.get(User, user.id)
        assert again.full_name == "Changed"  # read again under the lock
        again.full_name = "Written"
        _db.session.commit()
        assert _can_take_write_lock(url) is not False  # lock released after commit


@sqlite_only
def test_sign_in_checks_the_password_without_holding_the_write_lock(live_db, monkeypatch):
    app, url = live_db
    with app.app_context():
        email = make_user().email
    seen = []
    real = account_services._password_matches

    def spy(found, password):
        seen.append(_can_take_write_lock(url))
        return real(found, password)

    monkeypatch.setattr(account_services, "_password_matches", spy)
    client = app.test_client()
    ok = post_form(client, "/login", {"email": email, "password": PASSWORD})
    bad = post_form(app.test_client(), "/login", {"email": email, "password": "wrong-one"})
    assert ok.status_code == 302 and bad.status_code == 422
    assert seen == [True, True]


def test_old_password_hashes_are_upgraded_at_sign_in(app, client, db):
    user = make_user()
    old = PasswordHasher(time_cost=1, memory_cost=512, parallelism=2).hash(PASSWORD)
    db.session.get(User, user.id).password_hash = old
    db.session.commit()
    response = post_form(client, "/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    db.session.expire_all()
    upgraded = db.session.get(User, user.id).password_hash
    params = app.config["ARGON2_PARAMS"]
    assert upgraded != old and upgraded.startswith("$argon2id$")
    assert (
        f"m={params['memory_cost']},t={params['time_cost']},p={params['parallelism']}" in upgraded
    )


def test_production_hashes_use_owasp_minimum_argon2id():
    from config import Config

    # OWASP's m=7 MiB, t=5, p=1 configuration, the cheapest of its equivalent minimums here.
    assert Config.ARGON2_PARAMS == {"time_cost": 5, "memory_cost": 7168, "parallelism": 1}


@sqlite_only
def test_a_ballot_is_validated_without_the_write_lock_and_stored_under_it(live_db, monkeypatch):
    from portal.budgeting import integrity
    from portal.budgeting import services as budget_services
    from portal.budgeting.models import Ballot, Proposal

    app, url = live_db
    with app.app_context():
        voter = make_user()
        email, voter_id = voter.email, voter.id
        cycle = new_cycle("voting", title_en="Late lock", budget=1_000, commit=False)
        project = Proposal(
            cycle_id=cycle.id, author_id=voter_id, title="P", description_html="<p>x</p>",
            category="yards", estimated_cost=500, status="feasible",
        )  # fmt: skip
        _db.session.add(project)
        _db.session.commit()
        cycle_id, project_id = cycle.id, project.id
    seen = []
    real = budget_services.domain.validate_ballot

    def spy(*args, **kwargs):
        seen.append(_can_take_write_lock(url))
        return real(*args, **kwargs)

    monkeypatch.setattr(budget_services.domain, "validate_ballot", spy)
    client = app.test_client()
    assert post_form(client, "/login", {"email": email, "password": PASSWORD}).status_code == 302
    page = f"/budget/{cycle_id}/ballot"
    response = post_form(client, page, {"project": str(project_id)}, token_from=page)
    assert response.status_code == 302 and "/receipt" in response.location
    assert seen == [True]  # validated in a snapshot: another writer could take the lock
    with app.app_context():
        pseudonym = integrity.voter_key(integrity.ballot_key(app.config), cycle_id, voter_id)
        stored = _db.session.scalar(sa.select(Ballot).where(Ballot.voter_key == pseudonym))
        assert stored.project_ids == [project_id]
