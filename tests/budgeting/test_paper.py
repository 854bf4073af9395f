"""Paper desks: ballots by IIN with or without an account, and tally-sheet batches that count
only after a second staff member confirms them."""

import datetime as dt

import budget_fixtures
import pytest
import sqlalchemy as sa
from helpers import make_iin, make_user

from portal.accounts.models import VoterRegisterEntry, iin_key
from portal.accounts.services import iin_digest
from portal.audit.models import AuditEntry
from portal.budgeting import integrity, paper, services
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.models import Ballot, LedgerLeaf, PaperBatch, PaperEntry
from portal.regions.services import region_by_code

make_project = budget_fixtures.make_project

SECRET = "paper-secret"
KEY = "paper-ballot-key"


@pytest.fixture
def voting(new_cycle, make_project):
    cycle = new_cycle("voting", budget=1_000)
    projects = [make_project(cycle, cost) for cost in (600, 400, 300)]
    return cycle, projects


def _code(call):
    with pytest.raises(BudgetRuleError) as caught:
        call()
    return caught.value.code


def _desk(db, staff, cycle, choices, iin, **kwargs):
    kwargs.setdefault("declared", True)
    return paper.enter_ballot(
        db.session,
        staff,
        cycle,
        [p.id for p in choices],
        iin=iin,
        iin_key=iin_key(),
        secret=SECRET,
        ballot_key=KEY,
        **kwargs,
    )


