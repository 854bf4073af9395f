"""Figures for the staff dashboards and the akim's printable reports. No Flask here.

Everything is an aggregate: counts by category, district, age band, sex, channel and day.
Per-project vote counts of a cycle still in voting are left out (see `counts_shown`).
"""

import statistics
from collections import Counter, defaultdict

from sqlalchemy import func, select

from portal.accounts.models import User, utcnow
from portal.budgeting.models import Ballot, BallotChoice, BudgetCycle, CycleResult, Proposal
from portal.budgeting.services import ballot_projects, counts_visible
from portal.consultations.models import Article, Campaign, Comment, Draft
from portal.consultations.services import effective_status
from portal.exports.services import AGE_BANDS, age_band, plain_text

BAND_ORDER = [name for _low, _high, name in AGE_BANDS] + ["60+"]


# ------------------------------------------------------------------ cycles
def cycle_figures(session, cycle, user, now=None):
    now = now or utcnow()
    phase = cycle.phase(now)
    by_category = Counter()
    by_status = Counter()
    by_district = Counter()
    for category, status, district_id, n in session.execute(
        select(Proposal.category, Proposal.status, Proposal.district_id, func.count())
        .where(Proposal.cycle_id == cycle.id)
        .group_by(Proposal.category, Proposal.status, Proposal.district_id)
    ):
        by_category[category] += n
        by_status[status] += n
        by_district[district_id] += n

    ballots_by_district = Counter()
    by_channel = Counter()
    for channel, district_id, n in session.execute(
        select(Ballot.channel, Ballot.district_id, func.count())
        .where(Ballot.cycle_id == cycle.id)
        .group_by(Ballot.channel, Ballot.district_id)
    ):
        by_channel[channel] += n
        ballots_by_district[district_id] += n
    residents_by_district = Counter(
        dict(
            session.execute(
                select(User.district_id, func.count())
                .where(User.verified_region_id == cycle.region_id)
                .group_by(User.district_id)
            ).all()
        )
    )
    by_band_sex = defaultdict(Counter)
    year = cycle.voting_open_at.year
    for birth_year, sex, n in session.execute(
        select(User.birth_year, User.sex, func.count())
        .join(Ballot, Ballot.voter_id == User.id)
        .where(Ballot.cycle_id == cycle.id)
        .group_by(User.birth_year, User.sex)
    ):
        by_band_sex[age_band(birth_year, year)][sex] += n
    per_day = [
        (str(day), n)
        for day, n in session.execute(
            select(func.date(Ballot.created_at), func.count())
            .where(Ballot.cycle_id == cycle.id)
            .group_by(func.date(Ballot.created_at))
            .order_by(func.date(Ballot.created_at))
        )
    ]
    figures = {
        "phase": phase,
        "proposals_total": sum(by_status.values()),
        "by_category": dict(by_category),
        "by_status": dict(by_status),
        "proposals_by_district": dict(by_district),
        "ballots": sum(by_channel.values()),
        "by_channel": dict(by_channel),
        "ballots_by_district": dict(ballots_by_district),
        "residents_by_district": dict(residents_by_district),
        "residents": sum(residents_by_district.values()),
        "by_band_sex": {
            band: dict(by_band_sex[band]) for band in BAND_ORDER if band in by_band_sex
        },
        "per_day": per_day,
        "counts_shown": counts_visible(user, cycle, now) and phase != "voting",
        "results": [],
        "result": None,
    }
    if figures["counts_shown"]:
        figures.update(_results(session, cycle))
    return figures


def _results(session, cycle):
    results = {
        r.rule: r
        for r in session.scalars(select(CycleResult).where(CycleResult.cycle_id == cycle.id))
    }
    result = results.get(cycle.winner_rule) or next(iter(results.values()), None)
    counts = dict(
        session.execute(
            select(BallotChoice.proposal_id, func.count())
            .join(Ballot, Ballot.id == BallotChoice.ballot_id)
            .where(Ballot.cycle_id == cycle.id)
            .group_by(BallotChoice.proposal_id)
        ).all()
    )
    selected = set(result.data.get("selected", ())) if result else set()
    rows = [
        {"id": p.id, "title": p.title, "cost": p.cost, "votes": counts.get(p.id, 0),
         "won": p.id in selected}
        for p in ballot_projects(session, cycle)
    ]  # fmt: skip
    rows.sort(key=lambda r: (-r["votes"], r["id"]))
    return {"results": rows, "result": result, "rules": sorted(results)}


