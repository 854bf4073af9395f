"""Browser fixtures: the portal on a live server with its own database, and Debian's
Chromium driven by Playwright. A missing browser fails the run; it never skips."""

import logging
import os
import threading

import pytest
from dbutil import fresh_database_url, prepare_schema
from werkzeug.serving import make_server

from portal import create_app

CHROMIUM = "/usr/bin/chromium"
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


@pytest.fixture
def page(browser, live_server):
    # bypass_csp lets the test inject axe-core; the portal itself never needs inline script.
    context = browser.new_context(base_url=live_server.url, locale="en-US", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
