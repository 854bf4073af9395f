"""Journey in real Chromium, in Kazakh, through a cycle with a city-wide heading and a
district's: staff add the district's heading on the cycle page, a resident of that district
proposes in it, votes in both headings (a receipt each), staff tally and publish each
heading, and the resident sees the results per heading under the whole cycle's summary."""

import re

import pytest
from a11y import accessibility_violations
from budgeting.budget_schedule import schedule_for
from helpers import translate
from playwright.sync_api import expect
from sqlalchemy import select

from portal.accounts.models import User
from portal.budgeting import services
from portal.regions.models import District
from portal.regions.services import region_by_code

pytestmark = pytest.mark.browser
CITY_TITLE = "Қала саябағындағы жарық"
LOCAL_TITLE = "Бостандықтағы орындықтар"


def kk(message):
    return translate("kk", message)


def _move_phase(staff, cycle_url, phase):
    staff.goto(cycle_url)
    staff.get_by_label(kk("Phase"), exact=True).select_option(phase)
    staff.get_by_role("button", name=kk("Move the phase")).click()


def _action(name, heading):
    """A link of the headings table: its text, then the heading's name (visually hidden)."""
    return re.compile("^" + re.escape(kk(name)) + r"\W+" + re.escape(heading) + "$")


def _new_cycle(live_server):
    """A cycle of the demo's Almaty in its proposals phase (no headings yet but the main)."""
    from portal.extensions import db

    with live_server.app.app_context():
        staff = db.session.scalar(select(User).where(User.email == "staff@demo.tynda.kz"))
        almaty = region_by_code(db.session, "KZ-75")
        district = db.session.scalar(
            select(District).where(District.region_id == almaty.id, District.slug == "bostandyk")
        )
        cycle = services.create_cycle(
            db.session,
            staff,
            almaty,
            title_kk="Қала мен аудан бюджеті",
            title_ru="Бюджет города и района",
            title_en="City-wide",
            budget=10_000_000,
            ballot_rule="knapsack",
            winner_rule="greedy",
            **schedule_for("proposals"),
        )
        db.session.commit()
        return cycle.id, district.name_kk


def _propose(resident, heading, title, cost):
    resident.get_by_role("link", name=_action("Propose a project", heading)).click()
    expect(resident.get_by_text(kk("Heading: %(name)s") % {"name": heading})).to_be_visible()
    resident.get_by_label(kk("Title"), exact=True).fill(title)
    resident.get_by_label(kk("Description"), exact=True).fill("Тұрғындар үшін.")
    resident.get_by_label(kk("Estimated cost, tenge")).fill(cost)
    resident.get_by_role("button", name=kk("Submit the proposal")).click()
    expect(resident.get_by_role("heading", level=1)).to_have_text(title)
    return resident.url


def _vote(resident, title):
    resident.get_by_label(title).check()
    resident.get_by_role("button", name=kk("Cast my ballot")).click()
    code = resident.locator(".receipt-code").inner_text()
    assert re.fullmatch(r"[0-9a-f]{4}(-[0-9a-f]{4}){3}", code)
    return code


def test_headings_journey_in_kazakh(live_server, new_page, sign_in):
    cycle_id, district_name = _new_cycle(live_server)
    cycle_url = f"/budget/{cycle_id}"
    # The resident lives in Bostandyk.
    resident = sign_in(new_page(live_server), "resident@demo.tynda.kz", lang="kk")
    staff = sign_in(new_page(live_server), "staff@demo.tynda.kz", lang="kk")

    # Staff add the district's heading on the cycle page.
    staff.goto(cycle_url)
    staff.get_by_text(kk("Add a budget heading"), exact=True).click()
    staff.get_by_label(kk("Name of the heading")).fill(district_name)
    staff.get_by_label(kk("District"), exact=True).select_option(label=district_name)
    staff.get_by_label(kk("Budget of the heading, tenge")).fill("3 000 000")
    staff.get_by_role("button", name=kk("Add the heading")).click()
    expect(staff.get_by_role("heading", name=kk("Budget headings"))).to_be_visible()

    assert accessibility_violations(staff) == []

    # The resident proposes in their district's heading and in the city-wide one.
    resident.goto(cycle_url)
    assert accessibility_violations(resident) == []
    local_url = _propose(resident, district_name, LOCAL_TITLE, "2 000 000")
    resident.goto(cycle_url)
    city_url = _propose(resident, "City-wide", CITY_TITLE, "6 000 000")
    for url in (local_url, city_url):
        staff.goto(url)
        staff.get_by_label(kk("Feasible"), exact=True).check()
        staff.get_by_role("button", name=kk("Save the review")).click()
    _move_phase(staff, cycle_url, "voting")

    # One ballot in each heading, each with its own receipt.
    resident.goto(cycle_url)
    resident.get_by_role("link", name=_action("Vote", "City-wide")).click()
    expect(resident.get_by_label(LOCAL_TITLE)).to_have_count(0)
    city_code = _vote(resident, CITY_TITLE)
    resident.goto(cycle_url)
    resident.get_by_role("link", name=_action("Vote", district_name)).click()
    expect(resident.get_by_text(kk("Heading: %(name)s") % {"name": district_name})).to_be_visible()
    assert accessibility_violations(resident) == []
    local_code = _vote(resident, LOCAL_TITLE)
    assert local_code != city_code

    # Staff tally every heading (one background job) and publish each.
    _move_phase(staff, cycle_url, "results")
    staff.goto(f"{cycle_url}/results")
    compute = staff.get_by_role("button", name=kk("Compute the results (greedy and equal shares)"))
    compute.click(timeout=30_000)
    expect(staff.locator("#job-state")).to_contain_text(kk("Done."))
    staff.get_by_role("link", name=kk("Continue")).click()
    publish = re.compile("^" + re.escape(kk("Publish the results (%(rule)s)").split("%(")[0]))
    staff.get_by_role("button", name=publish).click()
    staff.locator(".heading-nav").get_by_role("link", name=district_name).click()
    staff.get_by_role("button", name=publish).click()

    # The resident sees the whole cycle and each heading's own results.
    resident.goto(f"{cycle_url}/results")
    overview = resident.locator(
        "section", has=resident.get_by_role("heading", name=kk("The whole cycle"))
    )
    expect(overview.locator("tbody tr")).to_have_count(2)
    expect(overview.locator("tfoot")).to_contain_text("13")  # 10 000 000 + 3 000 000
    expect(resident.locator("table.data tr", has_text=CITY_TITLE)).to_contain_text(kk("Funded"))
    expect(resident.locator("table.data tr", has_text=LOCAL_TITLE)).to_have_count(0)
    overview.get_by_role("link", name=district_name).click()
    expect(resident.get_by_text(kk("Heading: %(name)s") % {"name": district_name})).to_be_visible()
    expect(resident.locator("table.data tr", has_text=LOCAL_TITLE)).to_contain_text(kk("Funded"))
    assert accessibility_violations(resident) == []
