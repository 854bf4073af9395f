"""Budgeting pages of a closed vote: the live vote counts, the results (a summary of all
headings, the winners, a paged table, published versions and staff drafts), and the staff
forms that compute and publish them. Routes of the budgeting blueprint (views.bp); the
services are in budgeting/publishing.py."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import defer

from portal import charts
from portal.accounts.forms import EmptyForm
from portal.budgeting import domain, integrity, publishing, services
from portal.budgeting import headings as pots
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.forms import message
from portal.budgeting.jobs import RESULTS_JOB, queue_vote_count
from portal.budgeting.models import BudgetCycle, Proposal, VoteCountState
from portal.budgeting.views import _heading_arg, _is_staff_for, bp
from portal.errors import Refusal
from portal.extensions import db
from portal.forms import require_valid
from portal.jobs import enqueue
from portal.pagination import paginate_counted, paginate_list
from portal.permissions import require_region_access, roles_required


@bp.route("/<int:cycle_id>/counts")
def counts(cycle_id):
    """Approvals per project, for everyone (admins included) only once voting has closed."""
    cycle = db.get_or_404(BudgetCycle, cycle_id)
    user = current_user if current_user.is_authenticated else None
    if not services.counts_visible(user, cycle):
        raise Refusal(
            _("Vote counts are shown when voting has closed, so that they do not sway voters."),
            url_for("budgeting.cycle", cycle_id=cycle.id),
            _("Back to the cycle"),
        )
    state, updating = services.vote_count_state(db.session, cycle), False
    if state is None:  # new ballots since the last count, or never counted: a job counts
        queue_vote_count(db.session, cycle_id)
        db.session.commit()
        cycle = db.session.get(BudgetCycle, cycle_id)
        # Current if the job already ran (JOBS_IMMEDIATE) or another one just stored them;
        # else the last counts, however old (None if never counted), marked as updating.
        state = services.vote_count_state(db.session, cycle)
        if state is None:
            state, updating = db.session.get(VoteCountState, cycle_id), True
    page = paginate_counted(
        state.projects if state else 0,
        lambda offset, limit: services.vote_count_page(db.session, cycle, offset, limit),
    )
    return render_template(
        "budgeting/counts.html", cycle=cycle, page=page, state=state, updating=updating
    )


@bp.route("/<int:cycle_id>/results")
def results(cycle_id):
    cycle = db.get_or_404(BudgetCycle, cycle_id)
    is_staff = _is_staff_for(cycle)
    # A cycle of several headings shows one heading's results (?heading=, else the main
    # one) under a summary of them all; a one-heading cycle looks as it always did.
    all_pots = pots.headings_of(db.session, cycle)
    heading = (_heading_arg(cycle) or all_pots[0]) if len(all_pots) > 1 else None
    result = publishing.published_result(db.session, cycle, heading)
    drafts = []
    if is_staff:
        from portal.budgeting.models import CycleResult

        query = select(CycleResult).where(
            CycleResult.cycle_id == cycle.id, CycleResult.published_at.is_(None)
        )
        if heading is not None:
            query = query.where(CycleResult.heading_id == heading.id)
        drafts = db.session.scalars(
            query.order_by(CycleResult.rule, CycleResult.version.desc()).options(
                defer(CycleResult.data)
            )
        ).all()
    shown = result
    pot = heading or cycle
    if shown is None and is_staff and drafts:
        shown = next((d for d in drafts if d.rule == pot.winner_rule), drafts[0])
    context = {
        "cycle": cycle,
        "result": result,
        "shown": shown,
        "drafts": drafts,
        "versions": publishing.published_versions(db.session, cycle, heading),
        "ledger_head": integrity.head_of(db.session, cycle),
        "heading": heading,
        "headings": all_pots if heading is not None else [],
        "overview": (
            publishing.heading_overview(db.session, cycle, all_pots)
            if heading is not None
            else None
        ),
        "pot": pot,
    }
    if shown is not None:
        context.update(_result_context(cycle, shown))
        context["remaining"] = pot.budget - shown.total_cost
    return render_template(
        "budgeting/results.html",
        is_staff=is_staff,
        phase=cycle.phase(),
        form=EmptyForm(),
        **context,
    )


# Bars in the results chart; the rest is one "other projects" bar (the table has them all).
CHART_TOP = 15


def _result_context(cycle, result):
    """The summary, a chart of the top projects and one page of the table, never all rows.

    The stored result holds every project's votes; only the projects of the chart and of the
    page are read from the database. Full data is in the exports and the API.
    """
    ranked, votes, selected, data = publishing.ranking(result)
    funded_only = request.args.get("funded") == "1"
    listed = [i for i in ranked if i in selected] if funded_only else ranked
    page = paginate_list(listed)
    top = ranked[:CHART_TOP]
    wanted = set(page.items) | set(top)
    proposals = {
        p.id: p for p in db.session.scalars(select(Proposal).where(Proposal.id.in_(wanted)))
    }
    bars = [(proposals[i].title, votes.get(str(i), 0), i in selected) for i in top]
    rest = ranked[CHART_TOP:]
    if rest:
        bars.append(
            (
                _("Other projects (%(n)d)", n=len(rest)),
                sum(votes.get(str(i), 0) for i in rest),
                False,
            )
        )
    district_names = {str(d.id): d.name for d in cycle.region.districts}
    return {
        "page": page,
        "rows": [proposals[i] for i in page.items],
        "funded_only": funded_only,
        "winners": len(selected),
        "selected": selected,
        "votes": votes,
        "payments": data.get("payments") or {},
        "engine_rule": data.get("engine_rule"),
        "turnout": data["turnout"],
        "district_names": district_names,
        "chart": charts.bar_chart(bars),
        "chart_rest": len(rest),
        "remaining": cycle.budget - result.total_cost,
    }


@bp.route("/<int:cycle_id>/results/compute", methods=["POST"])
@roles_required("staff")
def compute_results(cycle_id):
    """Queue the tally as a background job (it can take minutes) and show its progress."""
    cycle = db.get_or_404(BudgetCycle, cycle_id)
    require_region_access(cycle.region_id)
    require_valid(EmptyForm())
    rules = [r for r in request.form.getlist("rule") if r in domain.WINNER_RULES] or None
    try:
        publishing.check_results_allowed(current_user, cycle, rules)
    except BudgetRuleError as error:
        flash(message(error), "error")
        return redirect(url_for("budgeting.results", cycle_id=cycle.id)), 303
    back = url_for("budgeting.results", cycle_id=cycle.id)
    payload = {"cycle_id": cycle.id, "actor_id": current_user.id, "rules": rules, "back": back}
    queued = enqueue(db.session, RESULTS_JOB, payload, actor=current_user)
    db.session.commit()
    return redirect(url_for("jobs.status", job_id=queued.id))


@bp.route("/<int:cycle_id>/results/publish", methods=["POST"])
@roles_required("staff")
def publish_results(cycle_id):
    cycle = db.get_or_404(BudgetCycle, cycle_id)
    require_region_access(cycle.region_id)
    require_valid(EmptyForm())
    try:
        publishing.publish_results(
            db.session,
            current_user,
            cycle,
            reason=request.form.get("reason", "")[:2000],
            heading=_heading_arg(cycle),
        )
    except BudgetRuleError as error:
        db.session.rollback()
        flash(message(error), "error")
        return redirect(
            url_for("budgeting.results", cycle_id=cycle.id, heading=request.args.get("heading"))
        ), 303
    db.session.commit()
    flash(_("The results are published."), "success")
    return redirect(
        url_for("budgeting.results", cycle_id=cycle.id, heading=request.args.get("heading"))
    )
