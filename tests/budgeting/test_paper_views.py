"""The paper desk and tally-sheet batch pages, as staff use them."""

import re

import budget_fixtures
import pytest
import sqlalchemy as sa
from helpers import csrf_token, login, make_iin, make_user, post_form

from portal.budgeting import services
from portal.budgeting.models import Ballot, PaperBatch

make_project = budget_fixtures.make_project

EN = {"Accept-Language": "en"}
KK = {"Accept-Language": "kk"}
RU = {"Accept-Language": "ru"}


@pytest.fixture
def voting(new_cycle, make_project):
    cycle = new_cycle("voting", budget=1_000)
    projects = [make_project(cycle, cost, title=f"P{cost}") for cost in (600, 400, 300)]
    return cycle, projects


def _ballots(db, cycle):
    return db.session.scalar(sa.select(sa.func.count()).where(Ballot.cycle_id == cycle.id))


def test_desk_records_a_resident_without_account_and_refuses_online_after(db, as_role, voting):
    cycle, (a, b, _c) = voting
    staff = as_role("staff")
    url = f"/budget/{cycle.id}/paper"
    page = staff.get(url, headers=EN).get_data(as_text=True)
    assert "Tally sheets of paper stations" in page and 'name="declared"' in page
    iin = make_iin()
    undeclared = post_form(staff, url, {"iin": iin, "project": [str(a.id)]}, url, headers=EN)
    assert undeclared.status_code == 422
    assert "tick the box to record their declaration" in undeclared.get_data(as_text=True)
    form = {"iin": iin, "declared": "y", "district_id": "0", "project": [str(a.id)]}
    assert post_form(staff, url, form, url).status_code == 302
    assert _ballots(db, cycle) == 1
    again = post_form(staff, url, form, url, headers=EN)
    assert again.status_code == 409 and "already voted" in again.get_data(as_text=True)

    resident = as_role("anonymous")
    login(resident, make_user(iin=iin))
    ballot_page = f"/budget/{cycle.id}/ballot"
    online = post_form(resident, ballot_page, {"project": str(b.id)}, ballot_page, headers=EN)
    assert online.status_code == 409
    assert "already voted on paper" in online.get_data(as_text=True)
    assert _ballots(db, cycle) == 1


def test_desk_refusals_are_translated(db, as_role, voting):
    cycle, (a, _b, _c) = voting
    voter = make_user()
    services.cast_ballot(
        db.session, voter, cycle, [a.id], secret="s", ballot_key="testing-ballot-key"
    )
    db.session.commit()
    staff = as_role("staff")
    url = f"/budget/{cycle.id}/paper"
    form = {"iin": voter.iin, "project": [str(a.id)]}
    texts = {}
    for name, headers in (("en", EN), ("kk", KK), ("ru", RU)):
        response = post_form(staff, url, form, url, headers=headers)
        assert response.status_code == 409
        texts[name] = re.search(
            r'class="error-summary" role="alert"><p>(.*?)</p>', response.get_data(as_text=True)
        ).group(1)
    assert "already voted online" in texts["en"]
    assert len(set(texts.values())) == 3  # each language its own words
    other = make_user(region="KZ-71")
    elsewhere = post_form(staff, url, {"iin": other.iin, "project": [str(a.id)]}, url, headers=EN)
    assert elsewhere.status_code == 422 and "another region" in elsewhere.get_data(as_text=True)


