"""Staff dashboards, printable akim reports, export downloads and the export log.

Staff see their region (admins every region); moderators see the consultation side of
their region. A cycle or draft outside the user's region is a 404, as if it did not exist.
Small CSV, JSON and .pb downloads stream from the request; XLSX, SQLite and big files are
built by a background job (portal/exports/jobs.py) and downloaded from storage once ready.
The file name is always generated here, and every response is `Cache-Control: no-store`.
"""

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import default_exceptions

from portal import charts, database, pdf
from portal.accounts.forms import EmptyForm
from portal.budgeting.forms import CATEGORY_LABELS
from portal.budgeting.models import BudgetCycle
from portal.consultations.models import Draft
from portal.exports import dashboards, forms, services
from portal.exports.jobs import EXPORT_JOB
from portal.extensions import db
from portal.forms import require_valid
from portal.i18n import current_language
from portal.jobs import enqueue
from portal.jobs.models import Job
from portal.permissions import roles_required
from portal.regions.models import Region
from portal.storage import get_storage

bp = Blueprint("exports", __name__, url_prefix="/staff")
REFUSAL_STATUS = {"not_found": 404, "voting_open": 409}


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def _labels():
    return {
        "FORMAT_LABELS": forms.FORMAT_LABELS,
        "PART_LABELS": forms.PART_LABELS,
        "CYCLE_FORMATS": services.CYCLE_FORMATS,
        "CYCLE_PARTS": services.CYCLE_PARTS,
        "DRAFT_FORMATS": services.DRAFT_FORMATS,
        "DRAFT_PARTS": services.DRAFT_PARTS,
        "AGE_BANDS": dashboards.BAND_ORDER,
    }


def _refuse(error):
    status = REFUSAL_STATUS.get(error.code, 400)
    if status == 409:  # the shared error pages know no 409: "not now", not "bad request"
        page = render_template(
            "errors/error.html",
            code=409,
            title=_("Not available yet"),
            explanation=forms.message(error),
        )
        abort(make_response(page, 409))
    exception = default_exceptions[status]()
    exception.user_message = forms.message(error)
    raise exception


def _cycle(cycle_id):
    cycle = db.session.get(BudgetCycle, cycle_id)
    if cycle is None or not services.may_export(current_user, cycle.region_id):
        abort(404)
    return cycle


def _draft(draft_id):
    draft = db.session.get(Draft, draft_id)
    roles = ("staff", "moderator")
    if draft is None or not services.may_export(current_user, draft.region_id, roles=roles):
        abort(404)
    return draft


def _district_names(region):
    return {d.id: d.name for d in region.districts}


# ------------------------------------------------------------------ overview
@bp.route("/")
@roles_required("staff", "moderator")
def overview():
    regions = None
    chosen = None
    if current_user.is_admin:
        code = request.args.get("region", "")
        chosen = db.session.scalar(select(Region).where(Region.code == code)) if code else None
        region_ids = [chosen.id] if chosen else None
        regions = db.session.scalars(select(Region).order_by(Region.code)).all()
    else:
        region_ids = [current_user.scope_region_id]
        chosen = current_user.scope_region
    figures = dashboards.overview(db.session, region_ids)
    if current_user.role == "moderator":
        figures["cycles"] = []
        figures["actions"] = [a for a in figures["actions"] if a[0] in ("moderate", "overdue")]
    return render_template("exports/overview.html", regions=regions, chosen=chosen, **figures)


# ------------------------------------------------------------------ cycles
def _cycle_context(cycle):
    figures = dashboards.cycle_figures(db.session, cycle, current_user)
    names = _district_names(cycle.region)
    context = {"cycle": cycle, "f": figures, "district_names": names}
    if figures["counts_shown"] and figures["results"]:
        context["results_chart"] = charts.bar_chart(
            [(r["title"], r["votes"], r["won"]) for r in figures["results"][:20]]
        )
    context["day_chart"] = charts.column_chart(figures["per_day"])
    context["label_every"] = charts.label_every(len(figures["per_day"]))
    context["category_chart"] = charts.bar_chart(
        sorted(
            ((CATEGORY_LABELS.get(k, k), v) for k, v in figures["by_category"].items()),
            key=lambda kv: -kv[1],
        )
    )
    return context


