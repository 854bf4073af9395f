"""Headings on the web: staff add a district's heading, a resident proposes in it, votes in
the city-wide heading and in their district's (a receipt each), and results show per heading
under a summary of the whole cycle."""

import re

from budget_schedule import schedule_for
from helpers import login, make_user, post_form
from jsonschema import Draft202012Validator
from markupsafe import escape
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from portal.budgeting import headings, publishing, services
from portal.budgeting.models import Ballot, Proposal
from portal.regions.services import region_by_code

EN = {"Accept-Language": "en"}


def _validator(spec, path):
    """The JSON Schema of a GET's 200 answer in the API's own OpenAPI document."""
    uri = "urn:tynda:openapi"
    registry = Registry().with_resource(uri, Resource(contents=spec, specification=DRAFT202012))
    pointer = "/".join(["#", "paths", path.replace("/", "~1"), "get", "responses", "200"])
    schema = {"$ref": f"{uri}{pointer}/content/application~1json/schema"}
    return Draft202012Validator(schema, registry=registry)


def move_to(db, cycle, phase):
    """Voting by the dates (rules are not frozen yet); results by hand (they are then)."""
    if phase == "voting":
        for name, value in schedule_for("voting").items():
            setattr(cycle, name, value)
    else:
        cycle.phase_override = phase
    db.session.commit()


def _client(app, user):
    client = app.test_client()
    login(client, user)
    return client


def _heading_values(district_id, **overrides):
    values = {
        "name": "Medeu",
        "district_id": district_id,
        "budget": "300 000",
        "ballot_rule": "k_approval",
        "max_choices": "2",
        "winner_rule": "greedy",
    }
    values.update(overrides)
    return values


