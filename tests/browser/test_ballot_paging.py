"""The ballot of a big cycle in real Chromium: pick a project on page one, move to page two
(the choice travels with the form), pick another, see both in the running total and the
budget bar, cast, and find both on the receipt. The paged ballot passes axe."""

import pytest
from a11y import accessibility_violations
from helpers import new_cycle
from playwright.sync_api import expect
from sqlalchemy import select

from portal.accounts.models import User
from portal.budgeting.models import Proposal

pytestmark = pytest.mark.browser


@pytest.fixture
def big_cycle(live_server):
    from portal.extensions import db

    with live_server.app.app_context():
        author = db.session.scalar(select(User).where(User.email == "staff@demo.tynda.kz"))
        cycle = new_cycle(
            "voting",
            title_kk="Үлкен бюллетень",
            title_ru="Большой бюллетень",
            title_en="Big ballot",
            commit=False,
        )
        for i in range(45):
            db.session.add(
                Proposal(
                    cycle_id=cycle.id,
                    author_id=author.id,
                    title=f"Pager project {i:02d}",
                    description_html="<p>x</p>",
                    category="yards",
                    estimated_cost=100_000 + i,
                    status="feasible",
                )
            )
        db.session.commit()
        return cycle.id


def test_choices_travel_across_ballot_pages(page, big_cycle, sign_in):
    sign_in(page, "resident@demo.tynda.kz")
    page.goto(f"/budget/{big_cycle}/ballot")
    expect(page.get_by_text("Page 1 of 3")).to_be_visible()
    assert accessibility_violations(page) == []
    page.get_by_label("Pager project 00").check()
    expect(page.locator("#running-total")).to_contain_text("100")
    page.get_by_role("button", name="Next →").click()
    expect(page.get_by_text("Page 2 of 3")).to_be_visible()
    # Project 00 is carried (hidden) and summarised; the total still counts it.
    expect(page.locator(".ballot-chosen")).to_contain_text("Pager project 00")
    page.get_by_label("Pager project 21").check()
    expect(page.locator("#running-total")).to_contain_text("200")
    assert page.locator("#budget-bar").evaluate("bar => bar.value") == 200_021
    page.get_by_role("button", name="Cast my ballot").click()
    receipt = page.locator("main")
    expect(receipt).to_contain_text("Pager project 00")
    expect(receipt).to_contain_text("Pager project 21")
