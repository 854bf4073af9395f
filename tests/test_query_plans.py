"""The hot queries of the big pages use their indexes, on SQLite and on PostgreSQL.

Each check requests a real page (or calls a service), captures the SQL it actually runs,
and asks the database for the plan of the statements that read the hot table:
- SQLite (EXPLAIN QUERY PLAN): the table is SEARCHed with the expected index, never SCANned
  whole, and no temporary B-tree sorts the rows;
- PostgreSQL (EXPLAIN, with sequential scans and sorts priced out so the tiny test tables
  cannot hide a missing index): the plan uses the expected index and has no Sort node.

A second test counts SQL statements per page: the same with 5 rows as with 50.
"""

import re

import pytest
import sqlalchemy as sa
from budgeting.budget_schedule import schedule_for
from consult_helpers import make_comment, make_draft, publish
from helpers import make_user

from portal.budgeting import services as budget
from portal.budgeting.models import Ballot, BallotChoice, BudgetCycle, Proposal
from portal.consultations import services as consult
from portal.consultations.models import Campaign, Comment
from portal.extensions import db as _db
from portal.regions.services import region_by_code


class Captured:
    """Statements run by the engine while active: [(sql, parameters)]."""

    def __init__(self):
        self.statements = []

    def _add(self, conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("EXPLAIN", "SAVEPOINT", "RELEASE")):
            self.statements.append((statement, parameters))

    def __enter__(self):
        sa.event.listen(_db.engine, "before_cursor_execute", self._add)
        return self

    def __exit__(self, *exc):
        sa.event.remove(_db.engine, "before_cursor_execute", self._add)

    def matching(self, *needles):
        found = [s for s in self.statements if all(n in s[0] for n in needles)]
        assert found, f"no statement with {needles}: {[s[0][:120] for s in self.statements]}"
        return found


def _plan(statement, parameters):
    connection = _db.session.connection()
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return [row[-1] for row in rows]
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL enable_sort = off")
    try:
        return [row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters)]
    finally:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = on")
        connection.exec_driver_sql("SET LOCAL enable_sort = on")


def assert_uses(captured, needles, table, index, *, sorted_by_index=True, pg_also=()):
    """pg_also: other indexes PostgreSQL may rightly prefer on tiny tables (still no scan of
    the whole table and no sort)."""
    for statement, parameters in captured.matching(*needles):
        plan = _plan(statement, parameters)
        text = "\n".join(plan)
        if _db.session.connection().dialect.name == "sqlite":
            assert re.search(rf"SEARCH {table} USING (COVERING )?INDEX {index}\b", text), (
                statement,
                text,
            )
            assert not re.search(rf"SCAN {table}\b(?! USING)", text), text
            if sorted_by_index:
                assert "TEMP B-TREE" not in text, (statement, text)
        else:
            # PostgreSQL's choice among the table's indexes on these tiny tables follows its
            # statistics, which autovacuum may refresh mid-run: the index names are checked on
            # SQLite; here the plan must read the table through an index, never a whole scan.
            assert re.search(
                rf"Index (Only )?Scan (Backward )?using \w+ on {table}\b|Bitmap Index Scan", text
            ), (
                statement,
                text,
            )
            assert f"Seq Scan on {table}" not in text, (statement, text)
            if sorted_by_index:
                assert not re.search(r"^\s*(->\s*)?Sort\b", text, re.M), (statement, text)


@pytest.fixture
def city(db):
    """A small cycle (results published) and an open draft with a campaign."""
    region = region_by_code(db.session, "KZ-75")
    cycle = BudgetCycle(
        region_id=region.id,
        title_kk="Бюджет",
        title_ru="Бюджет",
        title_en="Budget",
        budget=10_000_000,
        ballot_rule="knapsack",
        winner_rule="greedy",
        **schedule_for("results"),
    )
    db.session.add(cycle)
    db.session.flush()
    author = make_user()
    for i in range(12):
        db.session.add(
            Proposal(
                cycle_id=cycle.id,
                author_id=author.id,
                title=f"Plan {i}",
                description_html="<p>x</p>",
                category=("yards", "lighting")[i % 2],
                estimated_cost=1000 + i,
                status="feasible",
            )
        )
    db.session.flush()
    ids = db.session.scalars(select_ids(cycle)).all()
    for n in range(6):
        ballot = Ballot(cycle_id=cycle.id, channel="imported", receipt=f"plan{n}")
        db.session.add(ballot)
        db.session.flush()
        db.session.add(BallotChoice(ballot_id=ballot.id, proposal_id=ids[n]))
    staff = make_user(role="staff")
    budget.compute_results(db.session, staff, cycle)
    budget.publish_results(db.session, staff, cycle)
    db.session.commit()
    draft = make_draft(staff=staff)
    comments = [publish(make_comment(draft, text=f"Same text {i}")) for i in range(3)]
    campaign = Campaign(draft_id=draft.id, size=2, representative_id=comments[0].id)
    db.session.add(campaign)
    db.session.flush()
    comments[0].campaign_id = comments[1].campaign_id = campaign.id
    db.session.commit()
    return cycle, draft


