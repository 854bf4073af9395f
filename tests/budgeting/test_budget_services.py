"""Services: cycles, phases, proposals, review, voting incl. paper ballots, results."""

import datetime as dt

import budget_fixtures
import pytest
from helpers import make_user
from sqlalchemy import func, select

from portal.budgeting import publishing, services
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.models import (
    Ballot,
    BallotChoice,
    BudgetCycle,
    Notification,
    PhaseChange,
    Proposal,
)
from portal.regions.services import region_by_code

# Shared fixtures (a conftest.py here would shadow tests/browser/conftest.py).
make_project = budget_fixtures.make_project

SECRET = "test-secret"


def _ballots(db, cycle):
    return db.session.scalar(select(func.count()).where(Ballot.cycle_id == cycle.id))


def _code(call):
    with pytest.raises(BudgetRuleError) as caught:
        call()
    return caught.value.code


# ------------------------------------------------------------------ cycles
def _cycle_values(**overrides):
    start = dt.datetime(2026, 3, 1)
    values = {
        "title_kk": "Бюджет",
        "title_ru": "Бюджет",
        "title_en": "Budget",
        "budget": 5_000_000,
        "ballot_rule": "knapsack",
        "winner_rule": "greedy",
        "proposals_open_at": start,
        "review_open_at": start + dt.timedelta(days=10),
        "voting_open_at": start + dt.timedelta(days=20),
        "voting_close_at": start + dt.timedelta(days=30),
    }
    values.update(overrides)
    return values


def test_staff_create_a_cycle_in_their_region_only(db):
    staff = make_user(role="staff")
    almaty = region_by_code(db.session, "KZ-75")
    cycle = services.create_cycle(db.session, staff, almaty, **_cycle_values())
    assert cycle.id and cycle.budget == 5_000_000 and cycle.region_id == almaty.id
    astana = region_by_code(db.session, "KZ-71")
    assert _code(lambda: services.create_cycle(db.session, staff, astana, **_cycle_values())) == (
        "forbidden"
    )
    resident = make_user()
    assert (
        _code(lambda: services.create_cycle(db.session, resident, almaty, **_cycle_values()))
        == "forbidden"
    )


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"budget": 0}, "cost_not_positive"),
        ({"budget": "1.5"}, "cost_fraction"),
        ({"cost_cap": 6_000_000}, "cap_over_budget"),
        ({"ballot_rule": "k_approval"}, "k_required"),
        ({"title_en": ""}, "titles_required"),
        ({"voting_close_at": dt.datetime(2026, 3, 15)}, "dates_order"),
    ],
)
def test_bad_cycle_values_are_refused(db, overrides, code):
    staff = make_user(role="staff")
    almaty = region_by_code(db.session, "KZ-75")
    before = db.session.scalar(select(func.count()).select_from(BudgetCycle))
    assert (
        _code(
            lambda: services.create_cycle(db.session, staff, almaty, **_cycle_values(**overrides))
        )
        == code
    )
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(BudgetCycle)) == before


def test_moving_the_phase_by_hand_is_recorded(db, new_cycle):
    cycle = new_cycle("proposals")
    staff = make_user(role="staff")
    services.move_phase(db.session, staff, cycle, "voting")
    assert cycle.phase() == "voting"
    change = db.session.scalar(select(PhaseChange).where(PhaseChange.cycle_id == cycle.id))
    assert (change.from_phase, change.to_phase, change.actor_id) == (
        "proposals",
        "voting",
        staff.id,
    )
    # Once voting has opened the rules are frozen: no way back to an earlier phase.
    assert _code(lambda: services.move_phase(db.session, staff, cycle, None)) == "rules_frozen"
    assert cycle.phase() == "voting"


# ------------------------------------------------------------------ proposals
def _proposal(**overrides):
    values = {
        "title": "Playground on Abay street",
        "description": "<p>Swings and a <b>sandpit</b></p>",
        "category": "yards",
        "estimated_cost": "2 000 000",
        "address": "Abay 10",
    }
    values.update(overrides)
    return values


