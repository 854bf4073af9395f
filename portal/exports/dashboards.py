"""Figures for the staff dashboards and the akim's printable reports. No Flask here.

Everything is an aggregate: counts by category, district, age band, sex, channel and day.
Per-project vote counts of a cycle still in voting are left out (see `counts_shown`).
"""

from collections import Counter, defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import defer

from portal.accounts.models import User, utcnow
from portal.budgeting import figures as ballot_figures
from portal.budgeting import headings as budget_headings
from portal.budgeting.models import BudgetCycle, CycleResult, Proposal
from portal.budgeting.publishing import heading_overview, ranking
from portal.budgeting.services import counts_visible
from portal.consultations.models import Article, Campaign, Comment, CommentTally, Draft
from portal.consultations.services import answer_waits, comment_tally, effective_status
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

    # Ballot counts come from the aggregate cache, brought up to the ledger head by reading
    # only the ballots cast since (portal/budgeting/figures.py): never all 200,000 per view.
    turnout = ballot_figures.turnout(session, cycle)
    ballots_by_district = Counter()
    by_channel = Counter()
    for channel, district_id, n in turnout["place"]:
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
    # Ballots carry the voter's birth year and sex, never the voter (ballot secrecy).
    for birth_year, sex, n in turnout["person"]:
        if birth_year is not None:
            by_band_sex[age_band(birth_year, year)][sex] += n
    per_day = sorted((day, n) for day, n in turnout["day"])
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
        "results_more": 0,
        "result": None,
    }
    pots = budget_headings.headings_of(session, cycle)
    figures["heading"] = pots[0]
    figures["heading_overview"] = (
        heading_overview(session, cycle, pots, with_results=figures["counts_shown"])
        if len(pots) > 1
        else None
    )
    if figures["counts_shown"]:
        figures.update(_results(session, cycle, pots[0]))
    return figures


# Projects in the dashboard's results table; the results page and the exports have them all.
TOP_RESULTS = 20


def _results(session, cycle, heading):
    """The top projects by votes of a heading (the main one: the whole cycle when it has one
    heading): from the stored result when there is one (no pass over the ballots), else
    counted in SQL; only the shown projects are read."""
    results = {
        r.rule: r
        for r in session.scalars(
            select(CycleResult)
            .where(CycleResult.cycle_id == cycle.id, CycleResult.heading_id == heading.id)
            .options(defer(CycleResult.data))
        )
    }
    result = results.get(heading.winner_rule) or next(iter(results.values()), None)
    if result is not None:
        ranked, str_votes, selected, _rest = ranking(result)
        total = len(ranked)
        top = ranked[:TOP_RESULTS]
        votes = {i: str_votes.get(str(i), 0) for i in top}
    else:
        # No stored result yet: rank the heading's projects by the cached votes (one count
        # per ledger head).
        votes = ballot_figures.votes(session, cycle)
        feasible = session.scalars(
            select(Proposal.id).where(
                Proposal.cycle_id == cycle.id,
                Proposal.heading_id == heading.id,
                Proposal.status == "feasible",
            )
        ).all()
        ranked = sorted(feasible, key=lambda pid: (-votes.get(pid, 0), pid))
        total = len(ranked)
        top = ranked[:TOP_RESULTS]
        selected = set()
    projects = {p.id: p for p in session.scalars(select(Proposal).where(Proposal.id.in_(top)))}
    rows = [
        {"id": i, "title": projects[i].title, "cost": projects[i].cost,
         "votes": votes.get(i, 0), "won": i in selected}
        for i in top if i in projects
    ]  # fmt: skip
    return {
        "results": rows,
        "results_more": max(0, total - len(rows)),
        "result": result,
        "rules": sorted(results),
    }


# ------------------------------------------------------------------ consultations
def draft_figures(session, draft, now=None):
    """The draft's figures from the comment counters (consultations: CommentTally and
    CommentWait, kept by triggers), the ten biggest campaigns and the articles: the same few
    reads whatever the number of comments or campaigns."""
    now = now or utcnow()
    status_counts, decisions = Counter(), Counter()
    per_article = defaultdict(Counter)
    unanswered_published = 0
    for _draft, article_id, stance, status, decision, n in comment_tally(session, [draft.id]):
        status_counts[status] += n
        if decision is not None:
            decisions[decision] += n
        entry = per_article[article_id]
        entry["received"] += n
        if status == "published":
            entry["published"] += n
            entry[stance] += n
            if decision is None:
                unanswered_published += n
    answered = sum(decisions.values())
    decisions = dict(decisions)
    overdue = 0
    if draft.answer_due is not None and now >= draft.answer_due:
        overdue = unanswered_published
    answer_days = wait_summary(answer_waits(session, draft))
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
    biggest = session.scalars(
        select(Campaign)
        .where(Campaign.draft_id == draft.id)
        .order_by(Campaign.size.desc(), Campaign.id.desc())
        .limit(10)
    ).all()
    examples = {
        c.id: c
        for c in session.scalars(
            select(Comment).where(
                Comment.id.in_([c.representative_id for c in biggest if c.representative_id]),
                Comment.status == "published",
            )
        )
    }
    campaigns = [
        {
            "id": c.id,
            "size": c.size,
            "text": plain_text(examples[c.representative_id].text)[:300]
            if c.representative_id in examples
            else "",
        }
        for c in biggest
    ]
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