def _count(db, model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _actions(db):
    return db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()


# ------------------------------------------------------------------ desk ballots by IIN
def test_resident_without_account_votes_on_paper_and_cannot_vote_online_after(db, voting):
    cycle, (a, b, _c) = voting
    staff = make_user(role="staff")
    iin = make_iin(birth="851231", century_sex=4)  # born 1985, female
    ballot = _desk(db, staff, cycle, [a], iin)
    db.session.commit()
    assert ballot.channel == "paper" and ballot.entered_by_id == staff.id
    assert ballot.voter_key is None  # no account: no account pseudonym
    assert ballot.iin_key == integrity.iin_voter_key(KEY, cycle.id, iin_digest(iin, iin_key()))
    assert (ballot.birth_year, ballot.sex) == (1985, "F")  # from the IIN's digits
    row = db.session.execute(sa.text("SELECT * FROM budget_ballot WHERE id = :i"), {"i": ballot.id})
    assert iin not in [str(v) for v in row.mappings().one().values()]  # never the raw IIN
    assert "budgeting.paper_ballot" in _actions(db)

    # The same person registers online later: their paper ballot is theirs, a second refused.
    online = make_user(iin=iin)
    assert services.ballot_of(db.session, cycle, online, KEY).id == ballot.id
    refused = _code(
        lambda: services.cast_ballot(
            db.session, online, cycle, [b.id], secret=SECRET, ballot_key=KEY
        )
    )
    assert refused == "other_channel"
    # Another desk entering the same IIN again is refused too.
    assert _code(lambda: _desk(db, make_user(role="staff"), cycle, [b], iin)) == "already_voted"
    assert _count(db, Ballot, Ballot.cycle_id == cycle.id) == 1


def test_online_ballot_first_then_desk_for_the_same_iin_is_refused(db, voting):
    cycle, (a, b, _c) = voting
    staff = make_user(role="staff")
    voter = make_user()
    services.cast_ballot(db.session, voter, cycle, [a.id], secret=SECRET, ballot_key=KEY)
    assert _code(lambda: _desk(db, staff, cycle, [b], voter.iin)) == "other_channel"
    # An unverified account holder at the desk: the desk checks the ID, the account's region.
    unverified = make_user(verified=False)
    ballot = _desk(db, staff, cycle, [b], unverified.iin, declared=False)
    assert ballot.voter_key == integrity.voter_key(KEY, cycle.id, unverified.id)
    assert _count(db, Ballot, Ballot.cycle_id == cycle.id) == 2


def test_ballots_cast_before_the_iin_key_still_block_the_desk(db, voting):
    """Rows from before paper_01 carry only the account pseudonym."""
    cycle, (a, _b, _c) = voting
    voter = make_user()
    db.session.add(
        Ballot(
            cycle_id=cycle.id,
            voter_key=integrity.voter_key(KEY, cycle.id, voter.id),
            channel="online",
            receipt="legacy",
        )
    )
    db.session.flush()
    assert _code(lambda: _desk(db, make_user(role="staff"), cycle, [a], voter.iin)) == (
        "other_channel"
    )


def test_desk_refuses_bad_iin_other_region_other_district_and_no_declaration(
    db, voting, new_cycle, make_project
):
    cycle, (a, _b, _c) = voting
    staff = make_user(role="staff")
    assert _code(lambda: _desk(db, staff, cycle, [a], "900101300010")) == "iin_invalid"
    assert _code(lambda: _desk(db, staff, cycle, [a], make_iin(), declared=False)) == (
        "residence_undeclared"
    )
    elsewhere = make_user(region="KZ-71")
    assert _code(lambda: _desk(db, staff, cycle, [a], elsewhere.iin)) == "other_region"
    # No account, but the IIN is in another region's voter register.
    registered = make_iin()
    other = region_by_code(db.session, "KZ-71")
    db.session.add(
        VoterRegisterEntry(region_id=other.id, iin_hash=iin_digest(registered, iin_key()))
    )
    db.session.flush()
    assert _code(lambda: _desk(db, staff, cycle, [a], registered)) == "other_region"
    # A district's cycle: the declared district must be that one.
    region = region_by_code(db.session, "KZ-75")
    first, second = region.districts[:2]
    district_cycle = new_cycle("voting", budget=1_000, district_id=first.id)
    project = make_project(district_cycle, 100)
    assert _code(lambda: _desk(db, staff, district_cycle, [project], make_iin())) == (
        "other_district"
    )
    assert (
        _code(
            lambda: _desk(db, staff, district_cycle, [project], make_iin(), district_id=second.id)
        )
        == "other_district"
    )
    ok = _desk(db, staff, district_cycle, [project], make_iin(), district_id=first.id)
    assert ok.district_id == first.id
    assert _count(db, Ballot, Ballot.cycle_id == cycle.id) == 0


def test_only_staff_of_the_region_use_the_desk(db, voting):
    cycle, (a, _b, _c) = voting
    iin = make_iin()
    for actor in (
        make_user(),
        make_user(role="staff", region="KZ-71"),
        make_user(role="moderator"),
    ):
        assert _code(lambda actor=actor: _desk(db, actor, cycle, [a], iin)) == "forbidden"
    assert _count(db, Ballot, Ballot.cycle_id == cycle.id) == 0


# ------------------------------------------------------------------ tally-sheet batches
def _batch(db, staff, cycle, rows, station="School No. 12"):
    return paper.enter_batch(
        db.session,
        staff,
        cycle,
        station=station,
        rows=[(n + 1, [p.id for p in row]) for n, row in enumerate(rows)],
    )


def _tallies(db, cycle):
    counts = services.vote_counts(db.session, cycle)
    return (
        counts,
        services.turnout(db.session, cycle)["total"],
        integrity.count(db.session, cycle),
        services.votes_of(db.session, list(counts)),
    )


def test_a_batch_counts_only_after_another_staff_member_confirms(db, voting):
    cycle, (a, b, c) = voting
    first, second = make_user(role="staff"), make_user(role="staff")
    online = make_user()
    services.cast_ballot(db.session, online, cycle, [a.id], secret=SECRET, ballot_key=KEY)
    batch = _batch(db, first, cycle, [[a, b], [c], [b, c]])
    db.session.commit()
    assert batch.status == "pending" and batch.size == 3
    zero = {a.id: 1, b.id: 0, c.id: 0}
    assert _tallies(db, cycle) == (zero, 1, 1, zero)  # the pending batch counts nowhere
    assert _count(db, Ballot, Ballot.cycle_id == cycle.id) == 1

    assert _code(lambda: paper.confirm_batch(db.session, first, batch, secret=SECRET)) == (
        "batch_own"
    )
    db.session.rollback()
    assert (
        _code(lambda: paper.confirm_batch(db.session, make_user(), batch, secret=SECRET))
        == "forbidden"
    )
    db.session.rollback()
    assert db.session.get(PaperBatch, batch.id).status == "pending"

    paper.confirm_batch(db.session, second, batch, secret=SECRET)
    db.session.commit()
    after = {a.id: 2, b.id: 2, c.id: 2}
    assert _tallies(db, cycle) == (after, 4, 4, after)
    assert batch.status == "confirmed" and batch.decided_by_id == second.id
    stored = db.session.scalars(
        sa.select(Ballot).where(Ballot.cycle_id == cycle.id, Ballot.channel == "paper")
    ).all()
    assert sorted(sorted(s.project_ids) for s in stored) == sorted(
        [sorted([a.id, b.id]), [c.id], sorted([b.id, c.id])]
    )
    assert {(s.voter_key, s.iin_key, s.entered_by_id) for s in stored} == {(None, None, first.id)}
    assert integrity.verify_cycle(db.session, cycle, SECRET) is None
    entries = db.session.scalars(sa.select(PaperEntry).where(PaperEntry.batch_id == batch.id))
    assert {e.ballot_id for e in entries} == {s.id for s in stored}
    assert _actions(db)[-2:] == ["budgeting.paper_batch_enter", "budgeting.paper_batch_confirm"]
    # Decided once: neither a second confirmation nor a rejection changes anything.
    third = make_user(role="staff")
    assert _code(lambda: paper.confirm_batch(db.session, third, batch, secret=SECRET)) == (
        "batch_decided"
    )
    assert _code(lambda: paper.reject_batch(db.session, third, batch, reason="late")) == (
        "batch_decided"
    )
    db.session.rollback()
    assert services.turnout(db.session, cycle)["total"] == 4


def test_a_rejected_batch_leaves_nothing(db, voting):
    cycle, (a, b, _c) = voting
    first, second = make_user(role="staff"), make_user(role="staff")
    batch = _batch(db, first, cycle, [[a], [b]])
    assert _code(lambda: paper.reject_batch(db.session, second, batch, reason=" ")) == (
        "reason_required"
    )
    paper.reject_batch(db.session, second, batch, reason="Sheet photographed twice")
    db.session.commit()
    assert batch.status == "rejected" and batch.reason == "Sheet photographed twice"
    assert _count(db, PaperEntry, PaperEntry.batch_id == batch.id) == 0
    assert _count(db, Ballot, Ballot.cycle_id == cycle.id) == 0
    assert _count(db, LedgerLeaf, LedgerLeaf.cycle_id == cycle.id) == 0
    assert _tallies(db, cycle)[1:3] == (0, 0)
    assert "budgeting.paper_batch_reject" in _actions(db)
    assert _code(lambda: paper.confirm_batch(db.session, first, batch, secret=SECRET)) == (
        "batch_decided"
    )


def test_the_database_refuses_a_batch_confirmed_by_the_one_who_typed_it(db, voting):
    cycle, (a, _b, _c) = voting
    first = make_user(role="staff")
    batch = _batch(db, first, cycle, [[a]])
    batch.status, batch.decided_by_id = "confirmed", first.id
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_batch_rows_are_checked_against_the_ballot_rule(db, voting):
    cycle, (a, b, c) = voting
    staff = make_user(role="staff")
    with pytest.raises(BudgetRuleError) as caught:
        _batch(db, staff, cycle, [[a], [a, b, c]])  # 1 300 tenge > budget 1 000
    assert caught.value.code == "batch_row" and caught.value.details["line"] == 2
    assert caught.value.details["problem"].code == "over_budget"
    with pytest.raises(BudgetRuleError) as caught:
        paper.enter_batch(db.session, staff, cycle, station="X", rows=[(7, [999_999])])
    assert caught.value.details["problem"].code == "unknown"
    assert _code(lambda: _batch(db, staff, cycle, [])) == "batch_empty"
    assert _code(lambda: _batch(db, staff, cycle, [[a]], station="  ")) == "station_required"
    assert _count(db, PaperBatch, PaperBatch.cycle_id == cycle.id) == 0
    rows, errors = paper.parse_sheet("12, 15 31\n\n  7;8\nx 9\n")
    assert rows == [(1, [12, 15, 31]), (3, [7, 8])] and errors == [(4, "not_ids")]


def test_batches_only_while_voting(db, new_cycle, make_project):
    cycle = new_cycle("results")
    project = make_project(cycle, 100)
    staff = make_user(role="staff")
    assert _code(lambda: _batch(db, staff, cycle, [[project]])) == "wrong_phase"


def test_a_batch_for_a_district_heading_counts_in_that_heading_only(db, new_cycle, make_project):
    """A sheet is typed for one heading: its rows are checked against that heading's
    projects and rule, its district is the heading's, and once a second staff member
    confirms, its ballots are that heading's (the main heading's counts do not move)."""
    from portal.budgeting import headings

    region = region_by_code(db.session, "KZ-75")
    home, other = region.districts[0], region.districts[1]
    first, second = make_user(role="staff"), make_user(role="staff")
    cycle = new_cycle("proposals", budget=1_000)
    district = headings.add_heading(
        db.session, first, cycle, name=home.name_kk, budget=300, district_id=home.id,
        ballot_rule="k_approval", max_choices=2, winner_rule="greedy",
    )  # fmt: skip
    city_wide = make_project(cycle, 400)
    x, y, z = (make_project(cycle, 100, heading_id=district.id) for _ in range(3))
    now = cycle.voting_open_at + dt.timedelta(hours=1)

    def enter(rows, **kwargs):
        kwargs.setdefault("heading", district)
        return paper.enter_batch(
            db.session, first, cycle, station="Yard 5", now=now,
            rows=[(n + 1, [p.id for p in row]) for n, row in enumerate(rows)], **kwargs,
        )  # fmt: skip

    with pytest.raises(BudgetRuleError) as caught:
        enter([[x], [x, city_wide]])  # the city-wide project is not on this heading's ballot
    assert caught.value.details["line"] == 2
    assert caught.value.details["problem"].code == "unknown"
    with pytest.raises(BudgetRuleError) as caught:
        enter([[x, y, z]])  # the heading's own rule: at most 2 projects
    assert caught.value.details["problem"].code == "too_many"
    assert _code(lambda: enter([[x]], district_id=other.id)) == "batch_district"
    assert _code(lambda: enter([[x]], heading=999_999)) == "heading_unknown"
    assert _count(db, PaperBatch, PaperBatch.cycle_id == cycle.id) == 0

    batch = enter([[x, y], [z], [y]])
    main_batch = enter([[city_wide]], heading=None)
    db.session.commit()
    assert (batch.heading_id, batch.district_id) == (district.id, home.id)
    assert main_batch.heading_id == headings.main_heading(db.session, cycle).id
    assert services.turnout(db.session, cycle, district)["total"] == 0  # pending counts nowhere

    assert _code(lambda: paper.confirm_batch(db.session, first, batch, secret=SECRET, now=now)) == (
        "batch_own"
    )
    db.session.rollback()
    paper.confirm_batch(db.session, second, batch, secret=SECRET, now=now)
    db.session.commit()
    stored = db.session.scalars(
        sa.select(Ballot).where(Ballot.cycle_id == cycle.id, Ballot.channel == "paper")
    ).all()
    assert {(s.heading_id, s.district_id) for s in stored} == {(district.id, home.id)}
    assert sorted(sorted(s.project_ids) for s in stored) == sorted(
        [sorted([x.id, y.id]), [z.id], [y.id]]
    )
    assert services.turnout(db.session, cycle, district)["total"] == 3
    main = headings.main_heading(db.session, cycle)
    assert services.turnout(db.session, cycle, main)["total"] == 0
    assert integrity.count(db.session, cycle) == 3
    assert integrity.verify_cycle(db.session, cycle, SECRET) is None