def test_verified_resident_submits_edits_and_withdraws(db, new_cycle):
    cycle = new_cycle("proposals", cost_cap=3_000_000)
    author = make_user()
    proposal = services.submit_proposal(db.session, author, cycle, **_proposal())
    assert proposal.estimated_cost == 2_000_000 and proposal.status == "submitted"
    services.edit_proposal(db.session, author, proposal, **_proposal(title="Bigger playground"))
    assert proposal.title == "Bigger playground"
    other = make_user()
    assert _code(lambda: services.withdraw_proposal(db.session, other, proposal)) == "forbidden"
    services.withdraw_proposal(db.session, author, proposal)
    assert proposal.status == "withdrawn"
    assert [e.kind for e in proposal.events] == ["submitted", "edited", "withdrawn"]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"estimated_cost": "-1"}, "cost_not_positive"),
        ({"estimated_cost": "0"}, "cost_not_positive"),
        ({"estimated_cost": "1000.50"}, "cost_fraction"),
        ({"estimated_cost": "NaN"}, "cost_not_number"),
        ({"estimated_cost": "9" * 30}, "cost_too_large"),
        ({"estimated_cost": "3000001"}, "cost_over_cap"),
        ({"category": "casino"}, "category_unknown"),
        ({"title": "  "}, "title_required"),
        ({"description": "<p> </p><br>"}, "description_required"),
    ],
)
def test_bad_proposals_write_nothing(db, new_cycle, overrides, code):
    cycle = new_cycle("proposals", cost_cap=3_000_000)
    author = make_user()
    assert (
        _code(lambda: services.submit_proposal(db.session, author, cycle, **_proposal(**overrides)))
        == code
    )
    assert cycle.proposals.count() == 0


def test_xss_payloads_are_stored_clean(db, new_cycle):
    cycle = new_cycle("proposals")
    author = make_user()
    payload = (
        '<p>Hi<img src=x onerror="alert(1)"><a href="javascript:alert(2)">x</a>'
        '<svg onload="alert(3)"></svg><a href="https://ok.kz">ok</a></p>'
    )
    proposal = services.submit_proposal(db.session, author, cycle, **_proposal(description=payload))
    html = proposal.description_html
    for bad in ("onerror", "javascript:", "onload", "<svg", "<img"):
        assert bad not in html
    assert 'href="https://ok.kz"' in html


def test_only_verified_residents_of_the_region_propose_in_the_phase(db, new_cycle):
    cycle = new_cycle("proposals")
    unverified = make_user(verified=False)
    outsider = make_user(region="KZ-71")
    for user in (unverified, outsider):
        assert _code(
            lambda u=user: services.submit_proposal(db.session, u, cycle, **_proposal())
        ) == ("not_resident")
    closed = new_cycle("review")
    assert (
        _code(lambda: services.submit_proposal(db.session, make_user(), closed, **_proposal()))
        == "wrong_phase"
    )


def test_review_notifies_the_author_and_requires_a_reason(db, new_cycle, make_project):
    cycle = new_cycle("review")
    staff = make_user(role="staff")
    project = make_project(cycle, 500_000, status="submitted")
    assert (
        _code(lambda: services.review_proposal(db.session, staff, project, feasible=False))
        == "reason_required"
    )
    services.review_proposal(db.session, staff, project, feasible=False, reason="Private land")
    assert project.status == "infeasible" and project.review_reason == "Private land"
    services.review_proposal(db.session, staff, project, feasible=True, final_cost="450000")
    assert project.status == "feasible" and project.cost == 450_000
    kinds = db.session.scalars(
        select(Notification.kind).where(Notification.user_id == project.author_id)
    ).all()
    assert kinds == ["infeasible", "feasible"]
    moderator = make_user(role="moderator")
    assert (
        _code(lambda: services.review_proposal(db.session, moderator, project, feasible=True))
        == "forbidden"
    )


