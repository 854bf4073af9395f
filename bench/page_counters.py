"""The per-request aggregates of the counts, draft/article and moderation pages, before and
after the counters (issue 9), timed side by side in one process on a city database.

    .venv/bin/python bench/page_counters.py [--db sqlite:////tmp/city.sqlite] [--runs 31]

Needs a database that bench/pages.py has loaded (the city region). Each round runs every
pair once, "then" and "now" alternating, so machine load hits both alike; it prints the
median ms per pair. "then" is the query the page ran before: the vote counts ordered by a
count over every choice plus the turnout, the draft's counts grouped over its published
comments, the queue's total counted up to 10,000, the staff draft dashboard's grouped count
of every comment and read of every answered comment's times, the draft's marks counted.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--runs", type=int, default=31)
    args = parser.parse_args()
    if not args.db:
        parser.error("give --db or DATABASE_URL (sqlite:////tmp/city.sqlite)")
    os.environ["DATABASE_URL"] = args.db

    from sqlalchemy import func, select

    from portal import create_app
    from portal.accounts.models import User
    from portal.budgeting import services as budget
    from portal.budgeting.models import Ballot, BallotChoice, BudgetCycle, Proposal
    from portal.consultations import services as consult
    from portal.consultations.models import Comment, Draft
    from portal.extensions import db
    from portal.moderation import services as moderation

    app = create_app({"CONFIG": "development", "SQLALCHEMY_DATABASE_URI": args.db})
    with app.app_context():
        session = db.session
        # The city: the cycle with the most ballots and the draft with the most comments.
        biggest = func.count().desc()
        cycle_id = session.scalar(
            select(Ballot.cycle_id).group_by(Ballot.cycle_id).order_by(biggest).limit(1)
        )
        draft_id = session.scalar(
            select(Comment.draft_id).group_by(Comment.draft_id).order_by(biggest).limit(1)
        )
        cycle, draft = session.get(BudgetCycle, cycle_id), session.get(Draft, draft_id)
        moderator = session.scalar(select(User).where(User.email == "moderator@demo.tynda.kz"))
        if budget.vote_count_state(session, cycle) is None:
            budget.recount_votes(session, cycle)
            session.commit()

        def counts_then():
            votes = (
                select(func.count())
                .where(BallotChoice.proposal_id == Proposal.id)
                .correlate(Proposal)
                .scalar_subquery()
            )
            page = session.scalars(
                select(Proposal)
                .where(Proposal.cycle_id == cycle.id, Proposal.status == "feasible")
                .order_by(votes.desc(), Proposal.id)
                .limit(20)
            ).all()
            budget.votes_of(session, [p.id for p in page])
            budget.turnout(session, cycle)

        def counts_now():
            state = budget.vote_count_state(session, cycle)
            budget.vote_count_page(session, cycle, 0, 20)
            return state

        def queue(cap):
            filters = moderation.QueueFilters(draft_id=draft.id)  # pending, as the page opens
            return lambda: moderation.queue(
                session, moderator, draft.region_id, filters, count_cap=cap
            )

        pairs = {
            "vote counts (page 1 + total)": (counts_then, counts_now),
            "draft: counts per article": (
                lambda: consult.recount_articles(session, draft),
                lambda: consult.article_counts(session, draft),
            ),
            "moderation queue (page + total)": (queue(10_000), queue(moderation.COUNT_CAP)),
            "staff draft dashboard: counts + waits": (
                lambda: (
                    consult.recount_tally(session, [draft.id]),
                    consult.recount_waits(session, draft),
                ),
                lambda: (
                    consult.comment_tally(session, [draft.id]),
                    consult.answer_waits(session, draft),
                ),
            ),
            "draft: support/oppose marks": (
                lambda: consult.recount_votes(session, draft),
                lambda: consult.vote_counts(session, draft),
            ),
        }
        times = {name: ([], []) for name in pairs}
        for _ in range(args.runs):
            for name, (then, now) in pairs.items():
                for fn, bucket in ((then, times[name][0]), (now, times[name][1])):
                    session.rollback()
                    started = time.perf_counter()
                    fn()
                    bucket.append((time.perf_counter() - started) * 1000)
        print(f"{'aggregate':<40} {'then ms':>8} {'now ms':>8}")
        for name, (then, now) in times.items():
            print(f"{name:<40} {statistics.median(then):8.2f} {statistics.median(now):8.2f}")


if __name__ == "__main__":
    main()