def test_batch_pages_enter_confirm_by_another_and_reject(db, as_role, voting, app, monkeypatch):
    cycle, (a, b, c) = voting
    first, second = as_role("staff"), as_role("staff")
    url = f"/budget/{cycle.id}/paper/batches"
    page = first.get(url, headers=EN)
    assert page.status_code == 200
    bad = post_form(first, url, {"station": "S1", "rows": f"{a.id} {b.id} {c.id}"}, url, headers=EN)
    assert bad.status_code == 422 and "Line 1:" in bad.get_data(as_text=True)
    rows = f"{a.id} {b.id}\n{c.id}\n\n{b.id}, {c.id}\n"
    saved = post_form(first, url, {"station": "School 12", "rows": rows}, url)
    assert saved.status_code == 302
    batch = db.session.scalar(sa.select(PaperBatch).where(PaperBatch.cycle_id == cycle.id))
    assert batch.size == 3 and _ballots(db, cycle) == 0
    assert "1 batch is waiting for a second staff member" in first.get(url, headers=EN).get_data(
        as_text=True
    )
    detail = f"{url}/{batch.id}"
    own_page = first.get(detail, headers=EN).get_data(as_text=True)
    assert "You typed this batch" in own_page and "/confirm" not in own_page
    own = post_form(first, f"{detail}/confirm", {}, detail, headers=EN)
    assert own.status_code == 403 and "another staff member" in own.get_data(as_text=True)
    assert _ballots(db, cycle) == 0
    # Page 2 of the typed rows with a small page size.
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    second_page = second.get(f"{detail}?page=2", headers=EN).get_data(as_text=True)
    assert "Page 2 of 2" in second_page and f"{b.id} — P400; {c.id} — P300" in second_page
    monkeypatch.setitem(app.config, "PAGE_SIZE", 20)
    assert post_form(second, f"{detail}/confirm", {}, detail).status_code == 302
    assert _ballots(db, cycle) == 3
    db.session.expire_all()
    assert services.turnout(db.session, cycle)["channel"] == {"paper": 3}

    other = post_form(second, url, {"station": "School 40", "rows": f"{a.id}"}, url)
    other_id = int(other.headers["Location"].rsplit("/", 1)[1])
    no_reason = post_form(first, f"{url}/{other_id}/reject", {"reason": ""}, detail)
    assert no_reason.status_code == 422
    rejected = post_form(first, f"{url}/{other_id}/reject", {"reason": "Wrong sheet"}, detail)
    assert rejected.status_code == 302
    assert _ballots(db, cycle) == 3
    listing = first.get(url, headers=EN).get_data(as_text=True)
    assert "Rejected: discarded" in listing and "Confirmed: counted" in listing


def test_batch_pages_are_for_staff_of_the_region(db, as_role, voting):
    cycle, (a, _b, _c) = voting
    url = f"/budget/{cycle.id}/paper/batches"
    assert as_role("resident").get(url).status_code == 403
    assert as_role("staff", region="KZ-71").get(url).status_code == 403
    assert as_role("anonymous").get(url).status_code == 302
    staff = as_role("staff")
    post_form(staff, url, {"station": "S", "rows": str(a.id)}, url)
    batch = db.session.scalar(sa.select(PaperBatch).where(PaperBatch.cycle_id == cycle.id))
    outsider = as_role("staff", region="KZ-71")
    token = csrf_token(outsider, "/budget/")
    response = outsider.post(f"{url}/{batch.id}/confirm", data={"csrf_token": token})
    assert response.status_code == 403
    assert _ballots(db, cycle) == 0


def test_batch_list_pages(db, as_role, voting, app, monkeypatch):
    cycle, (a, _b, _c) = voting
    staff = as_role("staff")
    url = f"/budget/{cycle.id}/paper/batches"
    for number in range(3):
        post_form(staff, url, {"station": f"Station {number}", "rows": str(a.id)}, url)
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    first = staff.get(url, headers=EN).get_data(as_text=True)
    assert "Station 2" in first and "Station 0" not in first
    second = staff.get(f"{url}?page=2", headers=EN).get_data(as_text=True)
    assert "Page 2 of 2" in second and "Station 0" in second and "Station 2" not in second


def test_tally_sheet_projects_page_past_the_first(db, as_role, voting, app, monkeypatch):
    """The sheet's project numbers page with ?projects= and keep the batches' own ?page=."""
    cycle, projects = voting
    staff = as_role("staff")
    url = f"/budget/{cycle.id}/paper/batches"
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    first = staff.get(url, headers=EN).get_data(as_text=True)
    assert f'href="{url}?projects=2"' in first and "Page 1 of 2" in first
    second = staff.get(f"{url}?page=1&projects=2", headers=EN).get_data(as_text=True)
    numbers = second[second.index('id="sheet-projects"') :]
    assert "Page 2 of 2" in numbers and f"<td>{projects[-1].id}</td>" in numbers
    assert f"<td>{projects[0].id}</td>" not in numbers
    assert f'href="{url}?page=1&amp;projects=1"' in second  # the batches' page kept


