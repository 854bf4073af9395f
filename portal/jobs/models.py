"""The Job row: what staff see of a background job (the queue itself lives in huey)."""

import datetime as dt

from portal.extensions import db

STATUSES = ("queued", "running", "done", "failed")


def utcnow():
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Job(db.Model):
    __tablename__ = "job"
    __table_args__ = (db.CheckConstraint(f"status IN {STATUSES!r}", name="status_known"),)

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(80), nullable=False, index=True)
    status = db.Column(db.String(16), nullable=False, default="queued")
    payload = db.Column(db.JSON, nullable=False, default=dict)
    progress = db.Column(db.Integer, nullable=False, default=0)
    total = db.Column(db.Integer, nullable=True)
    message = db.Column(db.String(200), nullable=False, default="")
    result = db.Column(db.JSON, nullable=True)
    # The technical text of a failure (logs, admins); staff read `error_code` translated.
    error = db.Column(db.Text, nullable=True)
    # A stable code (the failed job's own, or "interrupted", or "unexpected") and the values
    # its message needs: translated when shown, in the reader's language.
    error_code = db.Column(db.String(80), nullable=True)
    error_details = db.Column(db.JSON, nullable=True)
    # None: started from the command line or by the system.
    created_by_id = db.Column(
        db.Integer, db.ForeignKey("user_account.id"), nullable=True, index=True
    )
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    started_at = db.Column(db.DateTime, nullable=True)
    finished_at = db.Column(db.DateTime, nullable=True)
    # The worker running the job writes this every few seconds; a running job whose
    # heartbeat is older than the lease lost its worker (killed, machine restarted).
    heartbeat_at = db.Column(db.DateTime, nullable=True)
    # How many times a worker took the job; each run only writes while it is the latest.
    attempts = db.Column(db.Integer, nullable=False, default=0, server_default="0")

    @property
    def finished(self):
        return self.status in ("done", "failed")

    def interrupted(self, lease, now=None):
        """Running, but its worker has not written for longer than `lease` seconds."""
        if self.status != "running":
            return False
        last = self.heartbeat_at or self.started_at or self.created_at
        return last < (now or utcnow()) - dt.timedelta(seconds=lease)

    @property
    def percent(self):
        """0-100 for a progress bar; None while the size of the work is unknown."""
        if self.status == "done":
            return 100
        if not self.total:
            return None
        return max(0, min(100, round(100 * self.progress / self.total)))

    def as_dict(self):
        """The JSON the status page polls."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "progress": self.progress,
            "total": self.total,
            "percent": self.percent,
            "message": self.message,
            "error": self.error if self.status == "failed" else None,
            "finished": self.finished,
        }
