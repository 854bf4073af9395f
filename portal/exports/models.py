"""The export audit log: who exported what and when. Append-only.

Rows are never changed or removed: the ORM refuses to flush a changed or deleted row, and
the migration adds database triggers that refuse UPDATE and DELETE (SQLite and PostgreSQL),
so a bulk statement or a hand-typed SQL query cannot rewrite history either.
"""

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.accounts.models import utcnow
from portal.extensions import db

SUBJECTS = ("cycle", "draft")
CHANNELS = ("web", "cli")


class AppendOnlyError(RuntimeError):
    """Someone tried to change or delete an export log row."""


class ExportLog(db.Model):
    __tablename__ = "export_log"
    __table_args__ = (
        db.CheckConstraint(f"subject IN {SUBJECTS!r}", name="subject_known"),
        db.CheckConstraint(f"via IN {CHANNELS!r}", name="via_known"),
    )

    id = db.Column(db.Integer, primary_key=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    # None: the command line (the operator's shell account is in the server's own logs).
    user_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=True, index=True)
    via = db.Column(db.String(8), nullable=False)
    subject = db.Column(db.String(8), nullable=False)
    subject_id = db.Column(db.Integer, nullable=False)
    # None: a national draft.
    region_id = db.Column(db.Integer, db.ForeignKey("region.id"), nullable=True, index=True)
    format = db.Column(db.String(8), nullable=False)
    part = db.Column(db.String(16), nullable=True)
    filename = db.Column(db.String(120), nullable=False)

    user = db.relationship("User")
    region = db.relationship("Region")


@event.listens_for(Session, "before_flush")
def _refuse_changes(session, _flush_context, _instances):
    for obj in session.dirty:
        if isinstance(obj, ExportLog) and session.is_modified(obj):
            raise AppendOnlyError("export_log rows cannot be changed")
    for obj in session.deleted:
        if isinstance(obj, ExportLog):
            raise AppendOnlyError("export_log rows cannot be deleted")
