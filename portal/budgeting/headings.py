"""Headings: the pots of one budget cycle (city-wide, or one per district). No Flask; flush only.

Every cycle has a main heading (position 0) that mirrors the cycle's own budget and rules
(see models), so code that knows nothing of headings keeps working on a one-heading cycle.
Staff add further headings before voting opens; each has its own budget, ballot rule, k,
threshold, winner rule and projects, and is tallied on its own. A resident takes part in a
city-wide heading and in their own district's: one ballot (and one receipt) per heading.
"""

from sqlalchemy import func, select

from portal.audit import code_of, record
from portal.budgeting import domain, figures, integrity
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.models import BudgetHeading, Proposal
from portal.textcheck import bad_field

NAME_LIMIT = 200


class HeadingError(BudgetRuleError):
    """A refused heading action (stable code, like the other budgeting refusals)."""


def headings_of(session, cycle):
    """The cycle's headings, the main one first."""
    return session.scalars(
        select(BudgetHeading)
        .where(BudgetHeading.cycle_id == cycle.id)
        .order_by(BudgetHeading.position)
    ).all()


def count(session, cycle):
    return session.scalar(select(func.count()).where(BudgetHeading.cycle_id == cycle.id))


def main_heading(session, cycle):
    return session.scalar(
        select(BudgetHeading).where(BudgetHeading.cycle_id == cycle.id, BudgetHeading.position == 0)
    )


def resolve(session, cycle, heading=None):
    """`heading` (an object or an id) checked to belong to `cycle`; None gives the main one.

    The object may be a BudgetHeading or the plain row of one (services.VotingHeading)."""
    if heading is None:
        found = main_heading(session, cycle)
    elif isinstance(heading, BudgetHeading) or hasattr(heading, "cycle_id"):
        found = heading
    else:
        try:
            found = session.get(BudgetHeading, int(heading))
        except (TypeError, ValueError):
            found = None
    if found is None or found.cycle_id != cycle.id:
        raise HeadingError("heading_unknown")
    return found


def by_name(session, cycle, name):
    return session.scalar(
        select(BudgetHeading).where(
            BudgetHeading.cycle_id == cycle.id, BudgetHeading.name == (name or "").strip()
        )
    )


def may_take_part(user, cycle, heading):
    """Verified residents of the cycle's region; a district's heading, its residents only."""
    if user is None or not user.is_verified_in(cycle.region_id):
        return False
    return heading.district_id is None or user.district_id == heading.district_id


def open_to(session, user, cycle):
    """The headings `user` may propose and vote in (city-wide ones and their district's)."""
    return [h for h in headings_of(session, cycle) if may_take_part(user, cycle, h)]


def check_proposal(heading, clean):
    """A project of a district's heading is in that district and within its cost cap."""
    if heading.district_id is not None:
        if clean.get("district_id") not in (None, heading.district_id):
            raise HeadingError("district_region")
        clean["district_id"] = heading.district_id
    if heading.cost_cap is not None and clean["estimated_cost"] > heading.cost_cap:
        raise HeadingError("cost_over_cap", cap=heading.cost_cap)
    return clean


def _require_staff(actor, region_id):
    if actor is None or not actor.works_for(region_id) or actor.role == "moderator":
        raise HeadingError("forbidden")


def add_heading(
    session,
    actor,
    cycle,
    *,
    name,
    budget,
    district_id=None,
    ballot_rule="knapsack",
    max_choices=None,
    min_votes=None,
    winner_rule="greedy",
    cost_cap=None,
    now=None,
):
    """Staff add a heading to a cycle whose rules are not frozen yet (before voting)."""
    _require_staff(actor, cycle.region_id)
    if integrity.is_frozen(cycle, now):
        raise HeadingError("rules_frozen", field="headings")
    heading = BudgetHeading(cycle_id=cycle.id)
    _apply(
        session,
        cycle,
        heading,
        name=name,
        budget=budget,
        district_id=district_id,
        ballot_rule=ballot_rule,
        max_choices=max_choices,
        min_votes=min_votes,
        winner_rule=winner_rule,
        cost_cap=cost_cap,
    )
    last = session.scalar(
        select(func.max(BudgetHeading.position)).where(BudgetHeading.cycle_id == cycle.id)
    )
    heading.position = (last or 0) + 1
    session.add(heading)
    session.flush()
    record(
        session,
        actor,
        "budgeting.heading_create",
        target=f"cycle:{cycle.id}",
        details={"heading": heading.id, "name": heading.name, "budget": heading.budget},
        region_code=code_of(cycle.region),
    )
    return heading