def select_ids(cycle):
    return sa.select(Proposal.id).where(Proposal.cycle_id == cycle.id).order_by(Proposal.id)


@pytest.mark.parametrize(
    ("sort", "index"),
    [
        ("new", "ix_budget_proposal_cycle_created"),
        ("old", "ix_budget_proposal_cycle_created"),
        ("cost", "ix_budget_proposal_cycle_cost"),
        ("cost-desc", "ix_budget_proposal_cycle_cost"),
        ("title", "ix_budget_proposal_cycle_title"),
    ],
)
def test_proposal_list_reads_one_page_in_index_order(db, client, city, sort, index):
    cycle, _draft = city
    with Captured() as captured:
        assert client.get(f"/budget/{cycle.id}/proposals?sort={sort}&page=2").status_code == 200
    assert_uses(captured, ("FROM budget_proposal", "ORDER BY", "LIMIT"), "budget_proposal", index)


def test_ballot_implementation_and_votes_use_their_indexes(db, as_role, city):
    cycle, _draft = city
    with Captured() as captured:
        list(_db.session.scalars(budget.ballot_query(cycle).limit(20)))
        budget.votes_of(_db.session, [1, 2, 3])
        budget.turnout(_db.session, cycle)
    assert_uses(
        captured,
        ("budget_proposal.category", "LIMIT"),
        "budget_proposal",
        "ix_budget_proposal_ballot",
    )
    assert_uses(
        captured,
        ("FROM budget_ballot_choice", "GROUP BY"),
        "budget_ballot_choice",
        "ix_budget_ballot_choice_proposal",
    )
    assert_uses(
        captured,
        ("FROM budget_ballot", "GROUP BY budget_ballot.channel"),
        "budget_ballot",
        "ix_budget_ballot_turnout",
        # On a handful of rows PostgreSQL may take any index on the cycle (never a seq scan).
        pg_also=("ix_budget_ballot_cycle_created", "ix_budget_ballot_cycle_id"),
    )
    client = as_role("anonymous")
    with Captured() as captured:
        assert client.get(f"/budget/{cycle.id}/implementation").status_code == 200
    assert_uses(
        captured,
        ("FROM budget_proposal", "budget_proposal.funded", "LIMIT"),
        "budget_proposal",
        "ix_budget_proposal_funded",
    )


def test_draft_and_article_pages_read_only_their_draft(db, client, city):
    _cycle, draft = city
    article = draft.articles[0]
    with Captured() as captured:
        assert client.get(f"/consultations/{draft.id}/articles/{article.id}").status_code == 200
        consult.article_counts(_db.session, draft)
    assert_uses(
        captured,
        ("FROM comment", "comment.campaign_id IS NULL", "LIMIT"),
        "comment",
        "ix_comment_positions",
        # On tiny tables PostgreSQL may pick any of the comment table's indexes (still no
        # scan of the whole table and no sort); SQLite must use the positions index.
        pg_also=tuple(ix.name for ix in Comment.__table__.indexes),
    )
    assert_uses(
        captured,
        ("FROM comment", "comment.campaign_id IS NOT NULL", "GROUP BY"),
        "comment",
        "ix_comment_positions",
        sorted_by_index=False,  # the campaigns found are few; sorting them is fine
    )
    assert_uses(
        captured,
        ("FROM comment", "GROUP BY comment.article_id, comment.stance"),
        "comment",
        "ix_comment_draft_stats",
    )


def test_campaigns_page_uses_its_indexes(db, as_role, city):
    _cycle, draft = city
    moderator = as_role("moderator")
    with Captured() as captured:
        assert moderator.get(f"/moderation/drafts/{draft.id}/campaigns").status_code == 200
    assert_uses(
        captured,
        ("FROM comment_campaign", "ORDER BY", "LIMIT"),
        "comment_campaign",
        "ix_comment_campaign_draft_size",
    )
    assert_uses(
        captured,
        ("FROM comment", "GROUP BY comment.campaign_id, comment.status"),
        "comment",
        "ix_comment_campaign_status",
        sorted_by_index=False,
    )


def test_api_cursor_pages_search_by_key(db, client, city):
    _cycle, draft = city
    first = client.get(f"/api/v1/drafts/{draft.id}/comments?per_page=1").get_json()
    with Captured() as captured:
        client.get(f"/api/v1/drafts/{draft.id}/comments?per_page=1&cursor={first['next_cursor']}")
    # The page starts after the cursor's key (WHERE id > ?), not after skipping rows.
    captured.matching("FROM comment", "comment.id >", "LIMIT")
    assert_uses(captured, ("FROM comment", "LIMIT"), "comment", "ix_comment_draft_status_id")


