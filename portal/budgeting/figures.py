"""Counts over all of a cycle's ballots, kept in the aggregate cache (portal/cache) so that a
dashboard or the counts page does not read 200,000 ballots on every request.

Every ballot write appends to the cycle's ledger (casting, replacing, importing; the ballots
from before the ledger were put in it by its migration), so the ledger head versions the
counts:
- turnout (ballots by channel and district, by birth year and sex, by day) changes only
  when a ballot is *added*, and a ballot's channel, district, birth year, sex and day never
  change. The cache holds the counts up to a ledger position; a reader adds the ballots
  whose first leaf lies between it and the head: during voting each request reads only the
  ballots cast since the last one, and after close nothing at all. Leaf positions are given
  out under the head's lock, in commit order, so no ballot falls between two readers even
  under READ COMMITTED (ballot ids would not be: ids are taken before the lock).
- votes per project also change when a ballot is replaced, so they are recounted whenever
  the head (size and root) moved; they are shown only once voting has closed, when the head
  no longer moves, so in practice they are counted once per cycle.
A cycle without a ledger head has no ballots written through the services (only tests write
ballots by hand): its counts come straight from the ballot table, uncached.
"""

from collections import Counter

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from portal import cache
from portal.budgeting.models import Ballot, BallotChoice, LedgerHead, LedgerLeaf, Proposal


def _head(session, cycle_id):
    return session.execute(
        select(LedgerHead.size, LedgerHead.root).where(LedgerHead.cycle_id == cycle_id)
    ).first()


def _day(session):
    # SQLite stores times as ISO text: the first ten characters are the day, far cheaper to
    # cut than parsing every timestamp with date().
    if session.get_bind().dialect.name == "sqlite":
        return func.substr(Ballot.created_at, 1, 10)
    return func.date(Ballot.created_at)


def _fold(rows):
    """Grouped rows (channel, district, birth year, sex, day, heading, n) -> the counts."""
    by_place, by_person, by_day, by_heading = Counter(), Counter(), Counter(), Counter()
    for channel, district_id, birth_year, sex, day, heading_id, n in rows:
        by_place[(channel, district_id)] += n
        by_person[(birth_year, sex)] += n
        by_day[str(day)] += n
        by_heading[heading_id] += n
    return {
        "place": [[c, d, n] for (c, d), n in by_place.items()],
        "person": [[y, s, n] for (y, s), n in by_person.items()],
        "day": [[d, n] for d, n in by_day.items()],
        "heading": [[h, n] for h, n in by_heading.items()],
    }


def _merge(*parts):
    merged = {}
    for key, width in (("place", 2), ("person", 2), ("day", 1), ("heading", 1)):
        total = Counter()
        for part in parts:
            for row in part.get(key, ()):
                total[tuple(row[:width])] += row[width]
        merged[key] = [[*k, n] for k, n in total.items()]
    return merged


def _columns(session):
    return (
        Ballot.channel,
        Ballot.district_id,
        Ballot.birth_year,
        Ballot.sex,
        _day(session),
        Ballot.heading_id,
    )


def _new_ballots(session, cycle_id, start, stop):
    """Turnout of the ballots whose first ledger leaf is at a position in [start, stop)."""
    earlier = aliased(LedgerLeaf)
    first_leaf = ~exists().where(
        earlier.cycle_id == LedgerLeaf.cycle_id,
        earlier.ballot_id == LedgerLeaf.ballot_id,
        earlier.position < LedgerLeaf.position,
    )
    columns = _columns(session)
    rows = session.execute(
        select(*columns, func.count())
        .select_from(LedgerLeaf)
        .join(Ballot, Ballot.id == LedgerLeaf.ballot_id)
        .where(
            and_(
                LedgerLeaf.cycle_id == cycle_id,
                LedgerLeaf.position >= start,
                LedgerLeaf.position < stop,
            ),
            first_leaf,
        )
        .group_by(*columns)
    )
    return _fold(rows)


def _all_ballots(session, cycle_id):
    columns = _columns(session)
    return _fold(
        session.execute(
            select(*columns, func.count()).where(Ballot.cycle_id == cycle_id).group_by(*columns)
        )
    )


