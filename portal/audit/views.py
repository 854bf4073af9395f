"""The audit log viewer for staff (their region) and admins (everything), with CSV export.

Pages are keyset-paginated (`before=<id>`) so the newest page costs the same at a million
entries as at ten; the CSV streams every matching entry.
"""

import csv
import io
from datetime import datetime, timedelta

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from portal.audit import services
from portal.extensions import db
from portal.permissions import roles_required

bp = Blueprint("audit", __name__, url_prefix="/staff/audit")
PAGE_SIZE = 50
CSV_COLUMNS = ("id", "at", "actor", "action", "target", "region_code", "details", "hash")


def _date(name):
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d")
    except ValueError:
        abort(400)


def _filters():
    until = _date("until")
    return {
        "action": (request.args.get("action") or "").strip()[:48] or None,
        "actor": (request.args.get("actor") or "").strip()[:120] or None,
        "since": _date("since"),
        "until": until + timedelta(days=1) if until else None,  # the whole last day
        "region": (request.args.get("region") or "").strip()[:8] or None,
    }


def _row(entry):
    return (
        entry.id,
        entry.at.isoformat(),
        entry.actor,
        entry.action,
        entry.target or "",
        entry.region_code or "",
        entry.details,
        entry.hash,
    )


def _cell(value):
    # A leading = + - @ would make a spreadsheet run the cell as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/")
@roles_required("staff")
def index():
    raw = request.args.get("before", "")
    if raw and (not raw.isdigit() or len(raw) > 12):
        abort(400)
    statement = services.filtered(current_user, **_filters())
    entries, next_before = services.page(
        db.session, statement, before=int(raw) if raw else None, size=PAGE_SIZE
    )
    args = {k: v for k, v in request.args.items() if k != "before"}
    return render_template(
        "audit/index.html",
        entries=entries,
        next_before=next_before,
        args=args,
        actions=services.actions(db.session),
    )


@bp.route("/audit.csv")
@roles_required("staff")
def export_csv():
    statement = services.filtered(current_user, **_filters())
    bind = db.session.get_bind()
    if isinstance(bind, Engine):
        bind = bind.execution_options(read_only=True)  # SQLite: no write lock while streaming

    def generate():
        # Runs after the view returned, with a session of its own (no Flask context needed).
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        with Session(bind=bind) as session:
            for entry in session.scalars(statement.execution_options(yield_per=1000)):
                writer.writerow([_cell(v) for v in _row(entry)])
                if buffer.tell() > 64 * 1024:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    response = Response(generate(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response
