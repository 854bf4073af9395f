"""Results of a closed vote: tallying the ballots with the cycle's rules, storing each
tally as an unpublished version, publishing one (its winners become funded), and reading
the published versions. Each service takes the session and the acting user, only flushes,
never commits; a published version never changes (a correction is a new version).

No Flask imports. Refusals raise BudgetError with a stable code the views translate.
"""

from sqlalchemy import select
from sqlalchemy.orm import defer

from portal.accounts.models import utcnow
from portal.accounts.notify import notify_region, titles
from portal.budgeting import domain, headings, integrity
from portal.budgeting.actions import audit, proposal_event, require_phase, require_staff
from portal.budgeting.domain import BudgetError
from portal.budgeting.models import BallotChoice, CycleResult, Proposal
from portal.budgeting.services import ballot_projects, turnout
from portal.budgeting.winners import TallyTimeout, compute_winners


def check_results_allowed(actor, cycle, rules=None, now=None):
    """Refuse early (before a job is queued) what `tally_results` would refuse."""
    require_staff(actor, cycle.region_id)
    require_phase(cycle, now or utcnow(), "results", "implementation")
    if any(rule not in domain.WINNER_RULES for rule in rules or ()):
        raise BudgetError("rule_unknown")


def compute_results(session, actor, cycle, rules=None, now=None, deadline=None, progress=None):
    """Tally the closed vote with the cycle's winner rule (and any others asked for) and
    store the (unpublished) results: `store_results(tally_results(...))` in one go."""
    tallies = tally_results(session, actor, cycle, rules, now, deadline, progress)
    return store_results(session, actor, cycle, tallies, now)


def tally_results(
    session, actor, cycle, rules=None, now=None, deadline=None, progress=None, heading=None
):
    """Read the ballots of `heading` (default: the main one) and run the rules with its
    budget and threshold; writes nothing, so it can run in a read snapshot.

    Returns [(rule, data, total_cost)]. Every rule is computed as asked or not at all:
    there is no fallback to another rule, and past `deadline` seconds the tally raises
    BudgetError("tally_timeout"). `progress(done, total, message)` (a background job's)
    hears how far the tallies got, in thousandths per rule."""
    now = now or utcnow()
    require_staff(actor, cycle.region_id)
    require_phase(cycle, now, "results", "implementation")
    heading = headings.resolve(session, cycle, heading)
    rules = rules or [heading.winner_rule]
    if any(rule not in domain.WINNER_RULES for rule in rules):
        raise BudgetError("rule_unknown")
    projects = {p.id: p.cost for p in ballot_projects(session, cycle, heading)}
    ballots = {}
    # Choices reached through the heading's projects (a ballot holds only projects of its
    # own heading): an index range per project, whatever the planner guesses about ballots.
    for ballot_id, proposal_id in session.execute(
        select(BallotChoice.ballot_id, BallotChoice.proposal_id)
        .join(Proposal, Proposal.id == BallotChoice.proposal_id)
        .where(Proposal.cycle_id == cycle.id, Proposal.heading_id == heading.id)
    ):
        ballots.setdefault(ballot_id, set()).add(proposal_id)
    cycle_turnout = turnout(session, cycle, heading)
    tallies = []
    for number, rule in enumerate(rules):
        report = None
        if progress is not None:
            progress(1000 * number, 1000 * len(rules), rule)

            def report(share, number=number, rule=rule):
                progress(1000 * number + int(1000 * share), 1000 * len(rules), rule)

        try:
            winners = compute_winners(
                projects,
                ballots.values(),
                heading.budget,
                rule,
                heading.min_votes,
                deadline=deadline,
                progress=report,
            )
        except TallyTimeout:
            raise BudgetError("tally_timeout") from None
        data = {
            "selected": winners.selected,
            "votes": {str(k): v for k, v in winners.votes.items()},
            "costs": {str(k): v for k, v in projects.items()},
            "payments": {str(k): v for k, v in winners.payments.items()},
            "turnout": cycle_turnout,
            "min_votes": heading.min_votes,
            "engine_rule": winners.engine_rule,
            "heading_id": heading.id,
        }
        tallies.append((rule, data, winners.total_cost))
    return tallies


def store_results(session, actor, cycle, tallies, now=None):
    """Store tallies from `tally_results` as the cycle's unpublished results (flush only).

    Voting is closed, so the ledger head cannot move between the tally and this write: it is
    frozen here and recorded beside every result, to be published with it."""
    now = now or utcnow()
    require_staff(actor, cycle.region_id)
    require_phase(cycle, now, "results", "implementation")
    integrity.freeze(cycle, now, session)
    integrity.freeze_ledger(session, cycle, now)
    size, root, _frozen = integrity.head_of(session, cycle)
    ledger_algorithm = integrity.ledger.ALGORITHM
    results = []
    for rule, data, total_cost in tallies:
        data["ledger"] = {"size": size, "root": root, "algorithm": ledger_algorithm}
        heading_id = data.get("heading_id") or headings.resolve(session, cycle).id
        result = _draft_result(session, cycle, rule, heading_id)
        result.data = data
        result.total_cost = total_cost
        result.computed_at = now
        result.computed_by_id = actor.id
        session.add(result)
        results.append(result)
        audit(
            session,
            actor,
            "budgeting.results_compute",
            cycle,
            rule=rule,
            version=result.version,
            selected=data["selected"],
            heading=heading_id,
        )
    session.flush()
    return results


