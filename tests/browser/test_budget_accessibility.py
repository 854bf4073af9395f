"""WCAG 2.1 AA (axe-core) on the budgeting pages of the demo data, signed out and as a
verified resident on the ballot."""

import re

import pytest
from a11y import accessibility_violations

pytestmark = pytest.mark.browser


def _cycle_paths(page):
    page.goto("/budget/")
    hrefs = page.eval_on_selector_all("main a[href]", "els => els.map(e => e.getAttribute('href'))")
    cycles = sorted({h for h in hrefs if re.fullmatch(r"/budget/\d+", h)})
    assert len(cycles) >= 5, hrefs
    return cycles


def test_budget_pages_have_no_axe_violations(page):
    problems = {}
    for cycle in _cycle_paths(page):
        for path in (cycle, f"{cycle}/proposals", f"{cycle}/results"):
            response = page.goto(path)
            if response.status != 200:
                continue
            found = accessibility_violations(page)
            if found:
                problems[path] = found
    page.goto("/budget/")
    assert accessibility_violations(page) == []
    assert problems == {}


def test_ballot_page_has_no_axe_violations(page, sign_in):
    sign_in(page, "resident@demo.tynda.kz")
    checked = 0
    for cycle in _cycle_paths(page):
        response = page.goto(f"{cycle}/ballot")
        if response.status == 200 and page.locator("fieldset").count():
            assert accessibility_violations(page) == [], cycle
            checked += 1
    assert checked >= 1