def test_headings_from_proposal_to_results(app, db, new_cycle):
    region = region_by_code(db.session, "KZ-75")
    home, other = region.districts[0], region.districts[1]
    cycle = new_cycle("proposals", budget=1_000_000)
    staff = _client(app, make_user(role="staff"))
    url = f"/budget/{cycle.id}"

    # Staff add the district's heading; bad input re-renders with a message.
    bad = post_form(staff, f"{url}/headings", _heading_values(home.id, budget="x"), token_from=url)
    assert bad.status_code == 422 and "whole tenge" in bad.get_data(as_text=True)
    added = post_form(staff, f"{url}/headings", _heading_values(home.id), token_from=url)
    assert added.status_code == 302, added.get_data(as_text=True)[:1000]
    taken = post_form(staff, f"{url}/headings", _heading_values(home.id), token_from=url)
    assert taken.status_code == 422
    main, district = headings.headings_of(db.session, cycle)
    assert (district.name, district.budget, district.max_choices) == ("Medeu", 300_000, 2)

    local_user, outsider_user = make_user(district=home), make_user(district=other)
    local, outsider = _client(app, local_user), _client(app, outsider_user)
    page = local.get(url, headers=EN).get_data(as_text=True)
    assert "Budget headings" in page and f"heading={district.id}" in page

    # Propose: the district's heading takes its residents only.
    new = f"{url}/proposals/new?heading={district.id}"
    assert outsider.get(new).status_code == 403
    form = local.get(new, headers=EN).get_data(as_text=True)
    assert "Heading: Medeu" in form
    data = {
        "title": "Benches in Medeu",
        "description": "<p>Benches</p>",
        "category": "yards",
        "district_id": home.id,
        "address": "",
        "estimated_cost": "200 000",
    }
    sent = post_form(local, new, data, token_from=new)
    assert sent.status_code == 302, sent.get_data(as_text=True)[:1000]
    bench = db.session.scalar(select(Proposal).where(Proposal.title == "Benches in Medeu"))
    shown = local.get(sent.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Budget heading" in shown and "Medeu" in shown
    assert bench.heading_id == district.id and bench.district_id == home.id
    park = services.submit_proposal(
        db.session,
        outsider_user,
        cycle,
        title="City park",
        description="<p>Trees</p>",
        category="greenery",
        estimated_cost=700_000,
    )
    for project in (bench, park):
        project.status = "feasible"
    move_to(db, cycle, "voting")

    # Vote in both headings: one ballot and one receipt each.
    ballot_url = f"{url}/ballot"
    city_page = local.get(ballot_url, headers=EN).get_data(as_text=True)
    assert "City park" in city_page and "Benches in Medeu" not in city_page
    assert f"heading={district.id}" in city_page  # the resident may pick their district's
    receipts = []
    for target, project in ((ballot_url, park), (f"{ballot_url}?heading={district.id}", bench)):
        cast = post_form(local, target, {"project": [str(project.id)]}, token_from=target)
        assert cast.status_code == 302, cast.get_data(as_text=True)[:1000]
        receipt = local.get(cast.headers["Location"], headers=EN).get_data(as_text=True)
        receipts.append(re.search(r'class="receipt-code">([0-9a-f-]{19})<', receipt).group(1))
        assert f"Heading: {escape('Medeu' if project is bench else main.name)}" in receipt
    assert receipts[0] != receipts[1]
    district_page = local.get(f"{ballot_url}?heading={district.id}", headers=EN)
    assert "Choose up to 2 projects" in district_page.get_data(as_text=True)
    assert outsider.get(f"{ballot_url}?heading={district.id}").status_code == 403
    assert local.get(f"{ballot_url}?heading=999999").status_code == 404
    ballots = db.session.scalars(select(Ballot).where(Ballot.cycle_id == cycle.id)).all()
    assert sorted(b.heading_id for b in ballots) == sorted([main.id, district.id])

    # Results: each heading tallied and published; the page shows one under the summary.
    move_to(db, cycle, "results")
    staff_user = make_user(role="staff")
    for heading in (main, district):
        tallies = publishing.tally_results(db.session, staff_user, cycle, heading=heading)
        publishing.store_results(db.session, staff_user, cycle, tallies)
        publishing.publish_results(db.session, staff_user, cycle, heading=heading)
    db.session.commit()
    results = local.get(f"{url}/results?heading={district.id}", headers=EN)
    text = results.get_data(as_text=True)
    assert results.status_code == 200
    assert "The whole cycle" in text and "Benches in Medeu" in text and "City park" not in text
    assert "1,300,000" in text.replace("\u00a0", ",").replace(" ", ",")  # both budgets
    main_results = local.get(f"{url}/results", headers=EN).get_data(as_text=True)
    assert "City park" in main_results and "Benches in Medeu" not in main_results

    # The staff dashboard and the printable report sum the headings up too.
    for page_url in (f"/staff/cycles/{cycle.id}", f"/staff/cycles/{cycle.id}/report"):
        shown = staff.get(page_url, headers=EN).get_data(as_text=True)
        assert "The whole cycle" in shown and "Medeu" in shown, page_url
        assert f"Heading: {escape(main.name)}" in shown

    # The open-data API: the headings, and each heading's results (checked against the spec).
    spec = local.get("/api/v1/openapi.json").get_json()

    def api(template, url):
        response = local.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        errors = list(_validator(spec, template).iter_errors(body))
        assert not errors, [e.message for e in errors]
        return body

    listed = api("/cycles/{cycle_id}/headings", f"/api/v1/cycles/{cycle.id}/headings")
    assert [
        (h["name"], h["budget"], h["ballots"], h["results_published"]) for h in listed["items"]
    ] == [
        (main.name, 1_000_000, 1, True),
        ("Medeu", 300_000, 1, True),
    ]
    mine = api(
        "/cycles/{cycle_id}/results", f"/api/v1/cycles/{cycle.id}/results?heading={district.id}"
    )
    assert mine["heading"] == {"id": district.id, "name": "Medeu"} and mine["budget"] == 300_000
    assert [p["project_id"] for p in mine["projects"]] == [bench.id]
    default = api("/cycles/{cycle_id}/results", f"/api/v1/cycles/{cycle.id}/results")
    assert default["heading"]["id"] == main.id and default["projects"][0]["project_id"] == park.id
    assert local.get(f"/api/v1/cycles/{cycle.id}/results?heading=999999").status_code == 404
    projects = api("/cycles/{cycle_id}/projects", f"/api/v1/cycles/{cycle.id}/projects")
    assert {p["id"]: (p["heading_id"], p["votes"], p["selected"]) for p in projects["items"]} == {
        bench.id: (district.id, 1, True),
        park.id: (main.id, 1, True),
    }


def test_paper_ballots_per_heading(app, db, new_cycle):
    region = region_by_code(db.session, "KZ-75")
    home, other = region.districts[0], region.districts[1]
    cycle = new_cycle("proposals", budget=1_000_000)
    staff_user = make_user(role="staff")
    district = headings.add_heading(
        db.session, staff_user, cycle, name="Medeu", budget=500_000, district_id=home.id
    )
    local, outsider = make_user(district=home), make_user(district=other)
    bench = services.submit_proposal(
        db.session,
        local,
        cycle,
        heading=district,
        title="Benches",
        description="<p>Benches</p>",
        category="yards",
        estimated_cost=100_000,
    )
    bench.status = "feasible"
    move_to(db, cycle, "voting")
    staff = _client(app, staff_user)
    desk = f"/budget/{cycle.id}/paper?heading={district.id}"
    page = staff.get(desk, headers=EN).get_data(as_text=True)
    assert "Heading: Medeu" in page and "Benches" in page
    refused = post_form(
        staff, desk, {"iin": outsider.iin, "project": [str(bench.id)]}, token_from=desk
    )
    assert refused.status_code == 422
    entered = post_form(
        staff, desk, {"iin": local.iin, "project": [str(bench.id)]}, token_from=desk
    )
    assert entered.status_code == 302 and f"heading={district.id}" in entered.headers["Location"]
    (ballot,) = db.session.scalars(select(Ballot).where(Ballot.cycle_id == cycle.id)).all()
    assert (ballot.heading_id, ballot.channel, ballot.project_ids) == (
        district.id,
        "paper",
        [bench.id],
    )