def remove_heading(session, actor, cycle, heading, now=None):
    """Staff remove a heading added by mistake: not the main one, not once voting has
    opened, and only while no project was proposed in it."""
    _require_staff(actor, cycle.region_id)
    heading = resolve(session, cycle, heading)
    if heading.is_main:
        raise HeadingError("heading_main")
    if integrity.is_frozen(cycle, now):
        raise HeadingError("rules_frozen", field="headings")
    used = session.scalar(select(Proposal.id).where(Proposal.heading_id == heading.id).limit(1))
    if used is not None:
        raise HeadingError("heading_not_empty")
    record(
        session,
        actor,
        "budgeting.heading_remove",
        target=f"cycle:{cycle.id}",
        details={"heading": heading.id, "name": heading.name},
        region_code=code_of(cycle.region),
    )
    session.delete(heading)
    session.flush()


def _apply(
    session,
    cycle,
    heading,
    *,
    name,
    budget,
    district_id,
    ballot_rule,
    max_choices,
    min_votes,
    winner_rule,
    cost_cap,
):
    name = " ".join((name or "").split())
    if bad_field(single={"name": name}) is not None:
        raise HeadingError("control_chars", field="name")
    if not name:
        raise HeadingError("heading_name_required")
    if len(name) > NAME_LIMIT:
        raise HeadingError("title_long")
    other = by_name(session, cycle, name)
    if other is not None and other is not heading:
        raise HeadingError("heading_name_taken")
    heading.name = name
    heading.budget = domain.parse_tenge(budget)
    heading.cost_cap = None if cost_cap in (None, "") else domain.parse_tenge(cost_cap)
    if heading.cost_cap is not None and heading.cost_cap > heading.budget:
        raise HeadingError("cap_over_budget")
    if ballot_rule not in domain.BALLOT_RULES or winner_rule not in domain.WINNER_RULES:
        raise HeadingError("rule_unknown")
    heading.ballot_rule, heading.winner_rule = ballot_rule, winner_rule
    if ballot_rule == "k_approval":
        if not max_choices or int(max_choices) < 1:
            raise HeadingError("k_required")
        heading.max_choices = int(max_choices)
    else:
        heading.max_choices = None
    if min_votes not in (None, "") and int(min_votes) < 0:
        raise HeadingError("min_votes")
    heading.min_votes = None if min_votes in (None, "") else int(min_votes)
    district_id = district_id or None
    if district_id is not None and district_id not in {d.id for d in cycle.region.districts}:
        raise HeadingError("district_region")
    heading.district_id = district_id


def summary(session, cycle):
    """One dict per heading: its rules with the number of projects on its ballot and of
    ballots cast in it (a grouped count and the cached turnout, whatever the number of
    headings)."""
    projects = dict(
        session.execute(
            select(Proposal.heading_id, func.count())
            .where(Proposal.cycle_id == cycle.id, Proposal.status == "feasible")
            .group_by(Proposal.heading_id)
        ).all()
    )
    # Ballots per heading from the cached turnout (figures): not 200,000 ballots per view.
    ballots = {h: n for h, n in figures.turnout(session, cycle)["heading"]}
    return [
        {
            "id": h.id,
            "name": h.name,
            "district_id": h.district_id,
            "budget": h.budget,
            "cost_cap": h.cost_cap,
            "ballot_rule": h.ballot_rule,
            "max_choices": h.max_choices,
            "min_votes": h.min_votes,
            "winner_rule": h.winner_rule,
            "projects": projects.get(h.id, 0),
            "ballots": ballots.get(h.id, 0),
        }
        for h in headings_of(session, cycle)
    ]
