"""Journey in real Chromium: register with an IIN, sign in, switch to Kazakh, see the profile."""

import re

import pytest
from helpers import PASSWORD, make_iin, translate
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_register_login_switch_to_kazakh_and_see_profile(page, sign_in):
    page.goto("/register")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Full name").fill("Нұрлан Әбенов")
    page.get_by_label("IIN").fill("87100840142")  # 11 digits: refused with a message
    page.get_by_label("Region of residence").select_option(label="Almaty")
    page.get_by_label("Mobile phone").fill("+7 701 555 44 33")
    page.get_by_label("E-mail").fill("nurlan@example.kz")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_label("I consent to the processing of my personal data").check()
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".field.has-error")).to_contain_text("exactly 12 digits")

    page.get_by_label("IIN").fill(make_iin(serial=4242))
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_label("I consent to the processing of my personal data").check()
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/profile$"))

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Sign in").first.click()
    sign_in(page, "nurlan@example.kz", PASSWORD, go=False)
    expect(page.get_by_role("heading", name="My profile")).to_be_visible()

    assert translate("kk", "My profile") != "My profile", "Kazakh catalogue not compiled"
    page.get_by_role("button", name="Қазақша").click()
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.get_by_role("heading", level=1)).to_have_text(translate("kk", "My profile"))
    expect(page.locator("dl.facts")).to_contain_text("Нұрлан Әбенов")
    expect(page.locator("dl.facts")).to_contain_text("Алматы")

    # The choice is stored on the account: it survives a new browser session.
    page.context.clear_cookies()
    sign_in(page, "nurlan@example.kz", PASSWORD)
    page.goto("/profile")
    expect(page.locator("html")).to_have_attribute("lang", "kk")
