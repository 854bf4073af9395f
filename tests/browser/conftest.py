"""Browser fixtures: the portal on a live server with its own database, and Debian's
Chromium driven by Playwright. A missing browser fails the run; it never skips."""

import logging
import os
import re
import threading

import pytest
from dbutil import fresh_database_url, prepare_schema
from playwright.sync_api import expect
from werkzeug.serving import make_server

from portal import create_app
from portal.demo import PASSWORD as DEMO_PASSWORD
from portal.i18n import LANGUAGE_NAMES

CHROMIUM = "/usr/bin/chromium"
# Signing in hashes a password (Argon2) while other tests load the 2 shared cores.
SIGN_IN_WAIT = 20_000
# Chromium's background services would try to reach the internet; this machine has none.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, worker_id):
    url = fresh_database_url(tmp_path_factory.mktemp("live"), f"tynda_live_{worker_id}")
    app = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": url})
    prepare_schema(app)
    with app.app_context():
        from portal import demo
        from portal.extensions import db

        demo.load_all(db.session)
        db.session.commit()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # keep failure output readable
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.app = app
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Browser tests need Debian's Chromium at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def open_page(browser, server):
    """A page in a browser context of its own (its own cookies: one signed-in person)."""
    # bypass_csp lets the test inject axe-core; the portal itself never needs inline script.
    context = browser.new_context(base_url=server.url, locale="en-US", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


@pytest.fixture
def page(browser, live_server):
    page = open_page(browser, live_server)
    yield page
    page.context.close()


def _sign_in(page, email, password=DEMO_PASSWORD, *, t=None, lang=None, go=True):
    """Sign in through the form as a person does, and wait until the portal let them in.

    `t` reads the form's labels in the page's language (default English); `go=False` when
    the journey has already opened the form by clicking. `lang` then switches (and saves)
    the account's language: a demo account shared between journeys may carry another's."""
    t = t or (lambda message: message)
    if go:
        page.goto("/login")
    page.get_by_label(t("E-mail")).fill(email)
    page.get_by_label(t("Password"), exact=True).fill(password)
    page.get_by_role("button", name=t("Sign in"), exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/login(\?|$)"), timeout=SIGN_IN_WAIT)
    if lang is not None:
        page.get_by_role("button", name=LANGUAGE_NAMES[lang]).click()
        expect(page.locator("html")).to_have_attribute("lang", lang, timeout=SIGN_IN_WAIT)
    return page


@pytest.fixture
def sign_in():
    """sign_in(page, email, password=demo, t=, lang=, go=True): the one way journeys sign in."""
    return _sign_in


@pytest.fixture
def new_page(browser):
    """new_page(server) -> a page of its own browser context, closed after the test."""
    pages = []

    def make(server):
        pages.append(open_page(browser, server))
        return pages[-1]

    yield make
    for page in pages:
        page.context.close()
