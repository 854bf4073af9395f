"""Sign-in, sessions that end at sign-out, throttling, CSRF and body limits."""

from helpers import PASSWORD, login, make_user, post_form

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
