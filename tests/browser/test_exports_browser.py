"""A staff member of Almaty (demo account) opens the dashboards and downloads every format
in Chromium; the files open. Dashboards and reports pass axe (WCAG 2.1 AA) and fit a phone."""

import datetime as dt
import json
import re
import sqlite3

import pytest
from a11y import accessibility_violations
from helpers import new_cycle
from openpyxl import load_workbook
from playwright.sync_api import expect

from portal.budgeting import pabulib

pytestmark = pytest.mark.browser

DEMO_STAFF = ("staff@demo.tynda.kz", "tynda-demo-2026")


@pytest.fixture(scope="module")
def closed_cycle(live_server):
    """A finished Almaty cycle with two demo residents' ballots, results computed."""
    from sqlalchemy import select

    from portal.accounts.models import User, utcnow
    from portal.budgeting import publishing, services
    from portal.budgeting.models import Proposal
    from portal.extensions import db
    from portal.regions.services import region_by_code

    with live_server.app.app_context():
        almaty = region_by_code(db.session, "KZ-75")  # its residents vote
        start = utcnow() - dt.timedelta(days=10)
        day = dt.timedelta(days=2)
        cycle = new_cycle(
            title_kk="Алматы бюджеті", title_ru="Бюджет Алматы", title_en="Almaty budget",
            budget=2_000_000, proposals_open_at=start, review_open_at=start + day,
            voting_open_at=start + 2 * day, voting_close_at=start + 3 * day,
            implementation_at=None, commit=False,
        )  # fmt: skip
        users = db.session.scalars(select(User).order_by(User.id)).all()
        staff = next(u for u in users if u.role == "staff")
        projects = []
        for title, cost in (("Скейт-парк", 900_000), ("Освещение аллеи", 700_000)):
            p = Proposal(
                cycle_id=cycle.id, author_id=users[0].id, title=title,
                description_html="<p>x</p>", category="sports", estimated_cost=cost,
                status="feasible",
            )  # fmt: skip
            db.session.add(p)
            projects.append(p)
        db.session.flush()
        for user in users:
            if user.verified_region_id == almaty.id:
                services.cast_ballot(
                    db.session, user, cycle, [projects[0].id], secret="s",
                    now=cycle.voting_open_at + dt.timedelta(hours=1),
                )  # fmt: skip
        publishing.compute_results(db.session, staff, cycle, rules=["greedy", "mes"])
        db.session.commit()
        return cycle.id


def _download(page, link, tmp_path):
    with page.expect_download() as info:
        link.click()
    download = info.value
    name = download.suggested_filename
    assert name.startswith("tynda-") and "/" not in name
    path = tmp_path / name
    download.save_as(path)
    return path


def _download_by_job(page, dashboard, label, tmp_path):
    """Press the dashboard's button for a file built in the background, follow the job page
    (accessible, with its progress bar) and download the file it offers."""
    page.goto(dashboard)
    page.get_by_role("button", name=label).click()
    expect(page.get_by_role("heading", name="Preparing an export file")).to_be_visible()
    expect(page.locator("#job-state")).to_contain_text("Done.")
    expect(page.locator("#job-progress")).to_have_attribute("value", "100")
    assert accessibility_violations(page) == []
    path = _download(page, page.get_by_role("link", name=re.compile("^Download tynda-")), tmp_path)
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(re.compile(re.escape(dashboard) + "$"))
    return path


