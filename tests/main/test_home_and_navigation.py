"""The home page shows the region's cycles, drafts, results and answers in a bounded number of
queries; the header reaches every capability the user may use; the "my" pages are paged."""

import datetime as dt
import re
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent.parent / "budgeting"))
import budget_fixtures  # noqa: E402
from consult_helpers import make_comment, make_draft, publish
from helpers import make_user

from portal.accounts.models import utcnow
from portal.budgeting import integrity
from portal.budgeting.models import Ballot, CycleResult
from portal.extensions import db as _db


def _voter_key(cycle_id, user_id):
    """The keyed pseudonym a ballot row carries instead of the voter's id."""
    from flask import current_app

    return integrity.voter_key(integrity.ballot_key(current_app.config), cycle_id, user_id)


make_project = budget_fixtures.make_project


@pytest.fixture
def count_queries(app):
    """Count the SQL statements run while the context manager is open."""

    class Counter:
        def __init__(self):
            self.count = 0

        def __call__(self, *args):
            self.count += 1

    counter = Counter()
    with app.app_context():
        engine = _db.engine
    sa.event.listen(engine, "before_cursor_execute", counter)
    yield counter
    sa.event.remove(engine, "before_cursor_execute", counter)


def _links(html):
    return set(re.findall(r'href="([^"#?]+)', html))


def test_anonymous_header_reaches_budget_drafts_and_receipts(client):
    html = client.get("/").get_data(as_text=True)
    links = _links(html)
    for path in ("/budget/", "/consultations/", "/budget/receipt", "/login", "/register"):
        assert path in links, path
    assert "/accessibility" in links and "/verification" in links
    assert "/staff/" not in links and "/moderation/" not in links


@pytest.mark.parametrize(
    "role, present, absent",
    [
        ("resident", ["/budget/", "/consultations/", "/profile"], ["/staff/", "/moderation/"]),
        ("moderator", ["/moderation/", "/staff/"], ["/staff/residents"]),
        (
            "staff",
            ["/staff/", "/staff/exports/log", "/staff/residents", "/consultations/overdue"],
            ["/moderation/"],
        ),
        (
            "admin",
            ["/staff/", "/staff/exports/log", "/staff/residents", "/moderation/", "/budget/"],
            [],
        ),
    ],
)
def test_header_links_by_role(as_role, role, present, absent):
    client = as_role(role)
    links = _links(client.get("/").get_data(as_text=True))
    for path in present:
        assert path in links, (role, path)
    for path in absent:
        assert path not in links, (role, path)
    # Every header link opens for this role (no 403 one click from the header).
    for path in present:
        assert client.get(path).status_code == 200, (role, path)


def test_budget_link_in_header_on_every_page(client):
    html = client.get("/consultations/").get_data(as_text=True)
    assert 'href="/budget/"' in html


def test_home_shows_region_cycles_drafts_results_answers(client, db, new_cycle, make_project):
    voting = new_cycle("voting", title_en="Almaty yards 2026", budget=12_000_000)
    make_project(voting, 500_000)
    make_project(voting, 700_000)
    voter = make_user()
    db.session.add(
        Ballot(cycle_id=voting.id, voter_key=_voter_key(voting.id, voter.id), receipt="R" * 16)
    )
    closed = new_cycle("results", title_en="Almaty lights 2025")
    db.session.add(
        CycleResult(
            cycle_id=closed.id,
            rule="greedy",
            data={},
            total_cost=1_500_000,
            published_at=utcnow(),
        )
    )
    new_cycle("proposals", region="KZ-71", title_en="Astana only")
    draft = make_draft(now=dt.datetime.now(dt.UTC))
    db.session.commit()

    html = client.get("/?region=KZ-75").get_data(as_text=True)
    assert "Almaty yards 2026" in html and "Almaty lights 2025" in html
    assert "Astana only" not in html
    assert "2 projects" in html and "1 ballot" in html
    assert "12,000,000\u00a0₸" in html  # one formatter: en groups with commas
    assert "1,500,000\u00a0₸" in html
    assert draft.title_en in html and "days left" in html
    assert f"/budget/{voting.id}/ballot" in html

    # The choice is remembered for the next visit; another region shows its own cycles.
    assert "Almaty yards 2026" in client.get("/").get_data(as_text=True)
    other = client.get("/?region=KZ-71").get_data(as_text=True)
    assert "Astana only" in other and "Almaty yards 2026" not in other


