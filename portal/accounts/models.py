"""Accounts: users with roles, the voter register and failed-login records.

No clear IIN is stored anywhere: `iin_hash` is an HMAC with a server key, used only to keep
one account per IIN and to match the voter register.
"""

import datetime as dt
import secrets

from flask import current_app, has_request_context, request
from flask_login import UserMixin
from sqlalchemy import bindparam, select

from portal import keys
from portal.extensions import db, login_manager

ROLES = ("resident", "moderator", "staff", "admin")
# Roles whose work is tied to one region.
REGIONAL_ROLES = ("moderator", "staff")


def utcnow():
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def iin_key():
    """The HMAC key for IINs: its own setting (required in production), else the app secret."""
    return keys.iin_key()


def new_token():
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(254), nullable=False, unique=True)
    full_name = db.Column(db.String(200), nullable=False)
    iin_hash = db.Column(db.String(64), nullable=False, unique=True)
    birth_year = db.Column(db.Integer, nullable=False)
    sex = db.Column(db.String(1), nullable=False)
    phone = db.Column(db.String(16), nullable=False)
    password_hash = db.Column(db.String(255), nullable=False)
    region_id = db.Column(db.Integer, db.ForeignKey("region.id"), nullable=False, index=True)
    district_id = db.Column(db.Integer, db.ForeignKey("district.id"), nullable=True)
    role = db.Column(db.String(16), nullable=False, default="resident")
    # The region a moderator or staff member works for; admins work everywhere.
    scope_region_id = db.Column(db.Integer, db.ForeignKey("region.id"), nullable=True)
    verified_region_id = db.Column(db.Integer, db.ForeignKey("region.id"), nullable=True)
    verified_at = db.Column(db.DateTime, nullable=True)
    verified_via = db.Column(db.String(16), nullable=True)  # "staff" or "register"
    locale = db.Column(db.String(10), nullable=True)
    # Part of the login cookie; replacing it signs the user out everywhere.
    session_token = db.Column(db.String(64), nullable=False, default=new_token)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    # When the person clicked the confirmation link sent to `email` (None: not yet).
    email_confirmed_at = db.Column(db.DateTime, nullable=True)
    # When the person consented to processing of personal data (Law No. 94-V, art. 7-8).
    consent_at = db.Column(db.DateTime, nullable=True)
    # Set when the person deleted the account: personal data are wiped, ballots and
    # published comments stay attached to this anonymous row.
    deleted_at = db.Column(db.DateTime, nullable=True)
    # Notification choices: {kind: {"email": bool, "portal": bool}}; missing means on.
    notify_prefs = db.Column(db.JSON, nullable=True)

    region = db.relationship("Region", foreign_keys=[region_id])
    district = db.relationship("District", foreign_keys=[district_id])
    scope_region = db.relationship("Region", foreign_keys=[scope_region_id])
    verified_region = db.relationship("Region", foreign_keys=[verified_region_id])

    __table_args__ = (
        db.CheckConstraint(f"role IN {ROLES!r}", name="role_known"),
        db.CheckConstraint("sex IN ('M', 'F')", name="sex_known"),
        # Residents per district of a region (staff dashboards), counted from the index alone.
        db.Index("ix_user_account_residents", "verified_region_id", "district_id"),
    )

    @property
    def is_active(self):
        return self.deleted_at is None

    def get_id(self):
        return f"{self.id}:{self.session_token}"

    @property
    def is_admin(self):
        return self.role == "admin"

    def is_verified_in(self, region_id):
        return self.verified_region_id is not None and self.verified_region_id == region_id

    def works_for(self, region_id):
        """True if this user may act as staff or moderator for the region."""
        return self.is_admin or (self.role in REGIONAL_ROLES and self.scope_region_id == region_id)


class VoterRegisterEntry(db.Model):
    """An IIN (as its HMAC) that a region's staff uploaded as a verified resident."""

    __tablename__ = "voter_register_entry"
    __table_args__ = (db.UniqueConstraint("region_id", "iin_hash"),)

    id = db.Column(db.Integer, primary_key=True)
    region_id = db.Column(db.Integer, db.ForeignKey("region.id"), nullable=False)
    iin_hash = db.Column(db.String(64), nullable=False, index=True)
    added_by_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=True)
    added_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class Notice(db.Model):
    """A notification to one person, shown in the portal and/or sent by e-mail."""

    __tablename__ = "notice"

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=False, index=True)
    kind = db.Column(db.String(32), nullable=False)
    params = db.Column(db.JSON, nullable=False, default=dict)
    link = db.Column(db.String(300), nullable=False, default="")
    in_portal = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    read_at = db.Column(db.DateTime, nullable=True)
    emailed_at = db.Column(db.DateTime, nullable=True)

    user = db.relationship("User")


class FailedLogin(db.Model):
    """One failed sign-in, keyed by a hash of the e-mail or the client address."""

    __tablename__ = "failed_login"

    id = db.Column(db.Integer, primary_key=True)
    key = db.Column(db.String(64), nullable=False, index=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)


@login_manager.user_loader
def load_user(cookie_id):
    user_id, _, token = (cookie_id or "").partition(":")
    if not user_id.isdigit() or not token:
        return None
    if _plain_wanted():
        row = db.session.connection().execute(_SIGNED_IN, {"id": int(user_id)}).first()
        user = SignedIn(row) if row is not None else None
    else:
        user = db.session.get(User, int(user_id))
    if user is None or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def plain_user(view):
    """Mark a view whose POST reads the signed-in user as one plain row (`SignedIn`), not
    as an ORM object: loading a User object cost as much as the rest of a ballot's reads."""
    view.plain_user = True
    return view


def _plain_wanted():
    if not has_request_context() or request.method != "POST":
        return False
    return getattr(current_app.view_functions.get(request.endpoint), "plain_user", False)


class SignedIn(UserMixin):
    """The signed-in user's columns from one row, with User's methods. Any other attribute
    (a relationship, another column) comes from the User object, loaded on first use."""

    __slots__ = (
        "id",
        "session_token",
        "deleted_at",
        "role",
        "scope_region_id",
        "region_id",
        "verified_region_id",
        "district_id",
        "iin_hash",
        "birth_year",
        "sex",
        "locale",
        "_user",
    )
    is_active = User.is_active
    get_id = User.get_id
    is_admin = User.is_admin
    is_verified_in = User.is_verified_in
    works_for = User.works_for

    def __init__(self, row):
        for name, value in zip(self.__slots__, row, strict=False):
            setattr(self, name, value)
        self._user = None

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if self._user is None:
            self._user = db.session.get(User, self.id)
        return getattr(self._user, name)


_SIGNED_IN = select(*(User.__table__.c[name] for name in SignedIn.__slots__[:-1])).where(
    User.__table__.c.id == bindparam("id")
)
