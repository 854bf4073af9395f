"""The "mail.send" job: the request renders the mail, the job worker delivers it."""

from flask import current_app

from portal.jobs import enqueue, job
from portal.mail.delivery import deliver


@job("mail.send")
def send_job(payload, progress):
    """Deliver one rendered mail (runs in the worker, inside the app context)."""
    result = deliver(payload, current_app.config, current_app.instance_path)
    progress(1, 1, "sent")
    return result


def enqueue_mail(session, payload):
    """Queue the mail (flush only); the worker gets it after the commit."""
    return enqueue(session, "mail.send", payload)