# ------------------------------------------------------------------ consultations
def draft_figures(session, draft, now=None):
    now = now or utcnow()
    status_counts = dict(
        session.execute(
            select(Comment.status, func.count())
            .where(Comment.draft_id == draft.id)
            .group_by(Comment.status)
        ).all()
    )
    answered = session.scalar(
        select(func.count()).where(Comment.draft_id == draft.id, Comment.decision.is_not(None))
    )
    decisions = dict(
        session.execute(
            select(Comment.decision, func.count())
            .where(Comment.draft_id == draft.id, Comment.decision.is_not(None))
            .group_by(Comment.decision)
        ).all()
    )
    overdue = 0
    if draft.answer_due is not None and now >= draft.answer_due:
        overdue = session.scalar(
            select(func.count()).where(
                Comment.draft_id == draft.id,
                Comment.status == "published",
                Comment.decision.is_(None),
            )
        )
    waits = [
        (answered_at - created_at).total_seconds() / 86400
        for created_at, answered_at in session.execute(
            select(Comment.created_at, Comment.answered_at).where(
                Comment.draft_id == draft.id, Comment.answered_at.is_not(None)
            )
        )
    ]
    answer_days = None
    if waits:
        waits.sort()
        answer_days = {
            "median": round(statistics.median(waits), 1),
            "p90": round(waits[min(len(waits) - 1, int(len(waits) * 0.9))], 1),
            "max": round(waits[-1], 1),
        }
    per_article = defaultdict(Counter)
    for article_id, stance, status, n in session.execute(
        select(Comment.article_id, Comment.stance, Comment.status, func.count())
        .where(Comment.draft_id == draft.id)
        .group_by(Comment.article_id, Comment.stance, Comment.status)
    ):
        entry = per_article[article_id]
        entry["received"] += n
        if status == "published":
            entry["published"] += n
            entry[stance] += n
    articles = session.execute(
        select(Article.id, Article.number, Article.title)
        .where(Article.draft_id == draft.id)
        .order_by(Article.position)
    ).all()
    article_rows = [
        {"id": a.id, "number": a.number, "title": a.title, **per_article.get(a.id, Counter())}
        for a in articles
    ]
    if None in per_article:
        article_rows.insert(0, {"id": None, "number": None, "title": "", **per_article[None]})
    campaigns = []
    for campaign in session.scalars(
        select(Campaign)
        .where(Campaign.draft_id == draft.id)
        .order_by(Campaign.size.desc())
        .limit(10)
    ):
        representative = (
            session.get(Comment, campaign.representative_id) if campaign.representative_id else None
        )
        text = ""
        if representative is not None and representative.status == "published":
            text = plain_text(representative.text)
        campaigns.append({"id": campaign.id, "size": campaign.size, "text": text[:300]})
    return {
        "status": effective_status(draft, now),
        "received": sum(status_counts.values()),
        "pending": status_counts.get("pending", 0),
        "published": status_counts.get("published", 0),
        "rejected": status_counts.get("rejected", 0),
        "hidden": status_counts.get("hidden", 0),
        "answered": answered,
        "decisions": decisions,
        "overdue": overdue,
        "answer_days": answer_days,
        "articles": article_rows,
        "campaigns": campaigns,
    }


def overdue_answers(session, region_id, now=None):
    """Published comments on the region's drafts still unanswered after the deadline."""
    now = now or utcnow()
    return session.scalar(
        select(func.count())
        .select_from(Comment)
        .join(Draft, Draft.id == Comment.draft_id)
        .where(
            Draft.region_id == region_id,
            Comment.status == "published",
            Comment.decision.is_(None),
            Draft.answer_due.is_not(None),
            Draft.answer_due <= now,
        )
    )


# ------------------------------------------------------------------ region overview
def overview(session, region_ids, now=None):
    """Open cycles and drafts of the regions (None: every region) and what needs action."""
    now = now or utcnow()
    cycles_q = select(BudgetCycle).order_by(BudgetCycle.voting_open_at.desc())
    drafts_q = select(Draft).order_by(Draft.created_at.desc())
    if region_ids is not None:
        cycles_q = cycles_q.where(BudgetCycle.region_id.in_(region_ids))
        drafts_q = drafts_q.where(Draft.region_id.in_(region_ids))
    cycles, actions = [], []
    for cycle in session.scalars(cycles_q.limit(50)):
        phase = cycle.phase(now)
        cycles.append((cycle, phase))
        if phase in ("proposals", "review"):
            waiting = session.scalar(
                select(func.count()).where(
                    Proposal.cycle_id == cycle.id, Proposal.status == "submitted"
                )
            )
            if waiting and phase == "review":
                actions.append(("review", cycle, waiting))
        if phase in ("results", "implementation"):
            published = session.scalar(
                select(func.count()).where(
                    CycleResult.cycle_id == cycle.id, CycleResult.published_at.is_not(None)
                )
            )
            if not published:
                actions.append(("publish_results", cycle, None))
    drafts = []
    for draft in session.scalars(drafts_q.limit(50)):
        status = effective_status(draft, now)
        drafts.append((draft, status))
        pending = session.scalar(
            select(func.count()).where(Comment.draft_id == draft.id, Comment.status == "pending")
        )
        if pending:
            actions.append(("moderate", draft, pending))
        if draft.answer_due is not None and now >= draft.answer_due:
            overdue = session.scalar(
                select(func.count()).where(
                    Comment.draft_id == draft.id,
                    Comment.status == "published",
                    Comment.decision.is_(None),
                )
            )
            if overdue:
                actions.append(("overdue", draft, overdue))
    return {"cycles": cycles, "drafts": drafts, "actions": actions}