# ------------------------------------------------------------------ voting
@pytest.fixture
def voting(new_cycle, make_project):
    cycle = new_cycle("voting", budget=1_000_000)
    projects = [make_project(cycle, cost) for cost in (600_000, 400_000, 300_000)]
    return cycle, projects


def test_vote_is_stored_with_a_receipt_and_can_be_changed(db, voting):
    cycle, (a, b, c) = voting
    voter = make_user()
    ballot = services.cast_ballot(db.session, voter, cycle, [str(a.id), str(b.id)], secret=SECRET)
    assert sorted(ballot.project_ids) == sorted([a.id, b.id])
    assert ballot.channel == "online" and len(ballot.receipt) == 16
    first_receipt = ballot.receipt
    assert services.find_receipt(db.session, first_receipt) == ballot
    assert services.receipt_is_current(ballot, SECRET)
    changed = services.cast_ballot(db.session, voter, cycle, [str(c.id)], secret=SECRET)
    assert changed.id == ballot.id and changed.project_ids == [c.id]
    assert changed.receipt != first_receipt
    assert _ballots(db, cycle) == 1


def test_final_ballots_cannot_be_changed(db, new_cycle, make_project):
    cycle = new_cycle("voting", ballots_final=True)
    project = make_project(cycle, 100)
    voter = make_user()
    services.cast_ballot(db.session, voter, cycle, [project.id], secret=SECRET)
    assert (
        _code(lambda: services.cast_ballot(db.session, voter, cycle, [project.id], secret=SECRET))
        == "already_voted"
    )


def test_bad_ballots_write_nothing(db, voting, new_cycle, make_project):
    cycle, (a, b, c) = voting
    voter = make_user()
    other_cycle = new_cycle("voting", region="KZ-71")
    foreign = make_project(other_cycle, 10)
    withdrawn = make_project(cycle, 10, status="withdrawn")
    infeasible = make_project(cycle, 10, status="infeasible")
    cases = {
        "over_budget": [a.id, b.id, make_project(cycle, 1).id],  # 1 tenge over
        "duplicate": [a.id, a.id],
        "unknown": [foreign.id],
        "empty": [],
    }
    for code, choices in cases.items():
        assert (
            _code(
                lambda ch=choices: services.cast_ballot(db.session, voter, cycle, ch, secret=SECRET)
            )
            == code
        )
    for project in (withdrawn, infeasible):
        assert (
            _code(
                lambda p=project: services.cast_ballot(
                    db.session, voter, cycle, [p.id], secret=SECRET
                )
            )
            == "unknown"
        )
    for junk in (["1.5"], ["-1"], ["abc"], ["NaN"]):
        assert (
            _code(lambda j=junk: services.cast_ballot(db.session, voter, cycle, j, secret=SECRET))
            == "unknown"
        )
    assert _ballots(db, cycle) == 0


