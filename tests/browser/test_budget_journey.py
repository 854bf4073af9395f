"""Journey in real Chromium, in Kazakh: a resident proposes, staff mark it feasible, the
resident votes within budget and gets a receipt, staff publish results, the resident sees the
winner and looks the receipt up."""

import re

import pytest
from helpers import translate
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
TITLE = "Жаңа балалар алаңы Абай 12"


def kk(message):
    return translate("kk", message)


def _move_phase(staff, cycle_url, phase):
    staff.goto(cycle_url)
    staff.get_by_label(kk("Phase"), exact=True).select_option(phase)
    staff.get_by_role("button", name=kk("Move the phase")).click()


def test_budget_journey_in_kazakh(live_server, new_page, sign_in):
    resident = sign_in(new_page(live_server), "resident@demo.tynda.kz", lang="kk")
    staff = sign_in(new_page(live_server), "staff@demo.tynda.kz", lang="kk")

    resident.goto("/budget/")
    resident.get_by_role("link", name="Алматы халық бюджеті — ұсыныстар").click()
    cycle_url = resident.url
    resident.get_by_role("link", name=kk("Propose a project")).first.click()
    resident.get_by_label(kk("Title"), exact=True).fill(TITLE)
    resident.get_by_label(kk("Description"), exact=True).fill("Әткеншек пен құм салғыш.")
    resident.get_by_label(kk("Estimated cost, tenge")).fill("5 000 000")
    resident.get_by_role("button", name=kk("Submit the proposal")).click()
    expect(resident.get_by_role("heading", level=1)).to_have_text(TITLE)
    proposal_url = resident.url

    staff.goto(proposal_url)
    staff.get_by_label(kk("Feasible"), exact=True).check()
    staff.get_by_role("button", name=kk("Save the review")).click()
    _move_phase(staff, cycle_url, "voting")

    resident.goto(cycle_url)
    resident.get_by_role("link", name=kk("Vote")).click()
    resident.get_by_label(TITLE).check()
    expect(resident.locator("#running-total")).to_contain_text("5")
    resident.get_by_role("button", name=kk("Cast my ballot")).click()
    code = resident.locator(".receipt-code").inner_text()
    assert re.fullmatch(r"[0-9a-f]{4}(-[0-9a-f]{4}){3}", code)

    _move_phase(staff, cycle_url, "results")
    staff.goto(cycle_url.rstrip("/") + "/results")
    # The tally runs as a background job (in-process in tests); its status page says done.
    compute = staff.get_by_role("button", name=kk("Compute the results (greedy and equal shares)"))
    compute.click(timeout=30_000)
    expect(staff.locator("#job-state")).to_contain_text(kk("Done."))
    staff.get_by_role("link", name=kk("Continue")).click()
    publish = kk("Publish the results (%(rule)s)").split("%(")[0]
    staff.get_by_role("button", name=re.compile("^" + re.escape(publish))).click()

    resident.goto(cycle_url.rstrip("/") + "/results")
    row = resident.locator("table.data tr", has_text=TITLE)
    expect(row).to_contain_text(kk("Funded"))
    resident.goto("/budget/receipt")
    resident.get_by_label(kk("Receipt code")).fill(code)
    resident.get_by_role("button", name=kk("Check"), exact=True).click()
    expect(resident.locator("p.flash.flash-success")).to_be_visible()
    # The inclusion proof is checked by the page's own script (SubtleCrypto) in Chromium.
    expect(resident.locator(".proof-status")).to_have_text(
        kk("Checked in your browser: this entry is in the ledger with this root hash.")
    )
    expect(resident.locator("[data-proof]")).to_have_attribute("data-verified", "yes")
