"""Sign-in through an identity provider: the whole authorization-code flow against the real
test provider process (discovery, authorize, token over HTTP, signed ID token, userinfo)."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from helpers import make_iin, make_user
from oidc_helpers import oidc_settings

from portal import create_app
from portal.accounts.models import User


@pytest.fixture
def oidc_app(app, database_url, oidc_provider, db):
    made = create_app(
        {
            "CONFIG": "testing",
            "SQLALCHEMY_DATABASE_URI": database_url,
            **oidc_settings(oidc_provider),
        }
    )
    made.test_client_class = app.test_client_class
    return made


def _through_provider(client, iin, name="Test Person"):
    """Start at the portal, confirm at the provider (real HTTP), come back to the portal."""
    start = client.get("/login/oidc")
    assert start.status_code == 302
    authorize = start.headers["Location"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    assert params["response_type"] == "code" and "nonce" in params and "code_challenge" in params
    base = authorize.split("?")[0]
    assert requests.get(authorize, timeout=10).status_code == 200  # the provider's page
    confirmed = requests.post(
        base, data={**params, "iin": iin, "name": name}, allow_redirects=False, timeout=10
    )
    assert confirmed.status_code == 302
    back = urlsplit(confirmed.headers["Location"])
    assert back.path == "/login/oidc/callback"
    return client.get(f"{back.path}?{back.query}")


def test_known_iin_signs_in_and_is_verified_by_the_provider(oidc_app, db):
    user = make_user(verified=False)
    client = oidc_app.test_client()
    assert "Sign in with eGov" in client.get("/login").get_data(as_text=True)
    response = _through_provider(client, user.iin)
    assert response.status_code == 302 and response.headers["Location"].endswith("/profile")
    assert client.get("/profile").status_code == 200
    db.session.expire_all()
    row = db.session.get(User, user.id)
    assert row.verified_region_id == row.region_id and row.verified_via == "oidc"


def test_unknown_iin_goes_to_registration_with_the_iin_filled_in(oidc_app, db):
    iin = make_iin()
    client = oidc_app.test_client()
    response = _through_provider(client, iin)
    assert response.headers["Location"].endswith("/register")
    page = client.get("/register").get_data(as_text=True)
    assert f'value="{iin}"' in page
    assert client.get("/profile").status_code == 302  # not signed in


def test_a_forged_callback_is_refused(oidc_app, db):
    user = make_user()
    client = oidc_app.test_client()
    client.get("/login/oidc")  # a real state in the session ...
    response = client.get("/login/oidc/callback?code=made-up&state=wrong")  # ... but not this
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert client.get("/profile").status_code == 302
    # The real flow still works afterwards in the same browser.
    ok = _through_provider(client, user.iin)
    assert ok.headers["Location"].endswith("/profile")


def test_without_settings_there_is_no_provider_button(client):
    assert "Sign in with" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/oidc").status_code == 302
