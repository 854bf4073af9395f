"""Fair sign-in throttling, Flask-Limiter limits with 429 + Retry-After, and ProxyFix."""

import time

import pytest
from consult_helpers import make_draft
from helpers import PASSWORD, make_user, post_form, translate

from portal import create_app
from portal.accounts import services
from portal.extensions import limiter

WINDOW = 15 * 60


def _auth(db, email, password, client="10.0.0.1"):
    """Sign in as the view does: the caller commits, whether it succeeded or not."""
    try:
        return services.authenticate(
            db.session, email, password, client=client, attempts=5, window_seconds=WINDOW
        )
    finally:
        db.session.commit()


def test_account_and_address_failures_are_counted_separately(db):
    user = make_user()
    for _ in range(4):
        with pytest.raises(services.AccountError, match="bad_credentials"):
            _auth(db, user.email, "wrong-password")
    # The old code counted both keys' rows together and locked after 3 failures.
    assert _auth(db, user.email, PASSWORD).id == user.id
    check = services.check_login(db.session, user.email, client="10.0.0.1", window_seconds=WINDOW)
    assert check.account_failures == 0  # a success clears the account's failures
    assert check.address_failures == 4  # the address keeps its own count


def test_an_account_locks_after_its_own_failures_from_any_address(db):
    user = make_user()
    for n in range(5):
        with pytest.raises(services.AccountError):
            _auth(db, user.email, "wrong-password", client=f"10.0.0.{n}")
    with pytest.raises(services.AccountError, match="throttled"):
        _auth(db, user.email, PASSWORD, client="10.9.9.9")


def test_other_accounts_failing_from_one_address_never_refuse_a_right_password(app, client, db):
    user = make_user()
    for n in range(30):
        with pytest.raises(services.AccountError, match="bad_credentials"):
            _auth(db, f"nobody{n}@example.kz", "wrong-password", client="127.0.0.1")
    check = services.check_login(db.session, user.email, client="127.0.0.1", window_seconds=WINDOW)
    assert check.address_failures == 30
    delay = services.address_delay(30, threshold=20, maximum=3.0)
    assert 0 < delay <= 3.0  # slowed down ...
    assert services.address_delay(5, threshold=20, maximum=3.0) == 0
    # ... but the web sign-in from the same address with the right password still works.
    response = post_form(client, "/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def test_unknown_email_takes_as_long_as_a_wrong_password(app, db):
    # Heavier Argon2 than the test default so the hash dominates the measurement.
    services.configure_hasher(time_cost=1, memory_cost=16 * 1024, parallelism=1)
    try:
        user = make_user()

        def attempt(email, n):
            start = time.perf_counter()
            with pytest.raises(services.AccountError):
                _auth(db, email, "wrong-password", client=f"10.1.{n}.1")
            return time.perf_counter() - start

        # The dummy hash is made once per hasher: make it before timing. Alternate the two
        # kinds of attempt so a change in the machine's load hits both alike.
        services.password_matches(None, "warm-up")
        known_times, unknown_times = [], []
        for n in range(5):  # the account locks after 5 failures: stay below
            known_times.append(attempt(user.email, n))
            unknown_times.append(attempt("nobody@example.kz", n))
        known, unknown = sorted(known_times)[2], sorted(unknown_times)[2]
    finally:
        services.configure_hasher(**app.config["ARGON2_PARAMS"])
    # Before: 6 ms against 158 ms. Now both verify one Argon2 hash.
    assert 0.5 < unknown / known < 2, (known, unknown)
    # The dummy hash never lets anyone in.
    assert services.password_matches(None, PASSWORD) is False


@pytest.fixture
def tight(app, monkeypatch):
    """Low limits for one test, with fresh counters before and after."""

    def set_limit(name, value):
        monkeypatch.setitem(app.config, name, value)

    limiter.reset()
    yield set_limit
    limiter.reset()


def test_comment_limit_answers_429_with_retry_after_in_kazakh(as_role, db, tight):
    tight("RATELIMIT_COMMENT", "2/hour")
    draft = make_draft()
    resident = as_role("resident")
    url = f"/consultations/{draft.id}/comments"
    data = {"stance": "support", "text": "Толық қолдаймын.", "article_id": ""}
    for _ in range(2):
        assert post_form(resident, url, data).status_code in (302, 303)
    response = post_form(resident, url, data, headers={"Accept-Language": "kk"})
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 3600
    title = translate("kk", "Too many attempts")
    assert title in response.get_data(as_text=True)
    # Another resident (same address, e.g. carrier NAT) is counted separately.
    assert post_form(as_role("resident"), url, data).status_code in (302, 303)


def test_api_limit_answers_json_429(client, tight):
    tight("RATELIMIT_API", "3/minute")
    for _ in range(3):
        assert client.get("/api/v1/cycles").status_code == 200
    response = client.get("/api/v1/cycles")
    assert response.status_code == 429
    assert response.is_json and response.json["error"]["code"] == 429
    assert "try again" in response.json["error"]["message"]
    assert int(response.headers["Retry-After"]) > 0


def test_registration_and_receipt_lookups_are_limited_per_address(client, tight):
    tight("RATELIMIT_REGISTER", "2/hour")
    tight("RATELIMIT_RECEIPT", "2/minute")
    for _ in range(2):
        assert post_form(client, "/register", {"full_name": "x"}).status_code == 422
    assert post_form(client, "/register", {"full_name": "x"}).status_code == 429
    for _ in range(2):
        client.get("/budget/receipt?code=ABCD")
    assert client.get("/budget/receipt?code=ABCD").status_code == 429


def test_forwarded_address_is_trusted_only_through_configured_proxies(database_url, tight):
    for proxies, expected in ((0, 429), (1, 200)):
        app = create_app(
            {
                "CONFIG": "testing",
                "SQLALCHEMY_DATABASE_URI": database_url,
                "TRUSTED_PROXIES": proxies,
                "RATELIMIT_API": "1/minute",
            }
        )
        limiter.reset()
        client = app.test_client()
        first = client.get("/api/v1/drafts", headers={"X-Forwarded-For": "198.51.100.1"})
        second = client.get("/api/v1/drafts", headers={"X-Forwarded-For": "198.51.100.2"})
        assert first.status_code == 200
        # Without a trusted proxy the header is ignored: both come from one address.
        assert second.status_code == expected