def _latest_result(session, cycle, rule, heading_id):
    return session.scalar(
        select(CycleResult)
        .where(
            CycleResult.cycle_id == cycle.id,
            CycleResult.heading_id == heading_id,
            CycleResult.rule == rule,
        )
        .order_by(CycleResult.version.desc())
        .limit(1)
    )


def _draft_result(session, cycle, rule, heading_id):
    """The unpublished version to (re)write: a published one is never touched; computing
    again after publication prepares the next version (a correction) instead."""
    latest = _latest_result(session, cycle, rule, heading_id)
    if latest is not None and latest.published_at is None:
        return latest
    version = latest.version + 1 if latest is not None else 1
    return CycleResult(cycle_id=cycle.id, heading_id=heading_id, rule=rule, version=version)


def publish_results(session, actor, cycle, rule=None, now=None, reason="", heading=None):
    """Publish the latest computed version of the winner rule of `heading` (default: the
    main one); its winners become funded.

    A published version never changes. Publishing a later version is a correction and needs
    a public `reason`; the earlier versions stay visible.
    """
    now = now or utcnow()
    require_staff(actor, cycle.region_id)
    require_phase(cycle, now, "results", "implementation")
    heading = headings.resolve(session, cycle, heading)
    rule = rule or heading.winner_rule
    result = _latest_result(session, cycle, rule, heading.id)
    if result is None:
        raise BudgetError("not_computed")
    if result.published_at is not None:
        raise BudgetError("already_published")
    reason = (reason or "").strip()
    if result.version > 1:
        if len(reason) < 10:
            raise BudgetError("correction_reason")
        result.reason = reason
    result.published_at = now
    result.published_by_id = actor.id
    audit(
        session,
        actor,
        "budgeting.results_publish",
        cycle,
        rule=rule,
        version=result.version,
        reason=reason,
        selected=result.data["selected"],
        heading=heading.id,
    )
    winners = set(result.data["selected"])
    for proposal in ballot_projects(session, cycle, heading):
        proposal.funded = proposal.id in winners
        if proposal.funded and proposal.implementation_status is None:
            proposal.implementation_status = "planned"
            proposal_event(session, proposal, actor, "funded", now=now)
    notify_region(
        session,
        cycle.region_id,
        "results_published",
        params={"title": titles(cycle)},
        link=f"/budget/{cycle.id}/results",
    )
    session.flush()
    return result


def published_result(session, cycle, heading=None):
    """The newest published version (of one heading, if given), of the winner rule first."""
    query = select(CycleResult).where(
        CycleResult.cycle_id == cycle.id, CycleResult.published_at.is_not(None)
    )
    winner_rule = cycle.winner_rule
    if heading is not None:
        query = query.where(CycleResult.heading_id == heading.id)
        winner_rule = heading.winner_rule
    return session.scalar(
        query.order_by(
            CycleResult.rule != winner_rule, CycleResult.rule, CycleResult.version.desc()
        )
        .options(defer(CycleResult.data))  # the big `data` is read only when used
        .limit(1)
    )


def published_versions(session, cycle, heading=None):
    """Every published version (newest first), for the public record of corrections."""
    query = select(CycleResult).where(
        CycleResult.cycle_id == cycle.id, CycleResult.published_at.is_not(None)
    )
    if heading is not None:
        query = query.where(CycleResult.heading_id == heading.id)
    return session.scalars(
        query.order_by(CycleResult.published_at.desc(), CycleResult.id.desc()).limit(50)
    ).all()


# Parsed and ranked results by (result id, computed at): a stored result never changes
# without a new computed_at, so a worker ranks each one once, not on every page view.
_RANKINGS = {}


def ranking(result):
    """(project ids by votes, votes by str id, selected ids, payments/turnout/engine_rule
    and costs by str id)."""
    key = (result.id, result.cycle_id, result.rule, result.computed_at, result.total_cost)
    if key not in _RANKINGS:
        data = result.data
        votes = data["votes"]
        ranked = sorted((int(k) for k in data["costs"]), key=lambda i: (-votes.get(str(i), 0), i))
        small = {k: data.get(k) for k in ("payments", "turnout", "engine_rule", "costs")}
        if len(_RANKINGS) >= 16:
            _RANKINGS.pop(next(iter(_RANKINGS)))
        _RANKINGS[key] = (ranked, votes, frozenset(data["selected"]), small)
    return _RANKINGS[key]


def heading_overview(session, cycle, pots, with_results=True):
    """Each heading of `pots` (the cycle's, in order) with its budget and ballots and, with
    results, its published outcome (spent, number of winners), and the whole cycle's totals:
    the summary table of the results page and of the staff dashboard."""
    rows = headings.summary(session, cycle)
    for row, heading in zip(rows, pots):
        published = published_result(session, cycle, heading) if with_results else None
        row["spent"] = published.total_cost if published is not None else None
        row["winners"] = len(ranking(published)[2]) if published is not None else None
    done = [r for r in rows if r["spent"] is not None]
    return {
        "rows": rows,
        "budget": sum(r["budget"] for r in rows),
        "ballots": sum(r["ballots"] for r in rows),
        "spent": sum(r["spent"] for r in done) if done else None,
        "winners": sum(r["winners"] for r in done) if done else None,
    }
