"""Journeys in real Chromium, in Kazakh, Russian and English: from the home page, every role
reaches each of its capabilities by clicking only (header, home page, profile)."""

import pytest
from helpers import translate
from playwright.sync_api import expect

# Signing in hashes a password (argon2) and pages load on a loaded 2-core machine.
WAIT = 20_000

pytestmark = pytest.mark.browser
LANGUAGES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
HEADER = {
    "anonymous": ["Budget", "Draft laws", "Check a receipt"],
    "resident": ["Budget", "Draft laws", "My activity"],
    "moderator": ["Budget", "Draft laws", "Moderation", "Dashboards", "My activity"],
    "staff": [
        "Budget",
        "Draft laws",
        "Dashboards",
        "Exports",
        "Overdue answers",
        "Residents",
        "My activity",
    ],
    "admin": [
        "Budget",
        "Draft laws",
        "Moderation",
        "Dashboards",
        "Exports",
        "Overdue answers",
        "Residents",
        "My activity",
    ],
}
PROFILE = ["My notifications", "My proposals", "My ballots and receipts", "My comments"]


def _ok(page):
    """The page opened is a real page, not an error page."""
    expect(page.locator("h1").first).to_be_visible(timeout=WAIT)
    expect(page.locator(".error-page")).to_have_count(0)


def _home(page, t):
    page.get_by_role("link", name="Tynda").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("Have your say in your region"), timeout=WAIT
    )


def _nav(page, t):
    return page.get_by_role("navigation", name=t("Main"))


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("role", list(HEADER))
def test_every_capability_is_clicks_away_from_home(browser, live_server, sign_in, role, lang):
    def t(message):
        return translate(lang, message)

    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto("/")
        page.get_by_role("button", name=LANGUAGES[lang]).click()
        expect(page.locator("html")).to_have_attribute("lang", lang, timeout=WAIT)
        if role != "anonymous":
            _nav(page, t).get_by_role("link", name=t("Sign in")).click()
            # The account's saved language wins over the cookie: choose it again (saved too).
            sign_in(page, f"{role}@demo.tynda.kz", t=t, lang=lang, go=False)
            my_activity = _nav(page, t).get_by_role("link", name=t("My activity"))
            expect(my_activity).to_be_visible(timeout=WAIT)
            _home(page, t)
        for label in HEADER[role]:
            _nav(page, t).get_by_role("link", name=t(label), exact=True).click()
            _ok(page)
            _home(page, t)
        if role == "anonymous":
            # The region chooser shows a region's cycles; one click opens a cycle.
            page.get_by_label(t("Show what is happening in")).select_option("KZ-75")
            page.get_by_role("button", name=t("Show"), exact=True).click()
        # The home page lists the region's budget cycles and drafts: each opens in one click.
        page.locator("#budget-title ~ ul.home-list a").first.click()
        _ok(page)
        assert "/budget/" in page.url
        _home(page, t)
        if role != "anonymous":
            _nav(page, t).get_by_role("link", name=t("My activity")).click()
            for label in PROFILE:
                page.get_by_role("link", name=t(label), exact=True).click()
                _ok(page)
                page.go_back()
    finally:
        context.close()