@bp.route("/cycles/<int:cycle_id>")
@roles_required("staff")
def cycle_dashboard(cycle_id):
    cycle = _cycle(cycle_id)
    context = _cycle_context(cycle)
    f = context["f"]
    direct = _direct("cycle", ballots=f["ballots"], proposals=f["proposals_total"])
    return render_template("exports/cycle.html", direct=direct, **context)


@bp.route("/cycles/<int:cycle_id>/report")
@roles_required("staff")
def cycle_report(cycle_id):
    cycle = _cycle(cycle_id)
    overdue = dashboards.overdue_answers(db.session, cycle.region_id)
    html = render_template("exports/cycle_report.html", overdue=overdue, **_cycle_context(cycle))
    if request.args.get("format") == "pdf":
        return _pdf(html, f"tynda-cycle-{cycle.id}-report.pdf")
    return html


def _pdf(html, name):
    """The report page as a PDF download (WeasyPrint, print CSS)."""
    data = pdf.html_to_pdf(html, request.url_root, current_app.static_folder)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/cycles/<int:cycle_id>/export", methods=["GET", "POST"])
@roles_required("staff")
def export_cycle(cycle_id):
    """GET: a small file at once, else a page with the button; POST: queue the job."""
    cycle = _cycle(cycle_id)
    check = lambda: services.cycle_for_export(db.session, current_user, cycle.id)  # noqa: E731
    if request.method == "POST":
        return _queue("cycle", cycle, check, url_for("exports.cycle_dashboard", cycle_id=cycle.id))
    return _download("cycle", cycle, check)


# ------------------------------------------------------------------ consultations
def _draft_context(draft):
    figures = dashboards.draft_figures(db.session, draft)
    articles = [a for a in figures["articles"] if a.get("received")]
    chart = charts.bar_chart([(a["number"] or "—", a.get("received", 0)) for a in articles[:20]])
    return {"draft": draft, "f": figures, "article_chart": chart}


@bp.route("/drafts/<int:draft_id>")
@roles_required("staff", "moderator")
def draft_dashboard(draft_id):
    draft = _draft(draft_id)
    context = _draft_context(draft)
    direct = _direct("draft", comments=context["f"]["received"])
    return render_template("exports/draft.html", direct=direct, **context)


@bp.route("/drafts/<int:draft_id>/report")
@roles_required("staff", "moderator")
def draft_report(draft_id):
    draft = _draft(draft_id)
    html = render_template("exports/draft_report.html", **_draft_context(draft))
    if request.args.get("format") == "pdf":
        return _pdf(html, f"tynda-draft-{draft.id}-report.pdf")
    return html


@bp.route("/drafts/<int:draft_id>/export", methods=["GET", "POST"])
@roles_required("staff", "moderator")
def export_draft(draft_id):
    """GET: a small file at once, else a page with the button; POST: queue the job."""
    draft = _draft(draft_id)
    check = lambda: services.draft_for_export(db.session, current_user, draft.id)  # noqa: E731
    if request.method == "POST":
        return _queue("draft", draft, check, url_for("exports.draft_dashboard", draft_id=draft.id))
    return _download("draft", draft, check)


# ------------------------------------------------------------------ downloads
def _checked(subject, fmt, part, check):
    """(format, part) of a valid request for an exportable subject, or the refusal page."""
    try:
        fmt, part = services.check_request(subject, fmt, part)
        check()
    except services.ExportError as error:
        _refuse(error)
    return fmt, part


def _stream_limit():
    return current_app.config.get("EXPORT_STREAM_ROWS", services.STREAM_ROWS)


