"""The job status page in Chromium: accessible, and static/js/jobs.js follows the job until
it is done, then shows where to go next (no inline script: the page's CSP forbids it)."""

import pytest
import sqlalchemy as sa
from a11y import accessibility_violations
from playwright.sync_api import expect

from portal.accounts.models import User
from portal.extensions import db
from portal.jobs.models import Job

pytestmark = pytest.mark.browser


def test_status_page_polls_until_the_job_is_done(page, live_server, sign_in):
    app = live_server.app
    with app.app_context():
        staff = db.session.scalar(sa.select(User).where(User.email == "staff@demo.tynda.kz"))
        # The live server's database is shared: a journey in Kazakh may have saved kk as this
        # account's language. This page is checked in English.
        staff.locale = "en"
        row = Job(
            kind="jobs.ping", status="running", progress=30, total=120, message="step 2",
            created_by_id=staff.id, payload={"back": "/budget/"},
        )  # fmt: skip
        db.session.add(row)
        db.session.commit()
        job_id = row.id
    sign_in(page, "staff@demo.tynda.kz")
    page.goto(f"/jobs/{job_id}")
    expect(page.locator("#job-progress")).to_have_attribute("value", "25")
    assert accessibility_violations(page) == []
    with app.app_context():
        db.session.execute(
            sa.update(Job).where(Job.id == job_id).values(progress=90, message="step 3")
        )
        db.session.commit()
    expect(page.locator("#job-message")).to_have_text("step 3")
    expect(page.locator("#job-progress")).to_have_js_property("value", 75)
    with app.app_context():
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(status="done"))
        db.session.commit()
    expect(page.locator("#job-state")).to_contain_text("Done.")
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(live_server.url + "/budget/")
