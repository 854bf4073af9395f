"""Sign-in, sessions that end at sign-out, throttling, CSRF and body limits."""

from helpers import PASSWORD, login, make_user, post_form
from sqlalchemy import select as sa_select

from portal.accounts.models import User


def test_login_rotates_the_session_and_logout_invalidates_the_old_cookie(app, client, db):
    user = make_user()
    with client.session_transaction() as sess:
        sess["planted"] = "by-attacker"
    login(client, user)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        stolen = dict(sess)
    post_form(client, "/logout", {}, token_from="/profile")
    thief = app.test_client()
    with thief.session_transaction() as sess:
        sess.update(stolen)
    assert thief.get("/profile").status_code == 302


def test_role_change_signs_the_user_out(app, client, db):
    from portal.accounts import services

    user = make_user()
    login(client, user)
    assert client.get("/profile").status_code == 200
    services.grant_role(db.session, db.session.get(User, user.id), "admin")
    db.session.commit()
    assert client.get("/profile").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, db):
    user = make_user()
    response = post_form(
        client,
        "/login",
        {"email": user.email, "password": "wrong-password"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert "e-mail or password is not correct" in response.get_data(as_text=True)


def test_failed_logins_are_throttled_even_with_the_right_password(client, db):
    user = make_user()
    for _ in range(5):
        post_form(client, "/login", {"email": user.email, "password": "wrong-password"})
    response = post_form(
        client,
        "/login",
        {"email": user.email, "password": PASSWORD},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)


def test_post_without_or_with_foreign_csrf_token_is_400(client, db):
    user = make_user()
    assert (
        client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 400
    )
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 400
    assert client.get("/profile").status_code == 302


def test_oversized_body_is_413(client, db):
    response = client.post("/login", data={"email": "x" * (9 * 1024 * 1024)})
    assert response.status_code == 413


def test_next_parameter_cannot_redirect_off_site(client, db):
    user = make_user()
    response = post_form(
        client, "/login?next=//evil.example/x", {"email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/profile"


def test_security_headers_and_cookie_flags(client, db):
    user = make_user()
    response = login(client, user)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/profile")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert "<script>" not in page.get_data(as_text=True)


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    import pytest

    from config import ProductionConfig
    from portal import create_app

    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", None)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")


def _writes_during(app, action):
    """The INSERT, UPDATE and DELETE statements (and SQLite write locks) `action` sends."""
    import sqlalchemy as sa

    from portal.extensions import db

    writes = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        words = statement.lstrip().upper()
        if words.startswith(("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE")):
            writes.append(statement.split("\n")[0][:60])

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    return writes


def test_a_residents_sign_in_writes_nothing_unless_there_is_something_to_clear(app, client, db):
    user = make_user()
    # Nothing to record: no write transaction, so no wait for SQLite's lock or a durable commit.
    assert _writes_during(app, lambda: login(client, user)) == []
    assert client.get("/profile").status_code == 200
    other = app.test_client()
    post_form(other, "/login", {"email": user.email, "password": "wrong-password"})
    # After a failure the right password clears the account's failures: that one writes.
    writes = _writes_during(app, lambda: login(other, user))
    assert any(statement.upper().startswith("DELETE") for statement in writes), writes


def test_staff_sign_in_is_still_audited(app, client, db):
    from portal.audit.models import AuditEntry

    staff = make_user(role="staff")
    login(client, staff)
    actions = db.session.scalars(
        sa_select(AuditEntry.action).where(AuditEntry.target == f"user:{staff.id}")
    ).all()
    assert "accounts.sign_in" in actions


def test_hashes_at_the_previous_parameters_verify_and_are_rehashed_at_sign_in(app, client, db):
    from argon2 import PasswordHasher

    from config import Config
    from portal.accounts import services

    # Production parameters for this test only (the test config hashes cheaply).
    services.configure_hasher(**Config.ARGON2_PARAMS)
    try:
        user = make_user()
        # What production stored before session 4: OWASP's 19 MiB, t=2 configuration.
        previous = PasswordHasher(memory_cost=19456, time_cost=2, parallelism=1).hash(PASSWORD)
        db.session.get(User, user.id).password_hash = previous
        db.session.commit()
        login(client, user)
        db.session.expire_all()
        upgraded = db.session.get(User, user.id).password_hash
        assert upgraded.startswith("$argon2id$v=19$m=7168,t=5,p=1$")
        assert services.password_matches(upgraded, PASSWORD)
        # Already at the current parameters: the next sign-in keeps the hash (and writes nothing).
        assert _writes_during(app, lambda: login(app.test_client(), user)) == []
        db.session.expire_all()
        assert db.session.get(User, user.id).password_hash == upgraded
    finally:
        services.configure_hasher(**app.config["ARGON2_PARAMS"])
