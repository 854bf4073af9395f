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
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select

from portal import database
from portal.accounts import hashing
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
from portal.textcheck import bad_field, has_bad_characters

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


PHONE_RE = re.compile(r"^\+7\d{10}$")


def normalise_email(email):
    return (email or "").strip().lower()


def register(
    session,
    *,
    full_name,
    iin,
    email,
    phone,
    password,
    region,
    district,
    key,
    locale=None,
    consent=True,
    password_hash=None,
):
    """Create a resident account; verify it at once if the IIN is in the region's register.

    `consent` records the person's consent to processing their personal data (required).
    `password_hash` may be computed beforehand (outside the transaction) with hash_password.
    A person who deleted their account and registers again gets the same (anonymous) row
    back, so their old ballots still count once.
    """
    if not consent:
        raise AccountError("consent_required")
    if bad_field(single={"full_name": full_name, "email": email, "phone": phone}):
        raise AccountError("control_chars")
    # The form checks these too; CLI commands, imports and scripts come here directly.
    if not 0 < len((full_name or "").strip()) <= 200:
        raise AccountError("bad_name")
    if not 0 < len(normalise_email(email)) <= 254 or "@" not in (email or ""):
        raise AccountError("bad_email")
    if not PHONE_RE.match(phone or ""):
        raise AccountError("bad_phone")
    info = parse_iin(iin)
    iin_hash = iin_digest(iin, key)
    email = normalise_email(email)
    existing = session.scalar(select(User).where(User.iin_hash == iin_hash))
    if existing is not None and existing.deleted_at is None:
        raise AccountError("duplicate_iin")
    if session.scalar(select(User.id).where(User.email == email)):
        raise AccountError("duplicate_email")
    if district is not None and district.region_id != region.id:
        raise AccountError("district_region")
    user = existing or User(iin_hash=iin_hash, role="resident")
    user.full_name = full_name.strip()
    user.birth_year = info.birth_date.year
    user.sex = info.sex
    user.email = email
    user.phone = phone
    user.password_hash = password_hash or _hasher.hash(password)
    user.region_id = region.id
    user.district_id = district.id if district else None
    user.locale = locale
    user.consent_at = utcnow()
    user.deleted_at = None
    user.email_confirmed_at = None
    user.session_token = new_token()
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
    """The account key and the address key; their failure rows are counted separately."""
    return (
        "e:" + hashlib.sha256(normalise_email(email).encode()).hexdigest()[:40],
        "c:" + hashlib.sha256((client or "").encode()).hexdigest()[:40],
    )


@dataclass(frozen=True)
class LoginCheck:
    """What the database says before a password is checked (read-only, no locks kept).

    `user` is detached from the session with its columns loaded: the read transaction can
    end before the password is hashed, and a sign-in that writes nothing needs no new read."""

    user: User | None
    account_failures: int
    address_failures: int

    @property
    def user_id(self):
        return self.user.id if self.user else None

    @property
    def password_hash(self):
        return self.user.password_hash if self.user else None


def check_login(session, email, *, client, window_seconds, now=None):
    """Read the account and the recent failures of this account and of this address."""
    if has_bad_characters(email):
        # Never looked up: PostgreSQL refuses NUL, and no account has such an e-mail.
        return LoginCheck(user=None, account_failures=0, address_failures=0)
    now = now or utcnow()
    since = now - dt.timedelta(seconds=window_seconds)
    account_key, address_key = _throttle_keys(email, client)
    counts = dict(
        session.execute(
            select(FailedLogin.key, func.count())
            .where(FailedLogin.key.in_((account_key, address_key)), FailedLogin.at >= since)
            .group_by(FailedLogin.key)
        ).all()
    )
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is not None:
        session.expunge(user)
    return LoginCheck(
        user=user,
        account_failures=counts.get(account_key, 0),
        address_failures=counts.get(address_key, 0),
    )


def address_delay(failures, *, threshold, maximum):
    """Seconds to slow an address down: none below the threshold, then doubling to a cap."""
    if failures < threshold:
        return 0.0
    return min(float(maximum), 0.25 * 2 ** min(failures - threshold, 16))


def password_matches(password_hash, password):
    """Check a password; with no account, check against a dummy hash so timing is the same.

    CPU-bound: call it outside database transactions (SQLite write transactions are
    IMMEDIATE, so holding one during Argon2 would stall every writer).
    """
    return _password_matches(password_hash, password)


def _password_matches(password_hash, password):
    return hashing.run(_verify, password_hash or _dummy_hash(), password) and bool(password_hash)


def _verify(password_hash, password):
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy_hash():
    global _dummy
    if _dummy is None or _hasher.check_needs_rehash(_dummy):
        _dummy = _hasher.hash(secrets.token_urlsafe(16))
    return _dummy


_dummy = None


def rehash_if_needed(password_hash, password):
    """A new hash when the stored one uses old parameters, else None (CPU-bound)."""
    if not _hasher.check_needs_rehash(password_hash):
        return None
    return hashing.run(_hasher.hash, password)


