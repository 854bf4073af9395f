"""WCAG 2.1 AA (axe-core) on the audit log viewer, desktop and phone width."""

import pytest
from a11y import accessibility_violations

pytestmark = pytest.mark.browser


def test_audit_log_viewer_is_accessible(page, sign_in):
    sign_in(page, "admin@demo.tynda.kz")
    page.goto("/staff/audit/")
    # The demo data's staff actions (sign-ins, reviews, results) are in the log.
    assert page.locator("table.data tbody tr").count() >= 1
    assert "accounts.sign_in" in page.content()
    assert accessibility_violations(page) == []
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/staff/audit/?action=accounts.sign_in")
    assert accessibility_violations(page) == []
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= 380
