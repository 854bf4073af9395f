"""Account services: registration, sign-in throttling, verification, roles.

Each function takes the database session (and the acting user where one acts), changes
objects and only flushes; the caller commits once. No Flask imports: the CLI, the views
and the tests call these the same way.
"""

import csv
import datetime as dt
import hashlib
import hmac
import io

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select

from portal import database
from portal.accounts.domain import IINError, parse_iin
from portal.accounts.models import (
    REGIONAL_ROLES,
    ROLES,
    FailedLogin,
    User,
    VoterRegisterEntry,
    new_token,
    utcnow,
)
from portal.audit import record

_hasher = PasswordHasher()


class AccountError(Exception):
    """A refused account action; `code` is stable so views can translate it."""

    def __init__(self, code, **details):
        super().__init__(code)
        self.code = code
        self.details = details


def configure_hasher(**params):
    """Set Argon2id parameters (config.py: OWASP's minimum; tests use cheaper ones)."""
    global _hasher
    _hasher = PasswordHasher(**params) if params else PasswordHasher()


def iin_digest(iin, key):
    return hmac.new(key.encode(), iin.strip().encode(), hashlib.sha256).hexdigest()


def normalise_email(email):
    return (email or "").strip().lower()


def register(
    session, *, full_name, iin, email, phone, password, region, district, key, locale=None
):
    """Create a resident account; verify it at once if the IIN is in the region's register."""
    info = parse_iin(iin)
    iin_hash = iin_digest(iin, key)
    email = normalise_email(email)
    if session.scalar(select(User.id).where(User.iin_hash == iin_hash)):
        raise AccountError("duplicate_iin")
    if session.scalar(select(User.id).where(User.email == email)):
        raise AccountError("duplicate_email")
    if district is not None and district.region_id != region.id:
        raise AccountError("district_region")
    user = User(
        full_name=full_name.strip(),
        iin_hash=iin_hash,
        birth_year=info.birth_date.year,
        sex=info.sex,
        email=email,
        phone=phone,
        password_hash=_hasher.hash(password),
        region_id=region.id,
        district_id=district.id if district else None,
        role="resident",
        locale=locale,
    )
    session.add(user)
    if in_register(session, region.id, iin_hash):
        mark_verified(user, region.id, "register")
    session.flush()
    return user


def in_register(session, region_id, iin_hash):
    return (
        session.scalar(
            select(VoterRegisterEntry.id).where(
                VoterRegisterEntry.region_id == region_id, VoterRegisterEntry.iin_hash == iin_hash
            )
        )
        is not None
    )


def find_by_iin(session, iin, key):
    """The account registered with this IIN, or None (raises IINError for a malformed IIN)."""
    parse_iin(iin)
    return session.scalar(select(User).where(User.iin_hash == iin_digest(iin, key)))


def _throttle_keys(email, client):
    return [
        "e:" + hashlib.sha256(normalise_email(email).encode()).hexdigest()[:40],
        "c:" + hashlib.sha256((client or "").encode()).hexdigest()[:40],
    ]


