"""The web flow: cycle page, proposals, review, ballot with receipt, paper ballots, results."""

import re

import budget_fixtures
import pytest
from helpers import make_user, post_form
from sqlalchemy import func, select

from portal.budgeting import services
from portal.budgeting.models import Ballot, BudgetCycle, Proposal
from portal.regions.services import region_by_code

# Shared fixtures (a conftest.py here would shadow tests/browser/conftest.py).
make_project = budget_fixtures.make_project

EN = {"Accept-Language": "en"}


def _ballots(db, cycle):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).where(Ballot.cycle_id == cycle.id))


def test_staff_create_a_cycle_with_local_dates(db, as_role):
    staff = as_role("staff")
    region = region_by_code(db.session, "KZ-75")
    data = {
        "region_id": region.id,
        "district_id": 0,
        "title_kk": "Алматы бюджеті",
        "title_ru": "Бюджет Алматы",
        "title_en": "Almaty budget",
        "budget": "150 000 000",
        "cost_cap": "",
        "ballot_rule": "knapsack",
        "winner_rule": "mes",
        "proposals_open_at": "2026-03-01T09:00",
        "review_open_at": "2026-04-01T09:00",
        "voting_open_at": "2026-05-01T09:00",
        "voting_close_at": "2026-05-15T21:00",
    }
    response = post_form(staff, "/budget/new", data, token_from="/budget/new")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    cycle = db.session.scalar(select(BudgetCycle).where(BudgetCycle.title_en == "Almaty budget"))
    assert cycle.budget == 150_000_000 and cycle.winner_rule == "mes"
    # 09:00 in Almaty is 04:00 UTC.
    assert cycle.proposals_open_at.hour == 4 and cycle.voting_close_at.hour == 16
    page = staff.get(f"/budget/{cycle.id}", headers=EN).get_data(as_text=True)
    assert "May 15, 2026, 21:00" in page and "Almaty budget" in page


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        ("budget", "NaN", "whole tenge"),
        ("budget", "-100", "more than zero"),
        ("budget", "1.5", "without tiyn"),
        ("voting_close_at", "2026-04-15T09:00", "start after the previous"),
    ],
)
def test_bad_cycle_form_is_refused(db, as_role, field, value, text):
    staff = as_role("staff")
    region = region_by_code(db.session, "KZ-75")
    data = {
        "region_id": region.id,
        "district_id": 0,
        "title_kk": "a",
        "title_ru": "b",
        "title_en": "Bad cycle",
        "budget": "1000",
        "ballot_rule": "knapsack",
        "winner_rule": "greedy",
        "proposals_open_at": "2026-03-01T09:00",
        "review_open_at": "2026-04-01T09:00",
        "voting_open_at": "2026-05-01T09:00",
        "voting_close_at": "2026-05-15T21:00",
        field: value,
    }
    response = post_form(staff, "/budget/new", data, token_from="/budget/new", headers=EN)
    assert response.status_code == 422 and text in response.get_data(as_text=True)
    assert db.session.scalar(select(BudgetCycle).where(BudgetCycle.title_en == "Bad cycle")) is None


def _proposal_data(**overrides):
    data = {
        "title": "Benches in the park",
        "description": "<p>Ten benches</p>",
        "category": "greenery",
        "district_id": 0,
        "address": "Central park",
        "estimated_cost": "1 200 000",
    }
    data.update(overrides)
    return data


def test_resident_proposes_and_sees_it_listed(db, as_role, new_cycle):
    cycle = new_cycle("proposals")
    resident = as_role("resident")
    url = f"/budget/{cycle.id}/proposals/new"
    response = post_form(resident, url, _proposal_data(), token_from=url)
    assert response.status_code == 302
    proposal = db.session.scalar(select(Proposal).where(Proposal.cycle_id == cycle.id))
    assert proposal.estimated_cost == 1_200_000 and proposal.author_id == resident.user.id
    listing = resident.get(f"/budget/{cycle.id}/proposals?q=bench&category=greenery")
    assert "Benches in the park" in listing.get_data(as_text=True)
    empty = resident.get(f"/budget/{cycle.id}/proposals?q=zzz").get_data(as_text=True)
    assert "Benches in the park" not in empty
    assert resident.get(f"/budget/{cycle.id}/proposals?page=abc").status_code == 400


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"estimated_cost": "-5"}, "more than zero"),
        ({"estimated_cost": "0"}, "more than zero"),
        ({"estimated_cost": "10.5"}, "without tiyn"),
        ({"estimated_cost": "NaN"}, "whole tenge"),
        ({"estimated_cost": "1" * 40}, "too large"),
        ({"estimated_cost": "5000001"}, "may not be more than"),
    ],
)
def test_bad_costs_in_the_form_write_nothing(db, as_role, new_cycle, overrides, text):
    cycle = new_cycle("proposals", cost_cap=5_000_000)
    resident = as_role("resident")
    url = f"/budget/{cycle.id}/proposals/new"
    response = post_form(resident, url, _proposal_data(**overrides), token_from=url, headers=EN)
    assert response.status_code == 422
    assert text in response.get_data(as_text=True)
    assert cycle.proposals.count() == 0