def test_k_approval_and_single(db, new_cycle, make_project):
    k_cycle = new_cycle("voting", ballot_rule="k_approval", max_choices=2)
    ids = [make_project(k_cycle, 10**9 // 2).id for _ in range(3)]
    voter = make_user()
    assert _code(lambda: services.cast_ballot(db.session, voter, k_cycle, ids, secret=SECRET)) == (
        "too_many"
    )
    # Cost is ignored under k-approval: two projects over the budget are fine.
    assert services.cast_ballot(db.session, voter, k_cycle, ids[:2], secret=SECRET).id
    single = new_cycle("voting", ballot_rule="single")
    one, two = make_project(single, 5), make_project(single, 5)
    assert (
        _code(
            lambda: services.cast_ballot(db.session, voter, single, [one.id, two.id], secret=SECRET)
        )
        == "single"
    )


def test_voting_window_is_exact_to_the_second(db, voting):
    cycle, (a, _b, _c) = voting
    voter = make_user()
    before = cycle.voting_open_at - dt.timedelta(seconds=1)
    after = cycle.voting_close_at
    for moment in (before, after):
        assert (
            _code(
                lambda m=moment: services.cast_ballot(
                    db.session, voter, cycle, [a.id], secret=SECRET, now=m
                )
            )
            == "wrong_phase"
        )
    last = cycle.voting_close_at - dt.timedelta(seconds=1)
    assert services.cast_ballot(db.session, voter, cycle, [a.id], secret=SECRET, now=last).id
    first = make_user()
    assert services.cast_ballot(
        db.session, first, cycle, [a.id], secret=SECRET, now=cycle.voting_open_at
    ).id


def test_non_verified_non_resident_and_wrong_district_voters_are_refused(db, voting, new_cycle):
    cycle, (a, _b, _c) = voting
    for voter in (make_user(verified=False), make_user(region="KZ-71")):
        assert (
            _code(lambda v=voter: services.cast_ballot(db.session, v, cycle, [a.id], secret=SECRET))
            == "not_resident"
        )
    almaty = region_by_code(db.session, "KZ-75")
    district, other = almaty.districts[0], almaty.districts[1]
    cycle.district_id = district.id
    db.session.commit()
    assert (
        _code(
            lambda: services.cast_ballot(
                db.session, make_user(district=other), cycle, [a.id], secret=SECRET
            )
        )
        == "not_resident"
    )
    assert services.cast_ballot(
        db.session, make_user(district=district), cycle, [a.id], secret=SECRET
    )
    assert _ballots(db, cycle) == 1


def test_paper_and_online_exclude_each_other(db, voting):
    cycle, (a, b, _c) = voting
    staff = make_user(role="staff")
    paper_voter, online_voter = make_user(), make_user()
    ballot = services.cast_ballot(
        db.session, staff, cycle, [a.id], secret=SECRET, voter=paper_voter, channel="paper"
    )
    assert ballot.channel == "paper" and ballot.entered_by_id == staff.id
    assert (
        _code(lambda: services.cast_ballot(db.session, paper_voter, cycle, [b.id], secret=SECRET))
        == "other_channel"
    )
    services.cast_ballot(db.session, online_voter, cycle, [b.id], secret=SECRET)
    assert (
        _code(
            lambda: services.cast_ballot(
                db.session, staff, cycle, [a.id], secret=SECRET, voter=online_voter, channel="paper"
            )
        )
        == "other_channel"
    )
    resident = make_user()
    assert (
        _code(
            lambda: services.cast_ballot(
                db.session,
                resident,
                cycle,
                [a.id],
                secret=SECRET,
                voter=online_voter,
                channel="paper",
            )
        )
        == "forbidden"
    )
    assert services.turnout(db.session, cycle)["channel"] == {"paper": 1, "online": 1}


def test_counts_hidden_until_voting_closes_admins_included(db, voting):
    cycle, _projects = voting
    admin, staff = make_user(role="admin"), make_user(role="staff")
    assert not services.counts_visible(admin, cycle)
    assert not services.counts_visible(staff, cycle)
    assert not services.counts_visible(None, cycle)
    assert services.counts_visible(None, cycle, now=cycle.voting_close_at)


# ------------------------------------------------------------------ results and implementation
def test_results_greedy_and_mes_then_publish_and_implement(db, new_cycle, make_project):
    cycle = new_cycle("voting", budget=1_100, min_votes=2)
    a, b, c, d = (make_project(cycle, cost) for cost in (600, 500, 400, 100))
    for choices in ([a, c], [a, c], [a], [b], [d]):
        services.cast_ballot(db.session, make_user(), cycle, [p.id for p in choices], secret=SECRET)
    staff = make_user(role="staff")
    assert _code(lambda: publishing.compute_results(db.session, staff, cycle)) == "wrong_phase"
    services.move_phase(db.session, staff, cycle, "results")
    greedy, mes = publishing.compute_results(db.session, staff, cycle, rules=["greedy", "mes"])
    # a (3 votes, 600), c (2 votes, 400); b and d have 1 vote < min_votes 2 and cannot win,
    # though d would still fit in the 100 tenge left.
    assert greedy.data["selected"] == [a.id, c.id] and greedy.total_cost == 1_000
    assert greedy.data["votes"][str(d.id)] == 1
    assert mes.data["payments"]  # MES shows how each cost was shared
    assert publishing.published_result(db.session, cycle) is None
    publishing.publish_results(db.session, staff, cycle)
    assert publishing.published_result(db.session, cycle).rule == "greedy"
    assert a.funded and c.funded and not b.funded and a.implementation_status == "planned"
    assert (
        _code(lambda: services.add_update(db.session, staff, b, status="in_progress", progress=5))
        == "not_funded"
    )
    assert (
        _code(lambda: services.add_update(db.session, staff, a, status="cancelled", progress=5))
        == "reason_required"
    )
    services.add_update(db.session, staff, a, status="in_progress", progress="40", note="Started")
    assert a.implementation_status == "in_progress" and a.progress == 40
    services.add_update(db.session, staff, a, status="done", progress=90)
    assert a.progress == 100


def test_photos_are_type_and_size_checked(db, new_cycle, make_project, tmp_path):
    cycle = new_cycle("proposals")
    author = make_user()
    project = make_project(cycle, 100, status="submitted", author=author)
    assert _code(
        lambda: services.add_photo(
            db.session, author, project, b"\x89PNG\r\n\x1a\n" + b"0", tmp_path
        )
    ) == ("photo_type")  # a signature alone is not an image: it must decode
    png = _png()
    photo = services.add_photo(db.session, author, project, png, tmp_path)
    stored = tmp_path / "budget" / photo.filename
    assert stored.read_bytes()[:8] == png[:8] and photo.content_type == "image/png"
    assert _code(lambda: services.add_photo(db.session, author, project, b"<svg/>", tmp_path)) == (
        "photo_type"
    )
    big = b"\xff\xd8\xff" + b"0" * services.MAX_PHOTO_BYTES
    assert _code(lambda: services.add_photo(db.session, author, project, big, tmp_path)) == (
        "photo_large"
    )
    assert [p.name for p in (tmp_path / "budget").iterdir() if p.is_file()] == [photo.filename]


def _png():
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


def test_ballot_choices_cannot_repeat_in_the_database(db, voting):
    cycle, (a, _b, _c) = voting
    ballot = services.cast_ballot(db.session, make_user(), cycle, [a.id], secret=SECRET)
    assert db.session.scalar(select(func.count()).where(BallotChoice.ballot_id == ballot.id)) == 1
    assert db.session.get(Proposal, a.id).cycle_id == cycle.id


def test_cli_computes_and_publishes(app, db, new_cycle, make_project):
    cycle = new_cycle("voting", budget=100)
    project = make_project(cycle, 60)
    services.cast_ballot(db.session, make_user(), cycle, [project.id], secret=SECRET)
    staff = make_user(role="staff")
    services.move_phase(db.session, staff, cycle, "results")
    db.session.commit()
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["budgeting", "cycles"])
    assert f"{cycle.id:>5}" in listing.output and "results" in listing.output
    computed = runner.invoke(
        args=["budgeting", "compute-results", str(cycle.id), "--as", staff.email]
    )
    assert computed.exit_code == 0 and f"greedy: [{project.id}] total 60" in computed.output
    published = runner.invoke(
        args=["budgeting", "publish-results", str(cycle.id), "--as", staff.email]
    )
    assert published.exit_code == 0, published.output
    assert publishing.published_result(db.session, cycle).data["selected"] == [project.id]
    refused = runner.invoke(args=["budgeting", "compute-results", "999999", "--as", staff.email])
    assert refused.exit_code != 0