def turnout(session, cycle):
    """{"ballots": n, "place": [[channel, district_id, n]], "person": [[birth_year, sex, n]],
    "day": [["YYYY-MM-DD", n]], "heading": [[heading_id, n]]} over all the cycle's ballots."""
    head = _head(session, cycle.id)
    if head is None:
        data = _all_ballots(session, cycle.id)
    else:
        name = f"budget.turnout:{cycle.id}"
        version, stored = cache.get(session, name)
        counted = int(version) if version is not None and version.isdigit() else None
        if stored is not None and "heading" not in stored:
            counted = None  # counted before ballots had headings: count again
        if counted is not None and counted == head.size:
            data = stored
        else:
            if counted is None or counted > head.size:
                counted, stored = 0, {}
            data = _merge(stored, _new_ballots(session, cycle.id, counted, head.size))
            cache.put(session, name, head.size, data)
    return dict(data, ballots=_ballots(data))


def _ballots(data):
    """All the ballots of a turnout: every ballot has one channel and district."""
    return sum(row[-1] for row in data["place"])


def ballot_totals(session, cycle_ids):
    """{cycle id: ballots} for many cycles in a fixed number of statements (the home page).

    A cycle whose cached turnout is current takes its total from the cache; the others are
    counted from the ballot table in one grouped query (and cached by the next dashboard)."""
    if not cycle_ids:
        return {}
    heads = dict(
        session.execute(
            select(LedgerHead.cycle_id, LedgerHead.size).where(LedgerHead.cycle_id.in_(cycle_ids))
        ).all()
    )
    names = {f"budget.turnout:{cid}": cid for cid in heads}
    totals = {}
    if names:
        for name, (version, data) in cache.get_many(session, names).items():
            cid = names[name]
            if version == str(heads[cid]):
                totals[cid] = _ballots(data)
    rest = [cid for cid in cycle_ids if cid not in totals]
    if rest:
        totals.update(
            session.execute(
                select(Ballot.cycle_id, func.count())
                .where(Ballot.cycle_id.in_(rest))
                .group_by(Ballot.cycle_id)
            ).all()
        )
    return {cid: totals.get(cid, 0) for cid in cycle_ids}


def _count_votes(session, cycle_id):
    return {
        str(pid): n
        for pid, n in session.execute(
            select(BallotChoice.proposal_id, func.count())
            .join(Ballot, Ballot.id == BallotChoice.ballot_id)
            .where(Ballot.cycle_id == cycle_id)
            .group_by(BallotChoice.proposal_id)
        )
    }


def votes(session, cycle):
    """{proposal id: approvals} for every project with at least one vote."""
    head = _head(session, cycle.id)
    if head is None:
        data = _count_votes(session, cycle.id)
    else:
        version = f"{head.size}:{head.root}"
        data = cache.cached(
            session, f"budget.votes:{cycle.id}", version, lambda: _count_votes(session, cycle.id)
        )
    return {int(pid): n for pid, n in data.items()}


# ------------------------------------------------------------------ the review queue
def review_parts(session, cycle):
    """The staff review queue as two index-ordered parts, [(select, row count)]: proposals
    waiting for review (oldest first), then the reviewed ones (oldest first); withdrawn ones
    are left out. One ORDER BY (status != 'submitted', created_at) sorted the whole cycle."""
    counts = dict(
        session.execute(
            select(Proposal.status, func.count())
            .where(Proposal.cycle_id == cycle.id)
            .group_by(Proposal.status)
        ).all()
    )
    waiting = counts.get("submitted", 0)
    reviewed = sum(n for status, n in counts.items() if status not in ("submitted", "withdrawn"))
    order = (Proposal.created_at, Proposal.id)
    return [
        (
            select(Proposal)
            .where(Proposal.cycle_id == cycle.id, Proposal.status == "submitted")
            .order_by(*order),
            waiting,
        ),
        (
            select(Proposal)
            .where(
                Proposal.cycle_id == cycle.id,
                Proposal.status.not_in(("submitted", "withdrawn")),
            )
            .order_by(*order),
            reviewed,
        ),
    ]
