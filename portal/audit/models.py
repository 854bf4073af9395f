"""The audit log table: append-only and hash-chained.

The ORM refuses to flush a changed or deleted entry and the migration adds triggers that
refuse UPDATE and DELETE on SQLite and PostgreSQL. Entries keep the actor's name as it was,
so the chain checks out even after the account is renamed.
"""

from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.extensions import db


def utcnow():
    return datetime.now(UTC).replace(tzinfo=None)


class AppendOnlyError(RuntimeError):
    """Someone tried to change or delete an audit log entry."""


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"

    # Set by `record` to the previous id + 1 under the append lock: two appends can never
    # claim the same place, so the chain cannot fork.
    id = db.Column(db.Integer, primary_key=True, autoincrement=False)
    at = db.Column(db.DateTime, nullable=False, index=True)
    # None: the command line or the system itself.
    actor_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=True, index=True)
    actor = db.Column(db.String(120), nullable=False, default="")
    action = db.Column(db.String(48), nullable=False, index=True)
    target = db.Column(db.String(120), nullable=True)
    region_code = db.Column(db.String(8), nullable=True, index=True)
    # Canonical JSON text, hashed exactly as stored.
    details = db.Column(db.Text, nullable=False, default="{}")
    prev_hash = db.Column(db.String(64), nullable=False)
    hash = db.Column(db.String(64), nullable=False, unique=True)

    def chain_fields(self):
        """The fields the hash covers, in the shape chain.entry_hash expects."""
        return {
            "id": self.id,
            "at": self.at.isoformat(timespec="microseconds"),
            "actor_id": self.actor_id,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "region_code": self.region_code,
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@event.listens_for(Session, "before_flush")
def _refuse_changes(session, _flush_context, _instances):
    for obj in session.dirty:
        if isinstance(obj, AuditEntry) and session.is_modified(obj):
            raise AppendOnlyError("audit_entry rows cannot be changed")
    for obj in session.deleted:
        if isinstance(obj, AuditEntry):
            raise AppendOnlyError("audit_entry rows cannot be deleted")
