"""The ballot at a city's size: one page of projects at a time, filters, and the chosen
projects carried across pages (without JavaScript) until the resident casts the ballot."""

import re

import budget_fixtures
import pytest
from helpers import csrf_token
from sqlalchemy import select

from portal.budgeting.models import Ballot
from portal.regions.models import District

make_project = budget_fixtures.make_project
EN = {"Accept-Language": "en"}
PAGE_SIZE = 3


@pytest.fixture
def big_ballot(app, monkeypatch, new_cycle, make_project, db):
    monkeypatch.setitem(app.config, "PAGE_SIZE", PAGE_SIZE)
    cycle = new_cycle("voting", budget=1_000_000)
    district = db.session.scalar(select(District).where(District.region_id == cycle.region_id))
    projects = []
    for i in range(8):
        projects.append(
            make_project(
                cycle,
                100_000 + i,
                title=f"Ballotproject{i}",
                category="lighting" if i % 2 else "yards",
                district_id=district.id if i == 7 else None,
            )
        )
    make_project(cycle, 5, status="infeasible", title="Notonballot")
    return cycle, projects, district


def _titles(html):
    return re.findall(r"<strong>(Ballotproject\d)</strong>", html)


def _browse(client, cycle, token, page, chosen, **fields):
    data = {"csrf_token": token, "browse": str(page), "project": [str(p) for p in chosen]}
    data.update(fields)
    return client.post(f"/budget/{cycle.id}/ballot", data=data, headers=EN)


def test_ballot_pages_carry_the_choices_and_cast_them(db, as_role, big_ballot):
    cycle, projects, _district = big_ballot
    resident = as_role("resident")
    url = f"/budget/{cycle.id}/ballot"
    first = resident.get(url, headers=EN).get_data(as_text=True)
    # By category (lighting before yards), then by id.
    assert _titles(first) == ["Ballotproject1", "Ballotproject3", "Ballotproject5"]
    assert "Notonballot" not in first
    assert "Page 1 of 3" in first and 'name="browse" value="2"' in first
    assert "Projects 1–3 of 8" in first
    token = csrf_token(resident, url)

    # Tick project 1 on page one and go to page two: 1 travels as a hidden input.
    second = _browse(resident, cycle, token, 2, [projects[1].id])
    html = second.get_data(as_text=True)
    assert second.status_code == 200
    assert _titles(html) == ["Ballotproject7", "Ballotproject0", "Ballotproject2"]
    assert f'type="hidden" name="project" value="{projects[1].id}"' in html
    assert "Ballotproject1 · 100" in html  # in "Your choices"
    assert db.session.scalar(select(Ballot.id).where(Ballot.cycle_id == cycle.id)) is None

    # Page three, having ticked 7 on page two; then remove 1 without JavaScript.
    third = _browse(resident, cycle, token, 3, [projects[1].id, projects[7].id]).get_data(
        as_text=True
    )
    assert _titles(third) == ["Ballotproject4", "Ballotproject6"]
    assert f'type="hidden" name="project" value="{projects[7].id}"' in third
    assert 'value="200008"' in third  # the budget bar shows the chosen total
    removed = resident.post(
        url,
        data={
            "csrf_token": token,
            "remove": str(projects[1].id),
            "project": [str(projects[1].id), str(projects[7].id)],
        },
        headers=EN,
    ).get_data(as_text=True)
    assert "Ballotproject1 ·" not in removed and "Ballotproject7 ·" in removed

    # Casting sends the carried and the ticked projects together.
    cast = resident.post(
        url,
        data={"csrf_token": token, "project": [str(projects[1].id), str(projects[7].id)]},
    )
    assert cast.status_code == 302
    stored = db.session.scalar(select(Ballot).where(Ballot.cycle_id == cycle.id))
    assert stored.project_ids == [projects[1].id, projects[7].id]
    # Back on the ballot, the stored choices are summarised on every page.
    again = resident.get(url + "?page=2", headers=EN).get_data(as_text=True)
    assert "Ballotproject1 ·" in again and "Ballotproject7 ·" in again


