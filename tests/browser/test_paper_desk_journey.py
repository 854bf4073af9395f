"""Journey in real Chromium: staff reach the paper desk by clicking, record a ballot for a
resident without an account, type a station's tally sheet as a batch, and a second staff
member (the admin) confirms it. Every page passes axe."""

import re

import pytest
from a11y import accessibility_violations
from helpers import make_iin
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
VOTING_CYCLE = "Almaty People's Budget — vote"


def test_paper_desk_and_batch_journey(live_server, new_page, sign_in):
    # In English, whatever language other journeys left on the shared demo accounts.
    staff = sign_in(new_page(live_server), "staff@demo.tynda.kz", lang="en")
    admin = sign_in(new_page(live_server), "admin@demo.tynda.kz", lang="en")
    staff.goto("/budget/")
    staff.get_by_role("link", name=VOTING_CYCLE).first.click()
    staff.get_by_role("link", name="Enter paper ballots").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Paper ballots")
    assert accessibility_violations(staff) == []

    project = staff.locator("fieldset.ballot input[name=project]").first
    project_id = project.get_attribute("value")
    staff.get_by_label("Voter's IIN").fill(make_iin(9123))
    staff.get_by_label(re.compile("The resident declares that they live in")).check()
    project.check()
    staff.get_by_role("button", name="Record the paper ballot").click()
    expect(staff.locator("body")).to_contain_text("The paper ballot is recorded")

    staff.get_by_role("link", name="Tally sheets of paper stations (batches)").click()
    assert accessibility_violations(staff) == []
    staff.get_by_label("Paper station").fill("School No. 12")
    staff.get_by_label("Ballots, one per line").fill(f"{project_id}\n{project_id}\n")
    staff.get_by_role("button", name="Save the batch for confirmation").click()
    expect(staff.locator("body")).to_contain_text("You typed this batch")
    assert accessibility_violations(staff) == []
    batch_url = staff.url

    admin.goto(batch_url)
    admin.get_by_role("button", name="Confirm: the batch matches the sheet").click()
    expect(admin.locator("body")).to_contain_text("The batch is confirmed")
    expect(admin.locator("dl")).to_contain_text("Confirmed: counted")