def test_xss_in_description_never_reaches_the_page(db, as_role, new_cycle):
    cycle = new_cycle("proposals")
    resident = as_role("resident")
    url = f"/budget/{cycle.id}/proposals/new"
    payload = (
        '<img src=x onerror=alert(1)><a href="javascript:alert(1)">a</a>'
        "<svg onload=alert(1)></svg><p>Fine text</p>"
    )
    post_form(resident, url, _proposal_data(description=payload), token_from=url)
    proposal = db.session.scalar(select(Proposal).where(Proposal.cycle_id == cycle.id))
    page = resident.get(f"/budget/proposals/{proposal.id}").get_data(as_text=True)
    assert "Fine text" in page
    for bad in ("onerror", "javascript:", "onload", "<svg"):
        assert bad not in page


def test_unverified_resident_cannot_propose_and_wrong_phase_is_explained(db, as_role, new_cycle):
    cycle = new_cycle("proposals")
    unverified = as_role("resident", verified=False)
    url = f"/budget/{cycle.id}/proposals/new"
    assert unverified.get(url).status_code == 403
    closed = new_cycle("voting")
    resident = as_role("resident")
    response = resident.get(f"/budget/{closed.id}/proposals/new", headers=EN)
    assert response.status_code == 302
    follow = resident.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Voting" in follow and "not possible now" in follow


def test_staff_review_is_public_and_notifies(db, as_role, new_cycle, make_project):
    cycle = new_cycle("review")
    author = make_user()
    project = make_project(cycle, 100_000, status="submitted", author=author)
    staff = as_role("staff")
    url = f"/budget/proposals/{project.id}/review"
    token = f"/budget/proposals/{project.id}"
    response = post_form(staff, url, {"decision": "infeasible", "reason": ""}, token_from=token)
    assert response.status_code == 303
    db.session.refresh(project)
    assert project.status == "submitted"
    response = post_form(
        staff, url, {"decision": "infeasible", "reason": "Road belongs to the republic"}, token
    )
    assert response.status_code == 302
    public = as_role("anonymous").get(f"/budget/{cycle.id}/proposals").get_data(as_text=True)
    assert "Road belongs to the republic" in public
    from helpers import login

    from portal.extensions import db as _db  # noqa: F401

    author_client = as_role("anonymous")
    login(author_client, author)
    notes = author_client.get("/budget/notifications", headers=EN).get_data(as_text=True)
    assert "was found not feasible" in notes


def _ballot_post(client, cycle, projects, **kwargs):
    url = f"/budget/{cycle.id}/ballot"
    data = {"project": [str(p) for p in projects]}
    return post_form(client, url, data, token_from=url, **kwargs)


@pytest.fixture
def voting(new_cycle, make_project):
    cycle = new_cycle("voting", budget=1_000_000)
    projects = [make_project(cycle, cost, title=f"P{cost}") for cost in (600_000, 400_000, 1)]
    return cycle, projects


def test_vote_receipt_and_lookup(db, as_role, voting):
    cycle, (a, b, _c) = voting
    resident = as_role("resident")
    page = resident.get(f"/budget/{cycle.id}/ballot", headers=EN).get_data(as_text=True)
    assert "<fieldset" in page and "<legend>" in page and 'aria-live="polite"' in page
    response = _ballot_post(resident, cycle, [a.id, b.id])
    assert response.status_code == 302
    receipt_page = resident.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    code = re.search(r'class="receipt-code">([0-9a-f-]{19})<', receipt_page).group(1)
    ballot = db.session.scalar(select(Ballot).where(Ballot.cycle_id == cycle.id))
    assert code.replace("-", "") == ballot.receipt
    other = as_role("anonymous")
    lookup = other.get(f"/budget/receipt?code={code.upper()}", headers=EN)
    text = lookup.get_data(as_text=True)
    assert lookup.status_code == 200 and "is counted" in text
    assert "P600000" not in text  # the content is not shown to others
    assert other.get("/budget/receipt?code=0000000000000000").status_code == 404
    # Someone else cannot open the receipt page itself.
    assert as_role("resident").get(response.headers["Location"]).status_code == 403