def test_ballot_filters_by_category_district_and_search(db, as_role, big_ballot):
    cycle, projects, district = big_ballot
    resident = as_role("resident")
    url = f"/budget/{cycle.id}/ballot"
    lighting = resident.get(url + "?category=lighting", headers=EN).get_data(as_text=True)
    assert _titles(lighting) == ["Ballotproject1", "Ballotproject3", "Ballotproject5"]
    assert "Page 1 of 2" in lighting
    in_district = resident.get(f"{url}?district={district.id}", headers=EN).get_data(as_text=True)
    assert _titles(in_district) == ["Ballotproject7"]
    token = csrf_token(resident, url)
    found = _browse(resident, cycle, token, 1, [projects[2].id], q="project6").get_data(
        as_text=True
    )
    assert _titles(found) == ["Ballotproject6"]
    assert "Ballotproject2 ·" in found  # still chosen while searching
    none = resident.get(url + "?q=nothing-like-this", headers=EN).get_data(as_text=True)
    assert "No project matches these filters" in none


def test_paper_desk_pages_without_recording(db, as_role, big_ballot):
    cycle, projects, _district = big_ballot
    staff = as_role("staff")
    url = f"/budget/{cycle.id}/paper"
    token = csrf_token(staff, url)
    page = staff.post(
        url, data={"csrf_token": token, "browse": "2", "project": [str(projects[1].id)]}, headers=EN
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert _titles(html) == ["Ballotproject7", "Ballotproject0", "Ballotproject2"]
    assert f'type="hidden" name="project" value="{projects[1].id}"' in html
    assert db.session.scalar(select(Ballot.id).where(Ballot.cycle_id == cycle.id)) is None


def test_a_ballot_post_reads_only_the_chosen_projects(db, as_role, big_ballot, app):
    """The POST asks for the chosen projects' costs by id; it never lists the ballot."""
    import sqlalchemy as sa

    from portal.extensions import db as _db

    cycle, projects, _district = big_ballot
    resident = as_role("resident")
    url = f"/budget/{cycle.id}/ballot"
    token = csrf_token(resident, url)
    statements = []

    def capture(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(_db.engine, "before_cursor_execute", capture)
    try:
        response = resident.post(
            url, data={"csrf_token": token, "project": [str(projects[2].id), str(projects[5].id)]}
        )
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", capture)
    assert response.status_code == 302
    reads = [
        s for s in statements if s.lstrip().startswith("SELECT") and "FROM budget_proposal" in s
    ]
    assert reads, statements
    by_id = ("budget_proposal.id IN (", "budget_proposal.id = ")
    listing = [s for s in reads if not any(key in s for key in by_id)]
    assert listing == [], listing


@pytest.mark.parametrize("change", ["new_token", "deleted"])
def test_a_ballot_post_checks_the_session_like_every_page(db, as_role, big_ballot, change):
    """The POST reads the voter as a plain row (not a User object): a replaced session token
    (signed out everywhere) or a deleted account still sends them to sign in, and no ballot
    is stored."""
    import datetime as dt

    cycle, projects, _district = big_ballot
    resident = as_role("resident")
    url = f"/budget/{cycle.id}/ballot"
    token = csrf_token(resident, url)
    user = resident.user
    if change == "new_token":
        user.session_token = "replaced-elsewhere"
    else:
        user.deleted_at = dt.datetime(2026, 1, 1)
    db.session.commit()
    response = resident.post(url, data={"csrf_token": token, "project": [str(projects[0].id)]})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert db.session.scalar(select(Ballot.id).where(Ballot.cycle_id == cycle.id)) is None


def test_a_refused_ballot_post_renders_the_page_for_the_plain_row_voter(db, as_role, big_ballot):
    """Over the budget: the ballot page comes back with the refusal (the page reads the rest
    of the voter, e.g. their name, from the User object on first use)."""
    cycle, projects, _district = big_ballot
    resident = as_role("resident")
    url = f"/budget/{cycle.id}/ballot"
    token = csrf_token(resident, url)
    over = [str(p.id) for p in projects] * 2  # the same projects twice: a duplicate
    response = resident.post(url, data={"csrf_token": token, "project": over}, headers=EN)
    assert response.status_code == 422
    assert "Ballotproject" in response.get_data(as_text=True)
    assert db.session.scalar(select(Ballot.id).where(Ballot.cycle_id == cycle.id)) is None
    ok = resident.post(url, data={"csrf_token": token, "project": [str(projects[0].id)]})
    assert ok.status_code == 302 and "/receipt" in ok.headers["Location"]
