"""The status page of a background job and the small JSON that its script polls."""

from flask import Blueprint, abort, jsonify, render_template
from flask_login import current_user, login_required

from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.queue import LABELS

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


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
    )


@bp.route("/<int:job_id>.json")
@login_required
def status_json(job_id):
    row = _job_or_404(job_id)
    response = jsonify(dict(row.as_dict(), back=_back(row), download=_download(row)))
    response.headers["Cache-Control"] = "no-store"
    return response
