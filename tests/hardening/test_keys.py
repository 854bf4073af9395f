"""Production refuses to start without four distinct keys; HSTS in production only."""

import pytest

from config import ProductionConfig
from portal import create_app

GOOD = {
    "SECRET_KEY": "cookie-key-0123456789abcdef",
    "IIN_HMAC_KEY": "iin-key-0123456789abcdef",
    "RECEIPT_KEY": "receipt-key-0123456789abcdef",
    "BALLOT_KEY": "ballot-key-0123456789abcdef",
}


@pytest.fixture
def keys(monkeypatch):
    for name, value in GOOD.items():
        monkeypatch.setattr(ProductionConfig, name, value)
    return monkeypatch


@pytest.mark.parametrize("missing", sorted(GOOD))
def test_production_names_the_missing_key(keys, missing):
    keys.setattr(ProductionConfig, missing, None)
    with pytest.raises(RuntimeError, match=missing) as caught:
        create_app("production")
    assert "Set SECRET_KEY, IIN_HMAC_KEY, RECEIPT_KEY and BALLOT_KEY" in str(caught.value)


@pytest.mark.parametrize("copy", ["IIN_HMAC_KEY", "RECEIPT_KEY", "BALLOT_KEY"])
def test_production_refuses_keys_that_fall_back_to_the_secret(keys, copy):
    keys.setattr(ProductionConfig, copy, GOOD["SECRET_KEY"])
    with pytest.raises(RuntimeError, match="must differ"):
        create_app("production")


def test_production_refuses_short_keys(keys):
    keys.setattr(ProductionConfig, "RECEIPT_KEY", "short")
    with pytest.raises(RuntimeError, match="RECEIPT_KEY too short"):
        create_app("production")


def test_production_with_four_keys_starts_and_sends_hsts(keys, tmp_path):
    keys.setattr(ProductionConfig, "SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path / 'p.sqlite'}")
    app = create_app("production")
    response = app.test_client().get("/static/css/tynda.css")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    with app.app_context():
        from portal.keys import iin_key, receipt_key

        assert (iin_key(), receipt_key()) == (GOOD["IIN_HMAC_KEY"], GOOD["RECEIPT_KEY"])


def test_development_sends_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/static/css/tynda.css").headers


def test_receipts_use_their_own_key(app, db):
    with app.app_context():
        from portal.keys import receipt_key

        assert receipt_key() == "testing-receipt-key" != app.config["SECRET_KEY"]
