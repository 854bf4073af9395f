"""Every paginated page, walked past its first page by following its own "Next" links.

The pager once dropped the route's own arguments (cycle_id, draft_id) and answered 500 on
page two of any cycle with more than one page of proposals: these tests follow every link
the pager prints, with a page size of 2, until there is no next page.
"""

import html
import re

import pytest
from consult_helpers import make_comment, make_draft, publish
from helpers import make_user
from sqlalchemy import select

from portal.budgeting.models import Notification, Proposal

NEXT = re.compile(r'<a rel="next" href="([^"]+)"')
PREV = re.compile(r'<a rel="prev" href="([^"]+)"')
PAGE_SIZE = 2


@pytest.fixture
def small_pages(app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", PAGE_SIZE)


def walk(client, url):
    """GET url and every "Next" page after it; returns the HTML of each page."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        text = response.get_data(as_text=True)
        pages.append(text)
        found = NEXT.search(text)
        url = html.unescape(found.group(1)) if found else None
        assert len(pages) <= 20, "the pager never ends"
    if len(pages) > 1:
        back = PREV.search(pages[-1])
        assert back, "the last page has no link back"
        assert client.get(html.unescape(back.group(1))).status_code == 200
    return pages


def seen(pages, names):
    """Which of `names` appear on which page (each exactly once overall)."""
    found = {name: [i for i, page in enumerate(pages) if name in page] for name in names}
    return found


def assert_each_once(pages, names):
    where = seen(pages, names)
    assert all(len(v) == 1 for v in where.values()), sorted(where.items())


def _projects(db, cycle, n, status="submitted"):
    author = make_user()
    names = [f"Walkproject{i:03d}" for i in range(n)]
    for name in names:
        db.session.add(
            Proposal(
                cycle_id=cycle.id,
                author_id=author.id,
                title=name,
                description_html="<p>x</p>",
                category="yards",
                estimated_cost=1000,
                status=status,
            )
        )
    db.session.commit()
    return names


@pytest.fixture
def cycle(db, new_cycle):
    return new_cycle("review", budget=10_000_000)


def test_proposal_list_walks_past_page_one_with_filters(db, client, small_pages, cycle):
    names = _projects(db, cycle, 7)
    pages = walk(client, f"/budget/{cycle.id}/proposals?sort=title&category=yards&q=Walk")
    assert len(pages) == 4
    assert_each_once(pages, names)
    # The filters travel with the pager: page two is still sorted by title.
    assert pages[1].index("Walkproject002") < pages[1].index("Walkproject003")


def test_review_queue_walks(db, as_role, small_pages, cycle):
    names = _projects(db, cycle, 5)
    staff = as_role("staff")
    pages = walk(staff, f"/budget/{cycle.id}/review")
    assert len(pages) == 3
    assert_each_once(pages, names)


def test_cycles_list_walks(db, client, small_pages, new_cycle):
    for _ in range(5):
        new_cycle("proposals", budget=10_000_000)
    pages = walk(client, "/budget/?region=KZ-75")
    assert len(pages) >= 3


def test_notifications_walk(db, as_role, small_pages, cycle):
    _projects(db, cycle, 1)
    proposal_id = db.session.scalar(select(Proposal.id).where(Proposal.cycle_id == cycle.id))
    resident = as_role("resident")
    for _ in range(5):
        db.session.add(
            Notification(user_id=resident.user.id, kind="reviewed", proposal_id=proposal_id)
        )
    db.session.commit()
    pages = walk(resident, "/budget/notifications")
    assert len(pages) == 3


def test_consultations_index_walks(db, client, small_pages):
    staff = make_user(role="staff")
    for _ in range(5):
        make_draft(staff=staff)
    pages = walk(client, "/consultations/")
    assert len(pages) >= 3


def test_answers_list_walks(db, as_role, small_pages):
    draft = make_draft()
    texts = [f"Walkcomment number {i}" for i in range(5)]
    for text in texts:
        publish(make_comment(draft, text=text))
    staff = as_role("staff")
    pages = walk(staff, f"/consultations/{draft.id}/answers")
    assert len(pages) == 3
    assert_each_once(pages, texts)


def test_residents_list_walks(db, as_role, small_pages):
    staff = as_role("staff")
    names = [f"Walkresident{i}" for i in range(5)]
    for name in names:
        make_user(verified=False, full_name=name)
    pages = walk(staff, "/staff/residents")
    assert len(pages) >= 3
    assert_each_once(pages, names)


def test_results_table_walks_and_the_chart_is_bounded(db, as_role, client, small_pages, new_cycle):
    from portal.budgeting import publishing
    from portal.budgeting.models import Ballot, BallotChoice
    from portal.budgeting.results_views import CHART_TOP

    cycle = new_cycle("results", budget=10_000_000)
    names = _projects(db, cycle, CHART_TOP + 10, status="feasible")
    ids = db.session.scalars(
        select(Proposal.id).where(Proposal.cycle_id == cycle.id).order_by(Proposal.id)
    ).all()
    for n, pid in enumerate(ids):
        ballot = Ballot(cycle_id=cycle.id, channel="imported", receipt=f"r{n}")
        db.session.add(ballot)
        db.session.flush()
        db.session.add(BallotChoice(ballot_id=ballot.id, proposal_id=pid))
    staff = make_user(role="staff")
    publishing.compute_results(db.session, staff, cycle)
    publishing.publish_results(db.session, staff, cycle)
    db.session.commit()
    pages = walk(client, f"/budget/{cycle.id}/results")
    assert len(pages) == -(-len(names) // PAGE_SIZE)
    rows = [re.findall(r'<th scope="row"><a href="[^"]+">(Walkproject\d+)</a>', p) for p in pages]
    assert sorted(sum(rows, [])) == sorted(names)
    assert pages[0].count('class="bar-won"') + pages[0].count('class="bar-lost"') == CHART_TOP + 1
    assert "Other projects (10)" in pages[0]
    funded = walk(client, f"/budget/{cycle.id}/results?funded=1")
    assert sum(len(re.findall(r"badge-ok", p)) for p in funded) == len(names)

    implementation = walk(client, f"/budget/{cycle.id}/implementation")
    assert len(implementation) == len(pages)
    assert_each_once(implementation, [f">{n}</a>" for n in names])

    counts = walk(as_role("admin"), f"/budget/{cycle.id}/counts")
    assert len(counts) == len(pages)
    assert_each_once(counts, [f">{n}</th>" for n in names])
    # Every project has one vote: one per row on every page.
    assert all(p.count('<td class="num">1</td>') == PAGE_SIZE for p in counts[:-1])

    dashboard = as_role("staff").get(f"/staff/cycles/{cycle.id}").get_data(as_text=True)
    assert "5 more are on the results page" in dashboard  # the top 20 of 25 only


def test_campaigns_walk_in_a_constant_number_of_queries(db, as_role, small_pages, app):
    import sqlalchemy as sa

    from portal.consultations.models import Campaign
    from portal.extensions import db as _db

    draft = make_draft()
    moderator = as_role("moderator")

    made = []

    def add_campaigns(n):
        for i in range(len(made), len(made) + n):
            made.append(i)
            comments = [publish(make_comment(draft, text=f"Walkcampaign text {i}")) for _ in (1, 2)]
            campaign = Campaign(draft_id=draft.id, size=2, representative_id=comments[0].id)
            db.session.add(campaign)
            db.session.flush()
            for comment in comments:
                comment.campaign_id = campaign.id
        db.session.commit()

    statements = []

    def count(*args):
        statements.append(1)

    url = f"/moderation/drafts/{draft.id}/campaigns"
    add_campaigns(1)
    sa.event.listen(_db.engine, "before_cursor_execute", count)
    try:
        moderator.get(url)
        one = len(statements)
        add_campaigns(4)
        statements.clear()
        moderator.get(url)
        assert len(statements) == one  # not one query per campaign any more
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", count)
    pages = walk(moderator, url)
    assert len(pages) == 3
    assert_each_once(pages, [f"Walkcampaign text {i}" for i in range(5)])


def test_summary_table_walks_in_article_order(db, client, small_pages):
    draft = make_draft()
    texts = []
    for i, article in enumerate((2, None, 1, 3, 1)):
        texts.append(f"Walksummary {i}")
        publish(make_comment(draft, text=texts[-1], article=article))
    pages = walk(client, f"/consultations/{draft.id}/summary")
    assert len(pages) == 3
    assert_each_once(pages, texts)
    # The whole-draft comment first, then article 1 (two, by id), 2 and 3.
    order = re.findall(r"Walksummary (\d)", "".join(pages))
    assert order == ["1", "2", "4", "0", "3"]
