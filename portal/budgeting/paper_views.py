"""Budgeting pages of the akimat's paper desks: a paper ballot typed in at a desk, and
tally-sheet batches (typed in, checked, confirmed or rejected by a second person). Routes of
the budgeting blueprint (views.bp); the services are in budgeting/paper.py."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.accounts.forms import EmptyForm
from portal.accounts.models import iin_key
from portal.budgeting import domain, paper, services
from portal.budgeting import headings as pots
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.forms import BatchRejectForm, PaperBallotForm, PaperBatchForm, message
from portal.budgeting.models import BudgetCycle, PaperBatch, Proposal
from portal.budgeting.views import (
    CONFLICT_CODES,
    _ballot_key,
    _ballot_page,
    _browsing,
    _by_name,
    _heading_arg,
    _secret,
    _status_for,
    bp,
)
from portal.extensions import db
from portal.forms import require_valid
from portal.observability import metrics
from portal.pagination import paginate
from portal.permissions import require_region_access, roles_required


def _desk(cycle_id, form_class):
    """(cycle, form, headings, heading) of a paper desk's page: the cycle, for staff of its
    region only; the desk's form with the cycle's districts; the cycle's headings and the
    one the desk enters, one at a time (?heading=, else the main one)."""
    cycle = db.get_or_404(BudgetCycle, cycle_id)
    require_region_access(cycle.region_id)
    form = form_class()
    form.district_id.choices = _district_choices(cycle)
    all_pots = pots.headings_of(db.session, cycle)
    return cycle, form, all_pots, _heading_arg(cycle) or all_pots[0]


@bp.route("/<int:cycle_id>/paper", methods=["GET", "POST"])
@roles_required("staff")
def paper_ballot(cycle_id):
    cycle, form, all_pots, heading = _desk(cycle_id, PaperBallotForm)
    where = {"heading": heading, "open_to": all_pots}
    if request.method == "GET":
        form.district_id.data = cycle.district_id or 0
        return _ballot_page(cycle, paper_form=form, **where)
    chosen = request.form.getlist("project")
    if _browsing():
        form.iin.errors = []
        return _ballot_page(cycle, chosen, paper_form=form, **where)
    if not form.validate_on_submit():
        return _ballot_page(cycle, chosen, None, 422, paper_form=form, **where)
    try:
        stored = paper.enter_ballot(
            db.session,
            current_user,
            cycle,
            chosen,
            iin=form.iin.data,
            iin_key=iin_key(),
            secret=_secret(),
            ballot_key=_ballot_key(),
            declared=form.declared.data,
            district_id=form.district_id.data or None,
            heading=heading,
        )
    except BudgetRuleError as error:
        db.session.rollback()
        text = message(error)
        if error.code == "other_channel":
            text = {
                "online": _(
                    "This resident has already voted online in this cycle. One person votes "
                    "once: their online ballot counts, so do not enter a paper one."
                ),
                "paper": _(
                    "This resident has already voted on paper in this cycle. One person votes "
                    "once: their paper ballot counts, so do not enter another."
                ),
            }.get(error.details.get("channel"), text)
        status = 422 if error.code in DESK_INPUT_CODES else _status_for(error)
        return _ballot_page(cycle, chosen, text, status, paper_form=form, **where)
    db.session.commit()
    metrics.ballot_cast("paper")
    flash(
        _(
            "The paper ballot is recorded. Receipt code: %(code)s",
            code=domain.group_receipt(stored.receipt),
        ),
        "success",
    )
    several = len(all_pots) > 1
    return redirect(
        url_for(
            "budgeting.paper_ballot", cycle_id=cycle.id, heading=heading.id if several else None
        )
    )


# What the desk typed or was told that the resident may fix there and then (not a 403/409).
DESK_INPUT_CODES = {
    "not_resident",
    "iin_invalid",
    "other_region",
    "other_district",
    "residence_undeclared",
    "district_region",
}


def _district_choices(cycle):
    districts = [cycle.district] if cycle.district_id else cycle.region.districts
    return [(0, _("Not stated"))] + [(d.id, d.name) for d in sorted(districts, key=_by_name)]


def _batch_of(cycle_id, batch_id):
    batch = db.get_or_404(PaperBatch, batch_id)
    if batch.cycle_id != cycle_id:
        abort(404)
    require_region_access(batch.cycle.region_id)
    return batch


@bp.route("/<int:cycle_id>/paper/batches", methods=["GET", "POST"])
@roles_required("staff")
def paper_batches(cycle_id):
    """A paper station's tally sheet: its ballots typed as rows, waiting for a second check."""
    cycle, form, all_pots, heading = _desk(cycle_id, PaperBatchForm)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            rows, errors = paper.parse_sheet(form.rows.data)
            try:
                if errors:
                    line, code = errors[0]
                    raise BudgetRuleError("batch_row", line=line, problem=BudgetRuleError(code))
                batch = paper.enter_batch(
                    db.session,
                    current_user,
                    cycle,
                    station=form.station.data,
                    district_id=form.district_id.data or None,
                    rows=rows,
                    heading=heading,
                )
            except BudgetRuleError as error:
                db.session.rollback()
                form.form_errors.append(message(error))
                status = 409 if error.code in CONFLICT_CODES else 422
            else:
                db.session.commit()
                flash(
                    _(
                        "The batch of %(count)s ballots is saved. It counts only after another "
                        "staff member of the region confirms it.",
                        count=batch.size,
                    ),
                    "success",
                )
                return redirect(
                    url_for("budgeting.paper_batch", cycle_id=cycle.id, batch_id=batch.id)
                )
    elif cycle.district_id or heading.district_id:
        form.district_id.data = cycle.district_id or heading.district_id
    page = paginate(
        paper.batches_query(cycle).options(
            joinedload(PaperBatch.entered_by),
            joinedload(PaperBatch.decided_by),
            joinedload(PaperBatch.heading),
        )
    )
    projects = paginate(
        services.ballot_query(cycle, heading), page=request.args.get("projects") or 1
    )
    return render_template(
        "budgeting/paper_batches.html",
        cycle=cycle,
        form=form,
        page=page,
        projects=projects,
        heading=heading,
        headings=all_pots,
        phase=cycle.phase(),
        pending=paper.pending_count(db.session, cycle),
    ), status


