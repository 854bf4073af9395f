"""Settings that point the portal at the test OIDC provider (tests/oidc_provider.py)."""

OIDC_CLIENT = ("tynda-portal", "test-client-secret")


def oidc_settings(issuer, verifies=True):
    return {
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": OIDC_CLIENT[0],
        "OIDC_CLIENT_SECRET": OIDC_CLIENT[1],
        "OIDC_VERIFIES_RESIDENCE": verifies,
        "OIDC_NAME": "eGov",
    }
