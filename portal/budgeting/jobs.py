"""Budgeting work that runs as background jobs: tallying a closed vote.

MES with completion can take minutes on a city's ballots, so the results page queues a
job and staff watch its progress. The ballots are read in a snapshot (SQLite: a deferred
transaction, voters and commenters never wait), the rules run with no lock held, and only
storing the results takes the write lock, after the checks are made again under it.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import database
from portal.accounts.models import User
from portal.budgeting import headings, publishing, services
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.forms import message
from portal.budgeting.models import BudgetCycle
from portal.extensions import db
from portal.jobs import enqueue, job
from portal.jobs.models import Job

RESULTS_JOB = "budgeting.results"
VOTE_COUNTS_JOB = "budgeting.vote_counts"


def compute_and_store(session, actor_id, cycle_id, rules=None, progress=None, deadline=None):
    """Tally in a read snapshot, then store under the write lock; the caller commits.
    The actor and cycle are loaded again after each restart: objects from before expire."""
    database.start_read(session)
    actor, cycle = session.get(User, actor_id), session.get(BudgetCycle, cycle_id)
    if cycle is None:
        raise LookupError(f"no budget cycle {cycle_id}")
    pots = headings.headings_of(session, cycle)
    tallies = []
    for number, heading in enumerate(pots):
        report = progress
        if progress is not None and len(pots) > 1:

            def report(done, total, message, number=number, name=heading.name):
                progress(number * total + done, len(pots) * total, f"{name}: {message}")

        tallies += publishing.tally_results(
            session, actor, cycle, rules, deadline=deadline, progress=report, heading=heading
        )
    # The live counts page is opened after close, like the results: count it here, in the
    # snapshot, rather than in the first viewer's request.
    counted = services.count_votes(session, cycle)
    database.start_write(session)
    actor, cycle = session.get(User, actor_id), session.get(BudgetCycle, cycle_id)
    results = publishing.store_results(session, actor, cycle, tallies)
    services.store_vote_counts(session, cycle, counted)
    return results


def explain(code, details):
    """A refused tally's message in the reader's language (the job page)."""
    return message(BudgetRuleError(code, **details))


@job(RESULTS_JOB, label=_l("Computing the results"), explain=explain)
def compute_results_job(payload, progress):
    """payload: {"cycle_id", "actor_id", "rules": [..] or None}."""
    results = compute_and_store(
        db.session, payload["actor_id"], payload["cycle_id"], payload.get("rules"), progress
    )
    main = min(r.heading_id for r in results) if results else None
    return {
        "cycle_id": payload["cycle_id"],
        "rules": {
            r.rule: {"selected": r.data["selected"], "total_cost": r.total_cost}
            for r in results
            if r.heading_id == main
        },
        "headings": [
            {
                "heading_id": r.heading_id,
                "rule": r.rule,
                "selected": r.data["selected"],
                "total_cost": r.total_cost,
            }
            for r in results
        ],
    }


# The counts page shows the stored counts; when ballots landed after them (paper batches,
# imports, a late replacement) it queues this job instead of counting 200,000 ballots (about
# a second) in the viewer's request.
def queue_vote_count(session, cycle_id):
    """Queue a recount of the cycle's votes under the write lock, unless the counts are
    current or a recount is already waiting or running; flush only, the caller commits.
    Returns the Job that will count, or None when the stored counts are current."""
    pending = _pending_count(session, cycle_id)
    if pending is not None:  # the usual case while it runs: no write lock for the viewer
        return pending
    database.start_write(session)
    cycle = session.get(BudgetCycle, cycle_id)
    if services.vote_count_state(session, cycle) is not None:
        return None  # counted while this request waited for the lock
    return _pending_count(session, cycle_id) or enqueue(
        session, VOTE_COUNTS_JOB, {"cycle_id": cycle_id}
    )


def _pending_count(session, cycle_id):
    pending = session.scalars(
        select(Job).where(Job.kind == VOTE_COUNTS_JOB, Job.status.in_(("queued", "running")))
    )
    for row in pending:  # a handful at most: one per cycle being counted
        if (row.payload or {}).get("cycle_id") == cycle_id:
            return row
    return None


@job(VOTE_COUNTS_JOB, label=_l("Counting the votes"))
def count_votes_job(payload, progress):
    """payload: {"cycle_id"}. Counts in a read snapshot, stores under the write lock."""
    session = db.session
    database.start_read(session)
    cycle = session.get(BudgetCycle, payload["cycle_id"])
    if cycle is None:
        raise LookupError(f"no budget cycle {payload['cycle_id']}")
    progress(0, 1, "counting the ballots")
    counted = services.count_votes(session, cycle)
    database.start_write(session)
    cycle = session.get(BudgetCycle, payload["cycle_id"])
    state = services.store_vote_counts(session, cycle, counted)
    return {"cycle_id": cycle.id, "ballots": state.ballots, "ledger_size": state.ledger_size}
