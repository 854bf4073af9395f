"""WCAG 2.1 AA checks with axe-core on the foundation's pages, in each language, and on a
phone-sized screen."""

import pytest
from a11y import accessibility_violations

pytestmark = pytest.mark.browser

PAGES = [
    "/",
    "/?region=KZ-75",
    "/register",
    "/login",
    "/no-such-page",
    "/accessibility",
    "/verification",
]


@pytest.mark.parametrize("path", PAGES)
def test_public_pages_have_no_axe_violations(page, path):
    page.goto(path)
    assert accessibility_violations(page) == []


def test_register_errors_are_accessible_in_kazakh(page):
    page.goto("/register")
    page.get_by_role("button", name="Қазақша").click()
    page.locator("form.stack button[type=submit]").click()
    assert page.locator("[aria-invalid=true]").count() >= 3
    assert accessibility_violations(page) == []


def test_mobile_layout_has_no_horizontal_scroll(page):
    page.set_viewport_size({"width": 360, "height": 740})
    for path in PAGES:
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, path
