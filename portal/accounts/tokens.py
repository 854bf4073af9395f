"""Signed, expiring, single-use links (itsdangerous), without a token table.

A token carries the user id and a fingerprint of the state it is about to change (the
password hash for a reset, the e-mail for a confirmation). Once that state changes the
fingerprint no longer matches, so a used link cannot be used again. No Flask here.
"""

import hashlib
import hmac

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

# purpose -> lifetime in seconds (None: never expires, e.g. unsubscribe links)
LIFETIMES = {
    "reset": 60 * 60,
    "confirm": 7 * 24 * 60 * 60,
    "change_email": 24 * 60 * 60,
    "unsubscribe": None,
}


class TokenError(Exception):
    """`code` is "expired" or "invalid"."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def fingerprint(user, purpose):
    if purpose == "reset":
        state = user.password_hash
    elif purpose in ("confirm", "change_email"):
        state = f"{user.email}|{user.email_confirmed_at}"
    else:
        state = str(user.id)
    return hashlib.sha256(f"{purpose}|{user.id}|{state}".encode()).hexdigest()[:32]


def _serializer(key, purpose):
    return URLSafeTimedSerializer(key, salt=f"tynda-{purpose}")


def make(key, user, purpose, **extra):
    return _serializer(key, purpose).dumps({"u": user.id, "f": fingerprint(user, purpose), **extra})


def read(key, token, purpose, load_user):
    """Return (user, payload) for a valid token; raise TokenError otherwise.

    `load_user(id)` fetches the user; a token whose fingerprint no longer matches (already
    used, password changed, account deleted) is "invalid".
    """
    try:
        payload = _serializer(key, purpose).loads(token or "", max_age=LIFETIMES[purpose])
    except SignatureExpired:
        raise TokenError("expired") from None
    except BadSignature:
        raise TokenError("invalid") from None
    user = load_user(payload.get("u")) if isinstance(payload, dict) else None
    if user is None or user.deleted_at is not None:
        raise TokenError("invalid")
    if not hmac.compare_digest(payload.get("f", ""), fingerprint(user, purpose)):
        raise TokenError("invalid")
    return user, payload
