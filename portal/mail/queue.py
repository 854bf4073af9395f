"""The "mail.send" job. Until the jobs package (portal/jobs) is installed, mail is delivered
in-process right after the commit, which is what the jobs' immediate mode does too."""

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.mail.delivery import deliver

try:
    from portal.jobs import enqueue, job
except ImportError:  # pragma: no cover - the jobs package lands separately
    enqueue = job = None

_PENDING = "tynda_pending_mail"


def send_job(payload, progress=None):
    """Deliver one rendered mail (runs in the worker, inside the app context)."""
    result = deliver(payload, current_app.config, current_app.instance_path)
    if progress is not None:
        progress(1, 1, "sent")
    return result


if job is not None:
    job("mail.send")(send_job)


def enqueue_mail(session, payload):
    if enqueue is not None:
        return enqueue(session, "mail.send", payload)
    session.info.setdefault(_PENDING, []).append(payload)
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)
    return None


def _after_commit(session):
    for payload in session.info.pop(_PENDING, None) or ():
        try:
            send_job(payload)
        except Exception:  # a mail failure must not undo the committed request
            current_app.logger.exception("could not send mail to %s", payload.get("to"))


def _after_rollback(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