def authenticate(session, email, password, *, client, attempts, window_seconds, now=None):
    """Return the user for correct credentials; record and throttle failures.

    Raises AccountError("throttled", minutes=…) when the e-mail or client has failed
    `attempts` times within the window, and AccountError("bad_credentials") otherwise.
    The checks and the slow Argon2 work run before any write, and `database.start_write`
    takes the write lock only for the few rows written afterwards (on SQLite a sign-in
    never holds the lock through hashing; call it in a fresh or read-only transaction).
    """
    now = now or utcnow()
    since = now - dt.timedelta(seconds=window_seconds)
    keys = _throttle_keys(email, client)
    recent = session.scalar(
        select(func.count()).where(FailedLogin.key.in_(keys), FailedLogin.at >= since)
    )
    if recent >= attempts:
        raise AccountError("throttled", minutes=max(1, window_seconds // 60))
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    user_id = user.id if user is not None else None
    matches = user is not None and _password_matches(user, password)
    new_hash = None
    if matches and _hasher.check_needs_rehash(user.password_hash):
        new_hash = _hasher.hash(password)
    database.start_write(session)
    session.execute(delete(FailedLogin).where(FailedLogin.at < since))
    if not matches:
        for key in keys:
            session.add(FailedLogin(key=key, at=now))
        session.flush()
        raise AccountError("bad_credentials")
    user = session.get(User, user_id)
    if new_hash is not None:
        user.password_hash = new_hash
    session.execute(delete(FailedLogin).where(FailedLogin.key == keys[0]))
    if user.role != "resident":
        record(
            session,
            user,
            "accounts.sign_in",
            target=f"user:{user.id}",
            region_code=_code(user.scope_region),
            now=now,
        )
    session.flush()
    return user


def _code(region):
    return region.code if region is not None else None


def _password_matches(user, password):
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def sign_out_everywhere(session, user):
    """Replace the user's session token so every old login cookie stops working."""
    user.session_token = new_token()
    session.flush()


def mark_verified(user, region_id, via):
    """Record that the user lives in the region; `via` is "staff" or "register"."""
    user.verified_region_id = region_id
    user.verified_at = utcnow()
    user.verified_via = via


def verify_resident(session, actor, user):
    """Staff of the user's region (or an admin) confirm the user lives there."""
    if not actor.works_for(user.region_id) or actor.role == "moderator":
        raise AccountError("forbidden")
    mark_verified(user, user.region_id, "staff")
    record(
        session,
        actor,
        "accounts.verify",
        target=f"user:{user.id}",
        region_code=_code(user.region),
    )
    session.flush()
    return user


def read_register_csv(data):
    """Parse an uploaded register: one IIN per line (first column; a header row is allowed).

    Returns (iins, errors) where errors are (line number, code) pairs. Pure parsing.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [(0, "encoding")]
    iins, errors = [], []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        value = row[0].strip() if row else ""
        if not value or (number == 1 and not value[:1].isdigit()):
            continue
        try:
            parse_iin(value)
        except IINError as error:
            errors.append((number, error.code))
            continue
        iins.append(value)
    if not iins and not errors:
        errors.append((0, "empty"))
    return iins, errors


def import_register(session, actor, region, iins, key):
    """Add IINs (hashed) to a region's register and verify matching residents.

    Returns (added, verified): how many entries were new and how many accounts got verified.
    """
    if not actor.works_for(region.id) or actor.role == "moderator":
        raise AccountError("forbidden")
    hashes = {iin_digest(iin, key) for iin in iins}
    known = set(
        session.scalars(
            select(VoterRegisterEntry.iin_hash).where(VoterRegisterEntry.region_id == region.id)
        )
    )
    for iin_hash in sorted(hashes - known):
        session.add(
            VoterRegisterEntry(region_id=region.id, iin_hash=iin_hash, added_by_id=actor.id)
        )
    verified = 0
    for user in session.scalars(
        select(User).where(User.iin_hash.in_(hashes), User.region_id == region.id)
    ):
        if user.verified_region_id != region.id:
            mark_verified(user, region.id, "register")
            verified += 1
    added = len(hashes - known)
    record(
        session,
        actor,
        "accounts.register_import",
        target=f"region:{region.code}",
        details={"entries": len(hashes), "added": added, "verified": verified},
        region_code=region.code,
    )
    session.flush()
    return added, verified


def grant_role(session, user, role, region=None, *, actor=None, via="web"):
    """Give a user a role; regional roles need a region. Signs the user out everywhere.

    The grant is audited; actor None with via "cli" is the server's operator.
    """
    if role not in ROLES:
        raise AccountError("unknown_role")
    if role in REGIONAL_ROLES and region is None:
        raise AccountError("region_required")
    before = user.role
    user.role = role
    user.scope_region_id = region.id if role in REGIONAL_ROLES else None
    sign_out_everywhere(session, user)
    code = region.code if role in REGIONAL_ROLES else None
    record(
        session,
        actor,
        "accounts.grant_role",
        target=f"user:{user.id}",
        details={"email": user.email, "role": role, "before": before, "via": via},
        region_code=code,
    )
    return user


def change_locale(session, user, locale):
    user.locale = locale
    session.flush()
