"""The live counts page reads stored counts that always equal a recount of the choices."""

import re

import budget_fixtures
from helpers import make_user
from sqlalchemy import delete, event, func, select

from portal.budgeting import services
from portal.budgeting.jobs import VOTE_COUNTS_JOB
from portal.budgeting.models import VoteCount, VoteCountState
from portal.jobs.models import Job

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


def test_stale_counts_page_shows_stored_ranks_and_queues_one_recount(
    db, app, monkeypatch, as_role, new_cycle, make_project
):
    """Ballots after the last count: the page never recounts in the request (about a second
    at a city's 200,000 ballots); it shows the stored ranks, says they are being updated and
    queues one recount job, which the next view after it ran shows."""
    cycle = new_cycle("voting", budget=10_000_000)
    a, b = make_project(cycle, 100, title="Alpha"), make_project(cycle, 100, title="Beta")
    for choices in ([a.id], [a.id], [b.id]):
        services.cast_ballot(db.session, make_user(), cycle, choices, secret="x")
    services.recount_votes(db.session, cycle)
    for choices in ([b.id], [b.id]):  # after the count: the stored counts are stale
        services.cast_ballot(db.session, make_user(), cycle, choices, secret="x")
    staff = as_role("staff")
    services.move_phase(db.session, staff.user, cycle, "results")
    db.session.commit()
    db.session.execute(delete(Job))  # the results job queued on close is not this test's
    db.session.commit()
    worker = app.extensions["huey_run_job"]  # JOBS_IMMEDIATE: runs the job when called
    handed = []  # job ids handed to the queue; no worker runs them yet
    monkeypatch.setitem(app.extensions, "huey_run_job", handed.append)
    admin = as_role("admin")

    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        html = admin.get(f"/budget/{cycle.id}/counts").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert not [s for s in statements if "budget_ballot_choice" in s]  # no recount here
    assert "These counts are being updated" in html
    assert "Ballots so far: 3" in html
    rows = re.findall(r'<th scope="row">(\w+)</th><td class="num">(\d+)</td>', html)
    assert rows == [("Alpha", "2"), ("Beta", "1")]  # the stored ranks, as counted
    queued = db.session.scalars(select(Job).where(Job.kind == VOTE_COUNTS_JOB)).all()
    assert [(j.status, j.payload["cycle_id"]) for j in queued] == [("queued", cycle.id)]
    assert handed == [queued[0].id]

    html = admin.get(f"/budget/{cycle.id}/counts").get_data(as_text=True)
    assert "These counts are being updated" in html
    assert db.session.scalar(select(func.count()).select_from(Job)) == 1  # not queued again

    worker(queued[0].id)
    html = admin.get(f"/budget/{cycle.id}/counts").get_data(as_text=True)
    assert "being updated" not in html
    assert "Ballots so far: 5" in html
    rows = re.findall(r'<th scope="row">(\w+)</th><td class="num">(\d+)</td>', html)
    assert rows == [("Beta", "3"), ("Alpha", "2")]
    db.session.expire_all()
    assert db.session.get(Job, queued[0].id).status == "done"


def test_never_counted_page_says_the_votes_are_being_counted(
    db, app, monkeypatch, as_role, new_cycle, make_project
):
    cycle = new_cycle("voting", budget=10_000_000)
    a = make_project(cycle, 100, title="Alpha")
    services.cast_ballot(db.session, make_user(), cycle, [a.id], secret="x")
    staff = as_role("staff")
    services.move_phase(db.session, staff.user, cycle, "results")
    db.session.commit()
    db.session.execute(delete(VoteCountState).where(VoteCountState.cycle_id == cycle.id))
    db.session.execute(delete(VoteCount).where(VoteCount.cycle_id == cycle.id))
    db.session.commit()
    monkeypatch.setitem(app.extensions, "huey_run_job", lambda job_id: None)
    html = as_role("admin").get(f"/budget/{cycle.id}/counts").get_data(as_text=True)
    assert "The votes are being counted" in html
    assert "Ballots so far" not in html
    assert services.vote_count_state(db.session, cycle) is None  # nothing counted in the request