@bp.route("/<int:cycle_id>/paper/batches/<int:batch_id>")
@roles_required("staff")
def paper_batch(cycle_id, batch_id):
    batch = _batch_of(cycle_id, batch_id)
    return _batch_page(batch)


def _batch_page(batch, error=None, status=200, reject_form=None):
    rows = paginate(paper.batch_rows(batch))
    ids = {pid for entry in rows.items for pid in entry.choices}
    titles = dict(
        db.session.execute(select(Proposal.id, Proposal.title).where(Proposal.id.in_(ids)))
        .tuples()
        .all()
    )
    return render_template(
        "budgeting/paper_batch.html",
        cycle=batch.cycle,
        batch=batch,
        rows=rows,
        titles=titles,
        error=error,
        own=batch.entered_by_id == current_user.id,
        several_headings=pots.count(db.session, batch.cycle) > 1,
        confirm_form=EmptyForm(),
        reject_form=reject_form or BatchRejectForm(),
    ), status


@bp.route("/<int:cycle_id>/paper/batches/<int:batch_id>/confirm", methods=["POST"])
@roles_required("staff")
def confirm_paper_batch(cycle_id, batch_id):
    batch = _batch_of(cycle_id, batch_id)
    require_valid(EmptyForm())
    try:
        paper.confirm_batch(db.session, current_user, batch, secret=_secret())
    except BudgetRuleError as error:
        db.session.rollback()
        status = 403 if error.code == "batch_own" else _status_for(error)
        if error.code == "batch_decided":
            status = 409
        return _batch_page(db.session.get(PaperBatch, batch_id), message(error), status)
    db.session.commit()
    metrics.BALLOTS.labels("paper").inc(batch.size)
    flash(
        _("The batch is confirmed: its %(count)s ballots now count.", count=batch.size), "success"
    )
    return redirect(url_for("budgeting.paper_batch", cycle_id=cycle_id, batch_id=batch_id))


@bp.route("/<int:cycle_id>/paper/batches/<int:batch_id>/reject", methods=["POST"])
@roles_required("staff")
def reject_paper_batch(cycle_id, batch_id):
    batch = _batch_of(cycle_id, batch_id)
    form = BatchRejectForm()
    if not form.validate_on_submit():
        return _batch_page(batch, None, 422, reject_form=form)
    try:
        paper.reject_batch(db.session, current_user, batch, reason=form.reason.data)
    except BudgetRuleError as error:
        db.session.rollback()
        status = 409 if error.code == "batch_decided" else _status_for(error)
        return _batch_page(db.session.get(PaperBatch, batch_id), message(error), status, form)
    db.session.commit()
    flash(_("The batch is rejected; its ballots were discarded."), "success")
    return redirect(url_for("budgeting.paper_batch", cycle_id=cycle_id, batch_id=batch_id))
