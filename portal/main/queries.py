"""Small read-only queries the home page makes of other capabilities' models.

Each returns a bounded number of rows in a fixed number of statements, whatever the size of
the region: the home page is the most visited page and must not grow with the data.
"""

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from portal.budgeting import figures
from portal.budgeting.domain import PHASES
from portal.budgeting.models import BudgetCycle, CycleResult, Proposal
from portal.consultations.models import Comment, CommentTally, Draft
from portal.formatting import local_date

CYCLE_LIMIT = 24
DRAFT_LIMIT = 8
RECENT_LIMIT = 5
# The date shown beside a cycle in each phase: when that phase ends (or the cycle starts).
PHASE_DATE = {
    "draft": "proposals_open_at",
    "proposals": "review_open_at",
    "review": "voting_open_at",
    "voting": "voting_close_at",
    "results": "voting_close_at",
    "implementation": "implementation_at",
}


def cycles_by_phase(session, region_id, now):
    """{phase: [{cycle, date, proposals, ballots}]} for the region's latest cycles."""
    cycles = session.scalars(
        select(BudgetCycle)
        .where(BudgetCycle.region_id == region_id)
        .order_by(BudgetCycle.voting_open_at.desc(), BudgetCycle.id.desc())
        .limit(CYCLE_LIMIT)
    ).all()
    ids = [c.id for c in cycles]
    proposals, ballots = {}, {}
    if ids:
        proposals = dict(
            session.execute(
                select(Proposal.cycle_id, func.count())
                .where(Proposal.cycle_id.in_(ids), Proposal.status != "withdrawn")
                .group_by(Proposal.cycle_id)
            ).all()
        )
        # From the cached turnout (portal/budgeting/figures): a city cycle's 200,000 ballots
        # are not counted again on every visit to the home page.
        ballots = figures.ballot_totals(session, ids)
    grouped = {phase: [] for phase in PHASES}
    for cycle in cycles:
        phase = cycle.phase(now)
        grouped[phase].append(
            {
                "cycle": cycle,
                "date": getattr(cycle, PHASE_DATE[phase]),
                "proposals": proposals.get(cycle.id, 0),
                "ballots": ballots.get(cycle.id, 0),
            }
        )
    return {phase: rows for phase, rows in grouped.items() if rows}


def _draft_region(region_id):
    """The region's own drafts and the national ones (region_id NULL)."""
    if region_id is None:
        return Draft.region_id.is_(None)
    return or_(Draft.region_id == region_id, Draft.region_id.is_(None))


def open_drafts(session, region_id, now):
    """Drafts open for comment, soonest deadline first, with the local days left."""
    drafts = session.scalars(
        select(Draft)
        .where(Draft.status == "open", Draft.period_end > now, _draft_region(region_id))
        .order_by(Draft.period_end, Draft.id)
        .limit(DRAFT_LIMIT)
    ).all()
    today = local_date(now)
    # period_end is exclusive: the last open day is the local day of the instant before it.
    return [
        {"draft": d, "days_left": max((local_date(d.period_end) - today).days, 0)} for d in drafts
    ]


def recent_results(session, region_id):
    """The region's most recently published cycle results."""
    return session.execute(
        select(BudgetCycle, CycleResult.published_at, CycleResult.total_cost)
        .join(CycleResult, CycleResult.cycle_id == BudgetCycle.id)
        .where(BudgetCycle.region_id == region_id, CycleResult.published_at.is_not(None))
        .order_by(CycleResult.published_at.desc())
        .limit(RECENT_LIMIT)
    ).all()


def recent_answers(session, region_id):
    """The latest published answers to comments on the region's and national drafts."""
    return session.scalars(
        select(Comment)
        .join(Draft, Draft.id == Comment.draft_id)
        .options(joinedload(Comment.draft), joinedload(Comment.article))
        .where(
            Comment.status == "published",
            Comment.answered_at.is_not(None),
            _draft_region(region_id),
        )
        .order_by(Comment.answered_at.desc(), Comment.id.desc())
        .limit(RECENT_LIMIT)
    ).all()


def overdue_count(session, region_id, now):
    """Published comments still unanswered after their draft's answer deadline (from the
    comment counters: a few rows per draft, however many comments)."""
    return session.scalar(
        select(func.coalesce(func.sum(CommentTally.comments), 0))
        .select_from(CommentTally)
        .join(Draft, Draft.id == CommentTally.draft_id)
        .where(
            CommentTally.status == "published",
            CommentTally.decision == "",
            Draft.answer_due.is_not(None),
            Draft.answer_due <= now,
            _draft_region(region_id),
        )
    )
