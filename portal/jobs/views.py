"""The status page of a background job, the small JSON that its script polls, and the
button that starts a job again after its worker died."""

import logging

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from portal.audit import record
from portal.extensions import db
from portal.forms import require_valid
from portal.jobs.models import Job
from portal.jobs.queue import EXPLAIN, LABELS, lease, retry

log = logging.getLogger(__name__)
bp = Blueprint("jobs", __name__, url_prefix="/jobs")


class RetryForm(FlaskForm):
    """The "start it again" button: a CSRF token only."""


def _job_or_404(job_id):
    """Staff see the jobs they started; admins see every job."""
    row = db.session.get(Job, job_id)
    if row is None:
        abort(404)
    if not current_user.is_admin and row.created_by_id != current_user.id:
        abort(403)
    return row


def _back(row):
    """Where to go when the job is done: a path on this site that the job was queued from."""
    return _local_path((row.payload or {}).get("back"))


def _download(row):
    """The path of the file a finished job made (payload "download"; its view checks rights),
    unless the file has been pruned since (result "expired")."""
    if row.status != "done" or (row.result or {}).get("expired"):
        return None
    return _local_path((row.payload or {}).get("download"))


def _local_path(path):
    return path if isinstance(path, str) and path.startswith("/") and "//" not in path else None


def error_text(row):
    """Why a failed job failed, in the reader's language (the stored `error` is technical)."""
    if row.status != "failed":
        return None
    details = row.error_details or {}
    if row.error_code == "interrupted":
        return _(
            "The worker running this job stopped %(count)s times before the job was finished, "
            "so it was not started again by itself.",
            count=details.get("attempts", 0),
        )
    explain = EXPLAIN.get(row.kind)
    if explain is not None and row.error_code not in (None, "unexpected"):
        try:
            return str(explain(row.error_code, details))
        except Exception:  # a code or detail an older version stored: say it plainly
            log.exception("could not explain the failure of job %s", row.id)
    return _(
        "Something unexpected went wrong. An administrator can find the details in the "
        "server log under job %(id)s.",
        id=row.id,
    )


def _retryable(row):
    return row.interrupted(lease()) or (row.status == "failed" and row.error_code == "interrupted")


@bp.route("/<int:job_id>")
@login_required
def status(job_id):
    row = _job_or_404(job_id)
    return render_template(
        "jobs/status.html",
        job=row,
        label=LABELS.get(row.kind),
        back=_back(row),
        download=_download(row),
        filename=(row.result or {}).get("filename") if _download(row) else None,
        interrupted=row.interrupted(lease()),
        error=error_text(row),
        retry_form=RetryForm() if _retryable(row) else None,
    )


@bp.route("/<int:job_id>.json")
@login_required
def status_json(job_id):
    row = _job_or_404(job_id)
    data = dict(row.as_dict(), back=_back(row), download=_download(row))
    data.update(error=error_text(row), interrupted=row.interrupted(lease()))
    response = jsonify(data)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:job_id>/retry", methods=["POST"])
@login_required
def retry_job(job_id):
    """Queue a job whose worker died again now, instead of waiting for a worker to do it."""
    row = _job_or_404(job_id)
    require_valid(RetryForm())
    attempts = row.attempts
    if retry(db.session, row):
        record(
            db.session,
            current_user,
            "job.retry",
            target=f"job {row.id}",
            details={"kind": row.kind, "attempts": attempts},
        )
        db.session.commit()
        flash(_("The job was queued again."), "success")
    else:
        flash(_("The job is not interrupted: there is nothing to start again."), "error")
    return redirect(url_for("jobs.status", job_id=row.id), 303)
