"""Large exports as background jobs: the file is built by a worker and kept in storage.

An XLSX or SQLite file must be complete before its first byte can be sent, and a city's
200,000 ballots take tens of seconds in any format, so a web request would hold a worker
(and the reader's patience) that long. The staff form queues `exports.file`; the worker
checks the request again with the requester's rights, writes the file to the portal's
storage (local folder or S3) under an unguessable key, and the job page offers the download,
which checks the region again and records the export in the export log.
"""

import os
import secrets
import tempfile

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import database
from portal.accounts.models import User
from portal.exports import forms, services
from portal.extensions import db
from portal.jobs import job
from portal.jobs.models import Job
from portal.storage import get_storage, save_in_session

EXPORT_JOB = "exports.file"


def explain(code, details):
    """A refused export's message in the reader's language (the job page)."""
    return forms.message(services.ExportError(code, **details))


@job(EXPORT_JOB, label=_l("Preparing an export file"), explain=explain)
def export_file_job(payload, progress):
    """payload: {"subject", "subject_id", "format", "part", "lang", "actor_id"}."""
    subject, fmt, part = payload["subject"], payload["format"], payload.get("part")
    lang = payload.get("lang") or "en"
    database.start_read(db.session)  # the checks only read (SQLite: no write lock)
    with force_locale(lang):
        actor = db.session.get(User, payload["actor_id"])
        # A refusal (services.ExportError) fails the job with its code: the job page
        # explains it in the reader's language.
        if actor is None or not actor.is_active:
            raise services.ExportError("not_found")
        fmt, part = services.check_request(subject, fmt, part)
        if subject == "cycle":
            obj = services.cycle_for_export(db.session, actor, payload["subject_id"])
        else:
            obj = services.draft_for_export(db.session, actor, payload["subject_id"])
        options = {
            "lang": lang,
            "labels": forms.headers(),
            "sheet_titles": forms.sheet_titles(),
            "value_labels": forms.value_labels(),
        }
        step = _("Rows written")
    total = services.row_total(db.session, subject, obj, fmt, part)
    name = services.file_name(subject, obj.id, fmt, part)
    model, obj_id = type(obj), obj.id
    db.session.rollback()  # the checks are done: hold no transaction while the file is built
    done = 0

    def advance(rows):
        nonlocal done
        done += rows
        progress(min(done, total), total, step)

    progress(0, total, step)
    handle, path = tempfile.mkstemp(suffix=f".{fmt}")
    try:
        bind = db.session.get_bind()
        with os.fdopen(handle, "wb") as out, services.reading_session(bind) as reader:
            target = reader.get(model, obj_id)
            for chunk in services.build(
                reader, subject, target, fmt, part, progress=advance, **options
            ):
                out.write(chunk)
        with open(path, "rb") as built:
            data = built.read()
    finally:
        os.unlink(path)
    key = f"exports/{secrets.token_urlsafe(16)}/{name}"
    # Removed again if the job's transaction rolls back: no file without a finished job.
    save_in_session(db.session, get_storage(), key, data, services.MEDIA_TYPES[fmt])
    progress(total, total, step)
    return {"key": key, "filename": name, "size": len(data), "format": fmt, "part": part}


def prune(session, storage, before):
    """Delete the files of export jobs finished before `before` (their rows stay, marked
    expired, so the job page and the export log still tell what was made); the caller
    commits. Returns how many files went."""
    rows = session.scalars(
        select(Job).where(Job.kind == EXPORT_JOB, Job.status == "done", Job.finished_at < before)
    ).all()
    pruned = 0
    for row in rows:
        key = (row.result or {}).get("key")
        if not key:
            continue
        storage.delete(key)
        row.result = dict(row.result, key=None, expired=True)
        pruned += 1
    session.flush()
    return pruned