def test_home_counts_overdue_answers_and_shows_latest(client, db):
    draft = make_draft(now=dt.datetime.now(dt.UTC))
    answered = publish(make_comment(draft))
    publish(make_comment(draft))
    answered.decision = "accepted"
    answered.answered_at = utcnow()
    draft.status = "closed"
    draft.answer_due = utcnow() - dt.timedelta(days=1)
    db.session.commit()
    html = client.get("/?region=KZ-75").get_data(as_text=True)
    assert "1 answer is overdue." in html
    assert "Accepted" in html and f"/articles/{answered.article_id}" in html


def test_home_in_kazakh_groups_money_with_spaces(client, new_cycle):
    new_cycle("voting", budget=12_000_000)
    client.set_cookie("lang", "kk")
    html = client.get("/?region=KZ-75").get_data(as_text=True)
    assert "12\u00a0000\u00a0000\u00a0₸" in html


def test_home_empty_states_say_what_next(client):
    html = client.get("/?region=KZ-10").get_data(as_text=True)
    assert "No budget cycles in this region yet" in html
    assert "No results published yet" in html
    html = client.get("/?region=").get_data(as_text=True)
    assert "Choose your region above" in html


def test_home_queries_are_bounded(client, db, new_cycle, make_project, count_queries):
    new_cycle("voting")
    client.get("/?region=KZ-75")
    count_queries.count = 0
    client.get("/?region=KZ-75")
    few = count_queries.count
    for phase in ("proposals", "review", "voting", "results", "implementation") * 3:
        cycle = new_cycle(phase)
        make_project(cycle, 100_000)
    for _ in range(4):
        make_draft(now=dt.datetime.now(dt.UTC))
    count_queries.count = 0
    client.get("/?region=KZ-75")
    assert count_queries.count == few


def test_profile_links_to_my_pages(as_role):
    client = as_role("resident")
    links = _links(client.get("/profile").get_data(as_text=True))
    for path in (
        "/notifications",
        "/budget/my/proposals",
        "/budget/my/ballots",
        "/consultations/my-comments",
    ):
        assert path in links
        assert client.get(path).status_code == 200


def test_my_pages_empty_states(as_role):
    client = as_role("resident")
    assert "You have not proposed a project yet" in client.get("/budget/my/proposals").get_data(
        as_text=True
    )
    assert "You have not voted yet" in client.get("/budget/my/ballots").get_data(as_text=True)


def test_my_proposals_and_ballots_are_paged(as_role, db, new_cycle, make_project):
    client = as_role("resident")
    cycle = new_cycle("voting")
    for n in range(23):
        make_project(cycle, 1000 + n, author=client.user, title=f"Mine {n:02d}")
    for n in range(21):
        other = new_cycle("voting", title_en=f"Cycle {n:02d}")
        key = _voter_key(other.id, client.user.id)
        db.session.add(Ballot(cycle_id=other.id, voter_key=key, receipt=f"{n:016d}"))
    db.session.commit()
    first = client.get("/budget/my/proposals").get_data(as_text=True)
    second = client.get("/budget/my/proposals?page=2").get_data(as_text=True)
    assert "Mine 22" in first and "Mine 00" not in first
    assert "Mine 00" in second and "Mine 22" not in second
    assert "Page 2 of 2" in second
    ballots2 = client.get("/budget/my/ballots?page=2").get_data(as_text=True)
    assert "Open the receipt" in ballots2


def test_my_comments_paged(as_role, db):
    client = as_role("resident")
    draft = make_draft(now=dt.datetime.now(dt.UTC))
    for n in range(21):
        make_comment(draft, author=client.user, text=f"Comment number {n:02d}")
    second = client.get("/consultations/my-comments?page=2").get_data(as_text=True)
    assert "Comment number 00" in second and "Comment number 20" not in second