@pytest.mark.parametrize(
    ("choice", "status", "text"),
    [
        ("over", 422, "more than the budget"),
        ("twice", 422, "chosen twice"),
        ("foreign", 422, "not on this ballot"),
        ("junk", 422, "not on this ballot"),
        ("none", 422, "at least one"),
    ],
)
def test_bad_ballots_via_the_web_write_nothing(
    db, as_role, voting, new_cycle, make_project, choice, status, text
):
    cycle, (a, b, c) = voting
    foreign = make_project(new_cycle("voting", region="KZ-71"), 5)
    choices = {
        "over": [a.id, b.id, c.id],
        "twice": [a.id, a.id],
        "foreign": [foreign.id],
        "junk": ["1e3"],
        "none": [],
    }[choice]
    resident = as_role("resident")
    response = _ballot_post(resident, cycle, choices, headers=EN)
    assert response.status_code == status
    assert text in response.get_data(as_text=True)
    assert _ballots(db, cycle) == 0


def test_non_resident_and_unverified_cannot_vote(db, as_role, voting):
    cycle, (a, _b, _c) = voting
    for client in (as_role("resident", region="KZ-71"), as_role("resident", verified=False)):
        assert client.get(f"/budget/{cycle.id}/ballot").status_code == 403
        assert _ballot_post(client, cycle, [a.id]).status_code == 403
    assert _ballots(db, cycle) == 0


def test_second_ballot_when_final_is_refused(db, as_role, new_cycle, make_project):
    cycle = new_cycle("voting", ballots_final=True)
    project = make_project(cycle, 10)
    resident = as_role("resident")
    assert _ballot_post(resident, cycle, [project.id]).status_code == 302
    second = _ballot_post(resident, cycle, [project.id], headers=EN)
    assert second.status_code == 409 and "final" in second.get_data(as_text=True)
    assert _ballots(db, cycle) == 1


def test_paper_ballot_by_iin_blocks_online_vote(db, as_role, voting):
    cycle, (a, b, _c) = voting
    staff = as_role("staff")
    voter = make_user()
    url = f"/budget/{cycle.id}/paper"
    response = post_form(staff, url, {"iin": voter.iin, "project": [str(a.id)]}, token_from=url)
    assert response.status_code == 302
    ballot = services.ballot_of(db.session, cycle, voter, "testing-ballot-key")
    assert ballot.channel == "paper" and ballot.entered_by_id == staff.user.id
    again = post_form(staff, url, {"iin": voter.iin, "project": [str(b.id)]}, url, headers=EN)
    assert again.status_code == 409 and "already voted" in again.get_data(as_text=True)
    unknown = post_form(staff, url, {"iin": "900101300019", "project": [str(b.id)]}, url)
    assert unknown.status_code in (409, 422)
    from helpers import login

    voter_client = as_role("anonymous")
    login(voter_client, voter)
    online = _ballot_post(voter_client, cycle, [b.id], headers=EN)
    assert online.status_code == 409
    assert _ballots(db, cycle) == 1


def test_counts_hidden_until_close_and_results_flow(db, as_role, new_cycle, make_project):
    cycle = new_cycle("voting", budget=1_000)
    a, b = make_project(cycle, 700, title="Winner A"), make_project(cycle, 500, title="Loser B")
    for choices in ([a.id], [a.id], [b.id]):
        services.cast_ballot(db.session, make_user(), cycle, choices, secret="x")
    db.session.commit()
    assert as_role("staff").get(f"/budget/{cycle.id}/counts").status_code == 403
    assert as_role("anonymous").get(f"/budget/{cycle.id}/counts").status_code == 403
    # Nobody sees live counts during voting, admins included.
    assert as_role("admin").get(f"/budget/{cycle.id}/counts").status_code == 403
    staff = as_role("staff")
    services.move_phase(db.session, staff.user, cycle, "results")
    db.session.commit()
    url = f"/budget/{cycle.id}/results"
    anonymous = as_role("anonymous")
    assert "Winner A" not in anonymous.get(url).get_data(as_text=True)
    assert post_form(staff, url + "/compute", {"rule": ["greedy", "mes"]}, url).status_code == 302
    assert "Winner A" not in anonymous.get(url).get_data(as_text=True)  # not published yet
    assert post_form(staff, url + "/publish", {}, url).status_code == 302
    page = anonymous.get(url, headers=EN).get_data(as_text=True)
    assert "Winner A" in page and "<svg" in page and 'class="bar-won"' in page
    assert '<th scope="row">' in page and "Remaining" in page
    assert anonymous.get(f"/budget/{cycle.id}/counts").status_code == 200
    impl = anonymous.get(f"/budget/{cycle.id}/implementation", headers=EN).get_data(as_text=True)
    assert "Winner A" in impl and "Loser B" not in impl and "Planned" in impl
    update_url = f"/budget/proposals/{a.id}/updates"
    response = post_form(
        staff, update_url, {"status": "in_progress", "progress": "30", "note": "Works began"}, url
    )
    assert response.status_code == 302
    detail = anonymous.get(f"/budget/proposals/{a.id}").get_data(as_text=True)
    assert "Works began" in detail and 'value="30"' in detail