# ------------------------------------------------------------------ statements per page
def _count(client, url):
    with Captured() as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.statements)


def test_statements_per_page_do_not_grow_with_rows(db, as_role, app, monkeypatch):
    """5 rows and 50 rows of everything: every page runs the same number of statements."""
    monkeypatch.setitem(app.config, "PAGE_SIZE", 100)
    region = region_by_code(db.session, "KZ-75")
    staff = make_user(role="staff")
    clients = {
        "anonymous": as_role("anonymous"),
        "staff": as_role("staff"),
        "moderator": as_role("moderator"),
        "admin": as_role("admin"),
    }
    counts = {}
    for size in (5, 50):
        cycle = BudgetCycle(
            region_id=region.id,
            title_kk="Б",
            title_ru="Б",
            title_en=f"Size {size}",
            budget=10**9,
            ballot_rule="knapsack",
            winner_rule="greedy",
            **schedule_for("results"),
        )
        db.session.add(cycle)
        db.session.flush()
        author = make_user()
        for i in range(size):
            db.session.add(
                Proposal(
                    cycle_id=cycle.id,
                    author_id=author.id,
                    title=f"P{i}",
                    description_html="<p>x</p>",
                    category="yards",
                    estimated_cost=1000 + i,
                    status="feasible",
                )
            )
        db.session.flush()
        for n, pid in enumerate(db.session.scalars(select_ids(cycle)).all()):
            ballot = Ballot(cycle_id=cycle.id, channel="imported", receipt=f"s{size}-{n}")
            db.session.add(ballot)
            db.session.flush()
            db.session.add(BallotChoice(ballot_id=ballot.id, proposal_id=pid))
        budget.compute_results(db.session, staff, cycle)
        budget.publish_results(db.session, staff, cycle)
        db.session.commit()
        draft = make_draft(staff=staff)
        for i in range(size // 5):
            comments = [publish(make_comment(draft, text=f"Campaign {i}")) for _ in range(5)]
            campaign = Campaign(draft_id=draft.id, size=5, representative_id=comments[0].id)
            db.session.add(campaign)
            db.session.flush()
            for comment in comments:
                comment.campaign_id = campaign.id
        db.session.commit()
        article = draft.articles[0].id
        pages = {
            "proposals": ("anonymous", f"/budget/{cycle.id}/proposals"),
            "results": ("anonymous", f"/budget/{cycle.id}/results"),
            "implementation": ("anonymous", f"/budget/{cycle.id}/implementation"),
            "counts": ("admin", f"/budget/{cycle.id}/counts"),
            "review": ("staff", f"/budget/{cycle.id}/review"),
            "staff cycle": ("staff", f"/staff/cycles/{cycle.id}"),
            "draft": ("anonymous", f"/consultations/{draft.id}"),
            "article": ("anonymous", f"/consultations/{draft.id}/articles/{article}"),
            "answers": ("staff", f"/consultations/{draft.id}/answers"),
            "campaigns": ("moderator", f"/moderation/drafts/{draft.id}/campaigns"),
            "queue": ("moderator", f"/moderation/?draft={draft.id}&status=published"),
            "staff draft": ("staff", f"/staff/drafts/{draft.id}"),
            "api projects": ("anonymous", f"/api/v1/cycles/{cycle.id}/projects?per_page=100"),
            "api results": ("anonymous", f"/api/v1/cycles/{cycle.id}/results"),
            "api comments": ("anonymous", f"/api/v1/drafts/{draft.id}/comments?per_page=100"),
            "api summary": ("anonymous", f"/api/v1/drafts/{draft.id}/summary?per_page=100"),
        }
        for name, (role, url) in pages.items():
            client = clients[role]
            client.get(url)  # warm: sign-in refresh and caches
            counts.setdefault(name, []).append(_count(client, url))
    grows = {name: pair for name, pair in counts.items() if pair[0] != pair[1]}
    assert grows == {}, grows


def test_heading_queries_use_their_indexes(db, city):
    """A heading's tally reads its choices through its projects; a voter's ballot in a cycle
    (any heading) is one range of the ballot's unique index."""
    cycle, _draft = city
    staff = make_user(role="staff")
    voter = make_user()
    with Captured() as captured:
        budget.tally_results(db.session, staff, cycle)
        budget.ballot_of(db.session, cycle, voter, "key")
    assert_uses(
        captured,
        ("FROM budget_ballot_choice JOIN budget_proposal",),
        "budget_ballot_choice",
        "ix_budget_ballot_choice_proposal",
        sorted_by_index=False,
    )
    assert_uses(
        captured,
        ("FROM budget_ballot", "voter_key"),
        "budget_ballot",
        r"sqlite_autoindex_budget_ballot_\d+",
    )
