"""Moderation log: who published, rejected, restored or tagged which comment, and why.

Campaign clusters are stored by `portal.consultations.models.Campaign` (public pages show them);
this package computes and acts on them.
"""

from portal.accounts.models import utcnow
from portal.extensions import db

ACTIONS = ("publish", "reject", "restore", "topic", "cluster")


class ModerationAction(db.Model):
    __tablename__ = "moderation_action"
    __table_args__ = (db.CheckConstraint(f"action IN {ACTIONS!r}", name="action_known"),)

    id = db.Column(db.Integer, primary_key=True)
    comment_id = db.Column(db.Integer, db.ForeignKey("comment.id"), nullable=True, index=True)
    draft_id = db.Column(db.Integer, db.ForeignKey("draft.id"), nullable=False, index=True)
    moderator_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=True)
    action = db.Column(db.String(10), nullable=False)
    detail = db.Column(db.String(200), nullable=False, default="")
    at = db.Column(db.DateTime, nullable=False, default=utcnow)
