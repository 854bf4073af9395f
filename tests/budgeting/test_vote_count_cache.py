"""The live counts page reads stored counts that always equal a recount of the choices."""

import re

import budget_fixtures
from helpers import make_user
from sqlalchemy import func, select

from portal.budgeting import services
from portal.budgeting.models import VoteCount

make_project = budget_fixtures.make_project


def _ranked(db, cycle):
    """The recount: (id, votes), most votes first, then lowest id."""
    counts = services.vote_counts(db.session, cycle)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _stored(db, cycle):
    rows = db.session.execute(
        select(VoteCount.proposal_id, VoteCount.votes)
        .where(VoteCount.cycle_id == cycle.id)
        .order_by(VoteCount.rank)
    ).all()
    return [tuple(row) for row in rows]


def test_stored_counts_follow_every_ballot_and_replacement(db, new_cycle, make_project):
    cycle = new_cycle("voting", budget=10_000_000)
    a, b, c, d = (make_project(cycle, 100, title=t) for t in "ABCD")
    voters = [make_user() for _ in range(3)]
    for voter, choices in zip(voters, ([a.id, b.id], [b.id], [b.id, c.id]), strict=True):
        services.cast_ballot(db.session, voter, cycle, choices, secret="x")
    db.session.commit()
    assert services.vote_count_state(db.session, cycle) is None  # never counted
    state = services.recount_votes(db.session, cycle)
    db.session.commit()
    assert (state.ballots, state.projects) == (3, 4)
    assert _stored(db, cycle) == _ranked(db, cycle) == [(b.id, 3), (a.id, 1), (c.id, 1), (d.id, 0)]
    assert services.vote_count_state(db.session, cycle) is not None  # nothing changed since

    # A replaced ballot changes no ballot count but appends to the ledger: counted again.
    services.cast_ballot(db.session, voters[1], cycle, [d.id, c.id], secret="x")
    db.session.commit()
    assert services.vote_count_state(db.session, cycle) is None
    services.recount_votes(db.session, cycle)
    db.session.commit()
    assert _stored(db, cycle) == _ranked(db, cycle) == [(b.id, 2), (c.id, 2), (a.id, 1), (d.id, 1)]
    total = db.session.scalar(select(func.count()).where(VoteCount.cycle_id == cycle.id))
    assert total == 4  # the old rows were replaced, not added to

    # Counts taken before a ballot (a slow job's snapshot) never replace newer ones.
    older = services.count_votes(db.session, cycle)
    services.cast_ballot(db.session, make_user(), cycle, [a.id], secret="x")
    size = services.recount_votes(db.session, cycle).ledger_size
    db.session.commit()
    assert size > older["ledger_size"]
    assert services.store_vote_counts(db.session, cycle, older).ledger_size == size
    assert _stored(db, cycle) == _ranked(db, cycle) == [(a.id, 2), (b.id, 2), (c.id, 2), (d.id, 1)]


def test_counts_page_ranks_and_pages_like_a_recount(
    db, app, monkeypatch, as_role, new_cycle, make_project
):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    cycle = new_cycle("voting", budget=10_000_000)
    projects = [make_project(cycle, 100, title=f"Project {n}") for n in range(5)]
    p = [project.id for project in projects]
    for choices in ([p[3]], [p[3], p[1]], [p[1], p[3]], [p[4]], [p[3]]):
        services.cast_ballot(db.session, make_user(), cycle, choices, secret="x")
    db.session.commit()
    staff = as_role("staff")
    services.move_phase(db.session, staff.user, cycle, "results")
    db.session.commit()
    admin = as_role("admin")
    shown = []
    for page in (1, 2, 3):
        html = admin.get(f"/budget/{cycle.id}/counts?page={page}").get_data(as_text=True)
        assert "Ballots so far: 5" in html
        shown += re.findall(r'<th scope="row">Project (\d)</th><td class="num">(\d+)</td>', html)
    ranked = [(str(p.index(pid)), str(votes)) for pid, votes in _ranked(db, cycle)]
    assert shown == ranked == [("3", "4"), ("1", "2"), ("4", "1"), ("0", "0"), ("2", "0")]
