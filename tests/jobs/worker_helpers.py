"""Waiting for a job that a real worker process runs."""

import time

from portal.extensions import db as _db
from portal.jobs.models import Job


def wait_for(app, job_id, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            row = _db.session.get(Job, job_id)
            status = (row.status, row.result)
            _db.session.remove()
        if status[0] in ("done", "failed"):
            return status
        time.sleep(0.2)
    return status