def test_staff_downloads_every_format(page, sign_in, closed_cycle, tmp_path):
    sign_in(page, *DEMO_STAFF, lang="en")  # other journeys may leave it in Kazakh
    page.goto("/staff/")
    page.locator("section[aria-labelledby=cycles-h]").get_by_role(
        "link", name="Almaty budget"
    ).click()
    assert page.get_by_role("heading", name="Dashboard: Almaty budget").is_visible()
    dashboard = page.url.removeprefix(page.url.split("/staff/")[0])
    assert page.locator("ul.downloads li").count() == 7  # three CSV tables, four formats
    # Small CSV, JSON and .pb files stream from links; XLSX and SQLite are built by a job.
    links = page.locator("ul.downloads a")
    assert links.count() == 5
    files = {}
    for index in range(links.count()):
        path = _download(page, links.nth(index), tmp_path)
        files[path.name.split("-")[3] if path.suffix == ".csv" else path.suffix] = path
    for label in ("Excel workbook (.xlsx)", "SQLite database (Datasette)"):
        path = _download_by_job(page, dashboard, label, tmp_path)
        files[path.suffix] = path
    tally = files["tally"].read_bytes()
    assert tally.startswith(b"\xef\xbb\xbf") and "Скейт-парк" in tally.decode("utf-8")
    assert load_workbook(files[".xlsx"]).sheetnames[0] == "Tally"
    assert json.loads(files[".json"].read_text())["meta"]["cycle_id"] == closed_cycle
    connection = sqlite3.connect(files[".sqlite"])
    assert connection.execute("SELECT count(*) FROM ballots").fetchone()[0] >= 1
    parsed = pabulib.load(files[".pb"])
    assert parsed.meta["vote_type"] == "approval" and parsed.votes


def test_staff_downloads_a_consultation(page, sign_in, tmp_path):
    sign_in(page, *DEMO_STAFF, lang="en")  # other journeys may leave it in Kazakh
    page.goto("/staff/")
    page.locator("section[aria-labelledby=drafts-h] a").first.click()
    dashboard = page.url.removeprefix(page.url.split("/staff/")[0])
    assert page.locator("ul.downloads li").count() == 6
    links = page.locator("ul.downloads a")
    assert links.count() == 4  # three CSV tables and JSON
    for index in range(links.count()):
        path = _download(page, links.nth(index), tmp_path)
        assert path.stat().st_size > 0
    for label in ("Excel workbook (.xlsx)", "SQLite database (Datasette)"):
        path = _download_by_job(page, dashboard, label, tmp_path)
        assert path.stat().st_size > 0


def test_a_big_file_is_prepared_from_a_bookmarked_link(
    page, sign_in, live_server, closed_cycle, tmp_path
):
    """Over the streaming limit even a CSV goes through a job; its old link leads to a page
    with the button, and nothing is queued before it is pressed."""
    sign_in(page, *DEMO_STAFF, lang="en")  # other journeys may leave it in Kazakh
    app = live_server.app
    app.config["EXPORT_STREAM_ROWS"] = 0
    try:
        page.goto(f"/staff/cycles/{closed_cycle}/export?format=csv&part=ballots")
        expect(page.get_by_role("heading", name="Prepare an export")).to_be_visible()
        assert accessibility_violations(page) == []
        page.get_by_role("button", name=re.compile("^Prepare CSV")).click()
        expect(page.locator("#job-state")).to_contain_text("Done.")
        path = _download(page, page.get_by_role("link", name=re.compile("^Download")), tmp_path)
    finally:
        app.config.pop("EXPORT_STREAM_ROWS")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert path.name.startswith(f"tynda-cycle-{closed_cycle}-ballots-") and len(lines) >= 2


def test_dashboards_are_accessible_and_fit_a_phone(page, sign_in, closed_cycle):
    sign_in(page, *DEMO_STAFF, lang="en")  # other journeys may leave it in Kazakh
    paths = ["/staff/", f"/staff/cycles/{closed_cycle}", f"/staff/cycles/{closed_cycle}/report",
             "/staff/exports/log"]  # fmt: skip
    page.goto("/staff/")
    draft_href = page.locator("section[aria-labelledby=drafts-h] a").first.get_attribute("href")
    paths += [draft_href, draft_href + "/report"]
    for path in paths:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(path)
        assert accessibility_violations(page) == [], path
        page.set_viewport_size({"width": 360, "height": 740})
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, path