def wait_summary(histogram):
    """{"median", "p90", "max"} in days of [(wait in tenths of a day, comments)] sorted by
    wait, as statistics.median and the 90th rank would give over the listed waits; None
    when nothing was answered."""
    total = sum(n for _tenths, n in histogram)
    if not total:
        return None

    def at(rank):  # the wait of the rank-th answer (from 0), shortest first
        seen = 0
        for tenths, n in histogram:
            seen += n
            if rank < seen:
                return tenths / 10
        raise IndexError(rank)

    median = (at((total - 1) // 2) + at(total // 2)) / 2
    return {
        "median": round(median, 1),
        "p90": round(at(min(total - 1, int(total * 0.9))), 1),
        "max": round(histogram[-1][0] / 10, 1),
    }


def overdue_answers(session, region_id, now=None):
    """Published comments on the region's drafts still unanswered after the deadline (from
    the comment counters: a few rows per draft)."""
    now = now or utcnow()
    return session.scalar(
        select(func.coalesce(func.sum(CommentTally.comments), 0))
        .join(Draft, Draft.id == CommentTally.draft_id)
        .where(
            Draft.region_id == region_id,
            CommentTally.status == "published",
            CommentTally.decision == "",
            Draft.answer_due.is_not(None),
            Draft.answer_due <= now,
        )
    )


# ------------------------------------------------------------------ region overview
def overview(session, region_ids, now=None):
    """Open cycles and drafts of the regions (None: every region) and what needs action.

    Counts for all listed cycles and drafts come from a few grouped queries, not one per row.
    """
    now = now or utcnow()
    cycles_q = select(BudgetCycle).order_by(BudgetCycle.voting_open_at.desc(), BudgetCycle.id)
    drafts_q = select(Draft).order_by(Draft.created_at.desc(), Draft.id)
    if region_ids is not None:
        cycles_q = cycles_q.where(BudgetCycle.region_id.in_(region_ids))
        drafts_q = drafts_q.where(Draft.region_id.in_(region_ids))
    listed_cycles = session.scalars(cycles_q.limit(50)).all()
    cycle_ids = [c.id for c in listed_cycles]
    waiting = dict(
        session.execute(
            select(Proposal.cycle_id, func.count())
            .where(Proposal.cycle_id.in_(cycle_ids), Proposal.status == "submitted")
            .group_by(Proposal.cycle_id)
        ).all()
    )
    published = set(
        session.scalars(
            select(CycleResult.cycle_id).where(
                CycleResult.cycle_id.in_(cycle_ids), CycleResult.published_at.is_not(None)
            )
        )
    )
    cycles, actions = [], []
    for cycle in listed_cycles:
        phase = cycle.phase(now)
        cycles.append((cycle, phase))
        if phase == "review" and waiting.get(cycle.id):
            actions.append(("review", cycle, waiting[cycle.id]))
        if phase in ("results", "implementation") and cycle.id not in published:
            actions.append(("publish_results", cycle, None))
    listed_drafts = session.scalars(drafts_q.limit(50)).all()
    draft_ids = [d.id for d in listed_drafts]
    # From the comment counters: a few rows per draft, not one per comment.
    pending = dict(
        session.execute(
            select(CommentTally.draft_id, func.sum(CommentTally.comments))
            .where(CommentTally.draft_id.in_(draft_ids), CommentTally.status == "pending")
            .group_by(CommentTally.draft_id)
        ).all()
    )
    due = [d.id for d in listed_drafts if d.answer_due is not None and now >= d.answer_due]
    unanswered = dict(
        session.execute(
            select(CommentTally.draft_id, func.sum(CommentTally.comments))
            .where(
                CommentTally.draft_id.in_(due),
                CommentTally.status == "published",
                CommentTally.decision == "",
            )
            .group_by(CommentTally.draft_id)
        ).all()
    )
    drafts = []
    for draft in listed_drafts:
        drafts.append((draft, effective_status(draft, now)))
        if pending.get(draft.id):
            actions.append(("moderate", draft, pending[draft.id]))
        if unanswered.get(draft.id):
            actions.append(("overdue", draft, unanswered[draft.id]))
    return {"cycles": cycles, "drafts": drafts, "actions": actions}
