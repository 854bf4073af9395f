"""Journeys in Kazakh in real Chromium: a forgotten password reset through the mail that the
test SMTP server receives, and sign-in through the test identity provider (OIDC)."""

import logging
import re
import threading

import pytest
from a11y import accessibility_violations
from dbutil import fresh_database_url, prepare_schema
from helpers import PASSWORD, make_iin, translate
from mailserver import link
from oidc_helpers import oidc_settings
from playwright.sync_api import expect
from werkzeug.serving import make_server

from portal import create_app

pytestmark = pytest.mark.browser
NEW_PASSWORD = "жаңа-құпия-сөз-2026"


@pytest.fixture(scope="module")
def accounts_server(tmp_path_factory, worker_id, smtp_server, oidc_provider):
    """A live portal whose mail goes to the test SMTP server and that trusts the test IdP."""
    url = fresh_database_url(tmp_path_factory.mktemp("acc"), f"tynda_acc_{worker_id}")
    app = create_app(
        {
            "CONFIG": "testing",
            "SQLALCHEMY_DATABASE_URI": url,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_server.port,
            **oidc_settings(oidc_provider),
        }
    )
    prepare_schema(app)
    with app.app_context():
        from portal import demo
        from portal.extensions import db

        demo.load_all(db.session)
        db.session.commit()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.app = app
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def kk_page(browser, accounts_server):
    context = browser.new_context(base_url=accounts_server.url, locale="kk-KZ", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _resident(server, email, verified=True):
    from portal.accounts import services
    from portal.accounts.models import iin_key
    from portal.extensions import db
    from portal.regions.services import region_by_code

    with server.app.app_context():
        region = region_by_code(db.session, "KZ-75")
        iin = make_iin()
        user = services.register(
            db.session,
            full_name="Айгерім Сапарова",
            iin=iin,
            email=email,
            phone="+77011234567",
            password=PASSWORD,
            region=region,
            district=None,
            key=iin_key(),
            locale="kk",
        )
        if verified:
            services.mark_verified(user, region.id, "staff")
        db.session.commit()
        return iin


def kk(message):
    return translate("kk", message)


def test_forgotten_password_is_reset_through_the_mail_in_kazakh(
    kk_page, accounts_server, smtp_server, sign_in
):
    page = kk_page
    _resident(accounts_server, "aigerim@example.kz")
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    page.get_by_role("link", name=kk("Forgot your password?")).click()
    assert accessibility_violations(page) == []
    page.get_by_label(kk("E-mail")).fill("aigerim@example.kz")
    page.get_by_role("button", name=kk("Send the link")).click()
    sent = kk(
        "If an account uses this address, we have sent it a link to choose a new password. "
        "Check your mailbox (and the spam folder); the link works for one hour."
    )
    expect(page.locator(".flash").first).to_contain_text(sent[:40])

    (mail,) = smtp_server.inbox.wait_for("aigerim@example.kz")
    assert mail["Subject"] == kk("Tynda: reset your password")
    page.goto(link(mail, "/password/reset/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(kk("Choose a new password"))
    page.get_by_label(kk("New password"), exact=True).fill(NEW_PASSWORD)
    page.get_by_label(kk("Repeat the new password")).fill(NEW_PASSWORD)
    page.get_by_role("button", name=kk("Save the new password")).click()
    expect(page).to_have_url(re.compile(r"/login$"))

    sign_in(page, "aigerim@example.kz", NEW_PASSWORD, t=kk, go=False)
    expect(page.get_by_role("heading", level=1)).to_have_text(kk("My profile"))
    # The link was single-use.
    page.goto(link(mail, "/password/reset/"))
    expect(page).to_have_url(re.compile(r"/password/forgot$"))


def test_sign_in_through_the_identity_provider_in_kazakh(kk_page, accounts_server):
    page = kk_page
    iin = _resident(accounts_server, "egov@example.kz", verified=False)
    page.goto("/login")
    page.get_by_role(
        "link", name=kk("Sign in with %(provider)s").replace("%(provider)s", "eGov")
    ).click()
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    page.get_by_label("IIN").fill(iin)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/profile$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(kk("My profile"))
    expect(page.locator("dl.facts")).to_contain_text("Айгерім Сапарова")
    # The provider vouches for residence: the resident is now verified.
    expect(page.locator("dl.facts .badge-ok").first).to_be_visible()
    assert accessibility_violations(page) == []
    # The account pages that came with it are accessible too, in Kazakh.
    for path, heading in (
        ("/notifications/settings", "Notification settings"),
        ("/notifications", "My notifications"),
        ("/password/change", "Change your password"),
        ("/profile/edit", "Edit your profile and e-mail"),
        ("/profile/delete", "Delete your account"),
        ("/privacy", "Privacy notice"),
    ):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_text(kk(heading))
        assert accessibility_violations(page) == [], path