def test_a_desk_ballot_is_the_residents_own_once_they_register(db, as_role, voting):
    cycle, (a, _b, _c) = voting
    staff = as_role("staff")
    url = f"/budget/{cycle.id}/paper"
    iin = make_iin()
    form = {"iin": iin, "declared": "y", "project": [str(a.id)]}
    assert post_form(staff, url, form, url).status_code == 302
    ballot = db.session.scalar(sa.select(Ballot).where(Ballot.cycle_id == cycle.id))
    resident = as_role("anonymous")
    login(resident, make_user(iin=iin))
    mine = resident.get("/budget/my/ballots", headers=EN).get_data(as_text=True)
    receipt = f"/budget/{cycle.id}/ballot/{ballot.id}/receipt"
    assert receipt in mine
    assert resident.get(receipt).status_code == 200
    stranger = as_role("resident")
    assert receipt not in stranger.get("/budget/my/ballots").get_data(as_text=True)
    assert stranger.get(receipt).status_code == 403


def test_a_batch_page_for_a_district_heading(db, as_role, new_cycle, make_project):
    """Staff pick the heading; the page lists that heading's project numbers, the batch is
    saved for it and, once another staff member confirms, its ballots are that heading's."""
    from helpers import translate

    from portal.budgeting import headings
    from portal.regions.services import region_by_code

    region = region_by_code(db.session, "KZ-75")
    home, other = region.districts[0], region.districts[1]
    first, second = as_role("staff"), as_role("staff")
    cycle = new_cycle("proposals", budget=1_000)
    district = headings.add_heading(
        db.session, first.user, cycle, name="Yards of " + home.name_en, budget=300,
        district_id=home.id, ballot_rule="k_approval", max_choices=2, winner_rule="greedy",
    )  # fmt: skip
    city_wide = make_project(cycle, 400, title="Central park")
    x, y = (make_project(cycle, 100, title=f"Yard {n}", heading_id=district.id) for n in (1, 2))
    services.move_phase(db.session, make_user(role="admin"), cycle, "voting")
    db.session.commit()

    url = f"/budget/{cycle.id}/paper/batches"
    desk = first.get(f"/budget/{cycle.id}/paper?heading={district.id}").get_data(as_text=True)
    assert f'href="{url}?heading={district.id}"' in desk  # the desk's heading carries over
    page = first.get(f"{url}?heading={district.id}", headers=EN).get_data(as_text=True)
    assert "Heading: Yards of" in page and 'aria-current="page">Yards of' in page
    numbers = page[page.index('id="sheet-projects"') :]
    assert f'<td>{x.id}</td><th scope="row">Yard 1</th>' in numbers and "Yard 2" in numbers
    assert "Central park" not in numbers
    main_page = first.get(url, headers=EN).get_data(as_text=True)
    assert "Central park" in main_page[main_page.index('id="sheet-projects"') :]
    assert first.get(f"{url}?heading=999999").status_code == 404

    heading_url = f"{url}?heading={district.id}"
    wrong = post_form(
        first, heading_url, {"station": "S", "rows": str(city_wide.id)}, heading_url, headers=EN
    )
    assert wrong.status_code == 422 and "Line 1:" in wrong.get_data(as_text=True)
    elsewhere = post_form(
        first, heading_url, {"station": "S", "district_id": str(other.id), "rows": str(x.id)},
        heading_url, headers=KK,
    )  # fmt: skip
    expected = translate(
        "kk",
        "The heading %(heading)s is for one district: enter sheets of that district's "
        "stations only.",
    ) % {"heading": district.name}
    assert elsewhere.status_code == 422 and expected in elsewhere.get_data(as_text=True)
    rows = f"{x.id} {y.id}\n{y.id}\n"
    saved = post_form(first, heading_url, {"station": "Yard desk", "rows": rows}, heading_url)
    assert saved.status_code == 302
    batch = db.session.scalar(sa.select(PaperBatch).where(PaperBatch.cycle_id == cycle.id))
    assert (batch.heading_id, batch.district_id, batch.size) == (district.id, home.id, 2)
    listing = first.get(url, headers=EN).get_data(as_text=True)
    assert '<th scope="col">Heading</th>' in listing and f"<td>{district.name}</td>" in listing

    detail = f"{url}/{batch.id}"
    assert district.name in second.get(detail, headers=EN).get_data(as_text=True)
    assert post_form(second, f"{detail}/confirm", {}, detail).status_code == 302
    db.session.expire_all()
    assert services.turnout(db.session, cycle, district)["total"] == 2
    assert (
        services.turnout(db.session, cycle, headings.main_heading(db.session, cycle))["total"] == 0
    )