def _direct(subject, **counts):
    """{(format, part): True if it streams from the request} for the dashboard's list."""
    formats_ = services.CYCLE_FORMATS if subject == "cycle" else services.DRAFT_FORMATS
    parts = services.CYCLE_PARTS if subject == "cycle" else services.DRAFT_PARTS
    limit = _stream_limit()
    return {
        (fmt, part if fmt == "csv" else parts[0]): services.streams(
            fmt, services.row_estimate(subject, fmt, part, **counts), limit
        )
        for fmt in formats_
        for part in (parts if fmt == "csv" else parts[:1])
    }


def _download(subject, obj, check):
    """A small CSV, JSON or .pb streams; anything else is offered as a background job."""
    fmt, part = _checked(subject, request.args.get("format", ""), request.args.get("part"), check)
    rows = services.row_total(db.session, subject, obj, fmt, part)
    if not services.streams(fmt, rows, _stream_limit()):
        # A GET writes nothing: the page's button queues the job (POST).
        return render_template(
            "exports/prepare.html", subject=subject, obj=obj, fmt=fmt, part=part, rows=rows
        )
    name = services.file_name(subject, obj.id, fmt, part)
    database.start_write(db.session)
    obj = db.session.get(type(obj), obj.id)
    services.record_export(db.session, current_user, subject, obj, fmt, part, name)
    db.session.commit()
    options = {
        "lang": current_language(),
        "labels": forms.headers(),
        "sheet_titles": forms.sheet_titles(),
        "value_labels": forms.value_labels(),
    }
    bind, model, obj_id = db.session.get_bind(), type(obj), obj.id

    def generate():
        # The file is produced after the view has returned, with a database session of its
        # own that needs no Flask context: the server may iterate the body anywhere.
        with services.reading_session(bind) as session:
            target = session.get(model, obj_id)
            yield from services.build(session, subject, target, fmt, part, **options)

    return _attachment(Response(generate(), mimetype=services.MEDIA_TYPES[fmt]), name)


def _attachment(response, name):
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _queue(subject, obj, check, back):
    """Queue the export as a job and send the user to its progress page."""
    require_valid(EmptyForm())
    fmt, part = _checked(subject, request.form.get("format", ""), request.form.get("part"), check)
    payload = {
        "subject": subject,
        "subject_id": obj.id,
        "format": fmt,
        "part": part,
        "lang": current_language(),
        "actor_id": current_user.id,
        "back": back,
    }
    queued = enqueue(db.session, EXPORT_JOB, payload, actor=current_user)
    # The job page shows this link once the file is ready.
    queued.payload = dict(payload, download=url_for("exports.export_file", job_id=queued.id))
    db.session.commit()
    return redirect(url_for("jobs.status", job_id=queued.id), 303)


@bp.route("/exports/files/<int:job_id>")
@roles_required("staff", "moderator")
def export_file(job_id):
    """The file an export job wrote, for whoever may export its cycle or draft (the region
    is checked again now: a user moved to another region no longer gets it)."""
    row = db.session.get(Job, job_id)
    if row is None or row.kind != EXPORT_JOB:
        abort(404)
    payload, result = row.payload or {}, row.result or {}
    subject = payload.get("subject")
    if subject == "cycle":
        obj = _cycle(payload.get("subject_id"))
    elif subject == "draft":
        obj = _draft(payload.get("subject_id"))
    else:
        abort(404)
    if row.status != "done" or not result.get("key"):
        abort(404)
    data = get_storage().read(result["key"])
    if data is None:
        abort(410)
    fmt, part, name = result["format"], result.get("part"), result["filename"]
    database.start_write(db.session)
    obj = db.session.get(type(obj), obj.id)
    services.record_export(db.session, current_user, subject, obj, fmt, part, name)
    db.session.commit()
    return _attachment(Response(data, mimetype=services.MEDIA_TYPES[fmt]), name)


@bp.route("/exports/log")
@roles_required("staff", "moderator")
def export_log():
    return render_template(
        "exports/log.html", entries=services.export_log(db.session, current_user)
    )