def record_login(session, email, *, client, check, ok, new_hash=None, window_seconds, now=None):
    """Write the outcome of a sign-in checked by `check_login`; returns the user on success
    (detached, as `check_login` read it, when nothing was written).

    A failure adds a row for the account and one for the address, and prunes rows past the
    window (only failures add rows, so pruning there keeps the table bounded). A success
    writes only when there is something to write: the account's failures to clear, a rehash,
    or a staff member's audit entry. An ordinary resident's sign-in writes nothing, so it
    never queues for SQLite's write lock nor waits for a durable commit. When it writes it
    begins the write transaction itself (`database.start_write`): call it after the read
    and the hashing."""
    now = now or utcnow()
    account_key, address_key = _throttle_keys(email, client)
    user = check.user
    if ok and not (new_hash or check.account_failures or user.role != "resident"):
        return user  # as check_login read it (detached): nothing to write
    database.start_write(session)
    if not ok:
        since = now - dt.timedelta(seconds=window_seconds)
        session.execute(delete(FailedLogin).where(FailedLogin.at < since))
        session.add(FailedLogin(key=account_key, at=now))
        session.add(FailedLogin(key=address_key, at=now))
        session.flush()
        return None
    user = session.get(User, user.id)
    if new_hash:
        user.password_hash = new_hash
    session.execute(delete(FailedLogin).where(FailedLogin.key == account_key))
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


def authenticate(session, email, password, *, client, attempts, window_seconds, now=None):
    """Return the user for correct credentials; record and throttle failures.

    An account locks after `attempts` failures of THAT account within the window
    (AccountError("throttled", minutes=…)); failures of other accounts from the same address
    never refuse a right password (the view only slows such an address down). Wrong
    credentials raise AccountError("bad_credentials"). The reads and the Argon2 check come
    first; record_login then takes the write lock only for the few rows it writes (call this
    in a fresh or read-only transaction, see `database.start_read`).
    """
    check = check_login(session, email, client=client, window_seconds=window_seconds, now=now)
    if check.account_failures >= attempts:
        raise AccountError("throttled", minutes=max(1, window_seconds // 60))
    ok = password_matches(check.password_hash, password)
    new_hash = rehash_if_needed(check.password_hash, password) if ok else None
    user = record_login(
        session,
        email,
        client=client,
        check=check,
        ok=ok,
        new_hash=new_hash,
        window_seconds=window_seconds,
        now=now,
    )
    if not ok:
        raise AccountError("bad_credentials")
    return session.merge(user, load=False)  # attached, without reading it again


def hash_password(password):
    """Argon2 hash of a new password (CPU-bound: call it outside transactions)."""
    return hashing.run(_hasher.hash, password)


def find_active_by_email(session, email):
    return session.scalar(
        select(User).where(User.email == normalise_email(email), User.deleted_at.is_(None))
    )


def set_password(session, user, new_hash):
    """Replace the password (reset or change): old sessions end and reset links die."""
    user.password_hash = new_hash
    session.execute(delete(FailedLogin).where(FailedLogin.key == _throttle_keys(user.email, "")[0]))
    sign_out_everywhere(session, user)
    return user


def confirm_email(session, user, email=None):
    """Mark `email` (default: the current address) confirmed; it becomes the account's."""
    email = normalise_email(email or user.email)
    if email != user.email:
        taken = session.scalar(select(User.id).where(User.email == email, User.id != user.id))
        if taken:
            raise AccountError("duplicate_email")
        user.email = email
    user.email_confirmed_at = utcnow()
    session.flush()
    return user


def check_new_email(session, user, email):
    """Refuse an address another account uses (before a confirmation mail is sent)."""
    email = normalise_email(email)
    if email == user.email:
        raise AccountError("same_email")
    if session.scalar(select(User.id).where(User.email == email)):
        raise AccountError("duplicate_email")
    return email


def update_profile(session, user, *, full_name, phone, locale, district=None):
    if district is not None and district.region_id != user.region_id:
        raise AccountError("district_region")
    user.full_name = full_name.strip()
    user.phone = phone
    user.locale = locale
    user.district_id = district.id if district else None
    session.flush()
    return user


# Capabilities add their part of a person's data export: name -> fn(session, user) -> list.
PERSONAL_DATA = {}


def personal_data(session, user):
    """Everything the portal holds about the person, as JSON-ready data (Law No. 94-V)."""

    def when(value):
        return value.isoformat() + "Z" if value else None

    data = {
        "account": {
            "id": user.id,
            "full_name": user.full_name,
            "email": user.email,
            "email_confirmed_at": when(user.email_confirmed_at),
            "phone": user.phone,
            "birth_year": user.birth_year,
            "sex": user.sex,
            "region": user.region.code if user.region else None,
            "district": user.district.name_en if user.district else None,
            "role": user.role,
            "language": user.locale,
            "created_at": when(user.created_at),
            "consent_to_processing_at": when(user.consent_at),
            "verified_region": user.verified_region.code if user.verified_region else None,
            "verified_at": when(user.verified_at),
            "verified_via": user.verified_via,
            "iin": "not stored; only a keyed hash of it is kept",
        }
    }
    for name, collect in sorted(PERSONAL_DATA.items()):
        data[name] = collect(session, user)
    return data


def delete_account(session, user):
    """Wipe the person's data; the row stays anonymous so ballots and published comments
    keep their place. The keyed IIN hash stays so one person still has one vote."""
    session.execute(delete(FailedLogin).where(FailedLogin.key == _throttle_keys(user.email, "")[0]))
    user.full_name = "—"
    user.email = f"deleted-{user.id}-{new_token()[:8]}@deleted.invalid"
    user.phone = ""
    user.password_hash = "!deleted"  # noqa: S105 (no hash matches it: no sign-in)
    user.locale = None
    user.district_id = None
    user.email_confirmed_at = None
    user.deleted_at = utcnow()
    if user.role != "resident":
        user.role, user.scope_region_id = "resident", None
    sign_out_everywhere(session, user)
    return user


def _code(region):
    return region.code if region is not None else None


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
