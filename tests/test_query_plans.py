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

import helpers
import pytest
import sqlalchemy as sa
from consult_helpers import make_comment, make_draft, publish
from helpers import make_user

from portal.budgeting import publishing
from portal.budgeting import services as budget
from portal.budgeting.models import Ballot, BallotChoice, Proposal
from portal.consultations import services as consult
from portal.consultations.models import Campaign, Comment
from portal.extensions import db as _db


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

    def matching_any(self, *needles):
        return [s for s in self.statements if all(n in s[0] for n in needles)]

    def matching(self, *needles):
        found = [s for s in self.statements if all(n in s[0] for n in needles)]
        assert found, f"no statement with {needles}: {[s[0][:120] for s in self.statements]}"
        return found


def _plan(statement, parameters, *, price_out_sorts=True):
    """price_out_sorts=False for checks that are not about order: with sorts priced out,
    PostgreSQL takes any index that yields the GROUP BY's order (a whole-table status index,
    filtering the cycle) over the bounded one, depending on the statistics of the day."""
    connection = _db.session.connection()
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return [row[-1] for row in rows]
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    if price_out_sorts:
        connection.exec_driver_sql("SET LOCAL enable_sort = off")
    try:
        return [row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters)]
    finally:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = on")
        connection.exec_driver_sql("SET LOCAL enable_sort = on")


def assert_uses(
    captured, needles, table, index, *, sorted_by_index=True, pg_also=(), pg_bounded=None
):
    """pg_also: other indexes PostgreSQL may rightly prefer on tiny tables (still no scan of
    the whole table and no sort). pg_bounded: the column PostgreSQL's index scans must lead with
    (one draft's or cycle's range, not a filter over every draft's rows): with sorts
    disabled, a query whose order PostgreSQL does not see in the index walks another index
    instead, filtering (how `article_id IS NULL` walked every other draft's comments)."""
    for statement, parameters in captured.matching(*needles):
        plan = _plan(statement, parameters, price_out_sorts=sorted_by_index)
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
            if pg_bounded:
                leading = {
                    ix.name
                    for ix in _db.metadata.tables[table].indexes
                    if next(iter(ix.columns)).name == pg_bounded
                }
                used = re.findall(rf"Scan (?:Backward )?using (\w+) on {table}\b", text)
                assert used and set(used) <= leading, (statement, text)
            if sorted_by_index:
                sort = re.search(r"^\s*(->\s*)?(Incremental )?Sort\b", text, re.M)
                assert not sort, (statement, text)


@pytest.fixture
def city(db, new_cycle):
    """A small cycle (results published) and an open draft with a campaign."""
    cycle = new_cycle("results", title_en="Budget", budget=10_000_000, commit=False)
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
    publishing.compute_results(db.session, staff, cycle)
    publishing.publish_results(db.session, staff, cycle)
    db.session.commit()
    draft = make_draft(staff=staff)
    comments = [publish(make_comment(draft, text=f"Same text {i}")) for i in range(3)]
    campaign = Campaign(draft_id=draft.id, size=2, representative_id=comments[0].id)
    db.session.add(campaign)
    db.session.flush()
    comments[0].campaign_id = comments[1].campaign_id = campaign.id
    db.session.commit()
    _elsewhere(db, staff)
    return cycle, draft


def _elsewhere(db, staff):
    """Another cycle's and another draft's rows outnumbering the tested ones, and PostgreSQL
    told so (ANALYZE): on estimates of one row it walked a whole-table index (status, or
    status and id), filtering, as readily as the cycle's or the draft's own, by the
    statistics of the day; with these it has a reason to read only the tested range."""
    other_cycle, other_draft = helpers.new_cycle("proposals", commit=False), make_draft(staff=staff)
    author = make_user()
    db.session.execute(
        sa.insert(Proposal),
        [
            dict(
                cycle_id=other_cycle.id,
                author_id=author.id,
                title=f"Elsewhere {i}",
                description_html="<p>x</p>",
                category="yards",
                estimated_cost=1000,
                status=("feasible", "submitted")[i % 2],
            )
            for i in range(300)
        ],
    )
    db.session.execute(
        sa.insert(Comment),
        [
            dict(
                draft_id=other_draft.id,
                article_id=other_draft.articles[0].id if i % 2 else None,
                author_id=author.id,
                stance="object",
                text=f"Elsewhere {i}",
                status=("published", "pending")[i % 3 == 0],
            )
            for i in range(300)
        ],
    )
    db.session.commit()
    if db.session.connection().dialect.name == "postgresql":
        db.session.execute(sa.text("ANALYZE budget_proposal, comment"))


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


def test_vote_counts_page_reads_one_range_of_ranks(db, as_role, city):
    cycle, _draft = city
    admin = as_role("admin")
    assert admin.get(f"/budget/{cycle.id}/counts").status_code == 200  # counts once
    with Captured() as captured:
        assert admin.get(f"/budget/{cycle.id}/counts?page=2").status_code == 200
    assert not captured.matching_any("FROM budget_ballot_choice")
    assert_uses(
        captured,
        ("FROM budget_proposal JOIN budget_vote_count", "budget_vote_count.rank >"),
        "budget_vote_count",
        "ix_budget_vote_count_rank",
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
    # The counts come from the trigger-kept counters: the draft's few rows by primary key.
    assert_uses(
        captured,
        ("FROM comment_count", "comment_count.draft_id"),
        "comment_count",
        "sqlite_autoindex_comment_count_1",
        sorted_by_index=False,
    )
    assert not captured.matching_any("FROM comment", "GROUP BY comment.article_id")


def test_draft_page_reads_general_comments_in_its_index_range(db, client, city):
    """Comments on the whole draft (article_id IS NULL): read in the positions index's own
    order, bounded by the draft, never by walking the primary key."""
    _cycle, draft = city
    publish(make_comment(draft, text="On the whole draft", article=None))
    with Captured() as captured:
        assert client.get(f"/consultations/{draft.id}").status_code == 200
    assert_uses(
        captured,
        ("FROM comment", "comment.article_id IS NULL", "comment.campaign_id IS NULL", "LIMIT"),
        "comment",
        "ix_comment_positions",
        pg_bounded="draft_id",
    )


@pytest.mark.parametrize(
    "url",
    ["/consultations/{draft}/summary?page={page}", "/api/v1/drafts/{draft}/summary?page={page}"],
)
def test_summary_pages_read_article_slices_by_index(db, client, city, url):
    """The summary table in article order: each article's slice by ix_comment_summary (one
    UNION ALL), no sort of the draft's comments, whatever the page."""
    _cycle, draft = city
    for article in (None, 2, None, 1, 2):
        publish(make_comment(draft, text=f"Summary slice {article}", article=article))
    for page in (1, 2):
        with Captured() as captured:
            answer = client.get(url.format(draft=draft.id, page=page) + "&per_page=3")
            assert answer.status_code == 200
        assert not captured.matching_any("FROM comment", "ORDER BY draft_article.position")
        assert_uses(
            captured,
            ("FROM comment", "LIMIT"),
            "comment",
            "ix_comment_summary",
            pg_bounded="draft_id",
        )


def test_api_comment_pages_skip_offset_rows_in_the_index(db, client, city):
    _cycle, draft = city
    for n in range(4):
        publish(make_comment(draft, text=f"Deep page {n}", article=None))
    with Captured() as captured:
        answer = client.get(f"/api/v1/drafts/{draft.id}/comments?per_page=2&page=2")
        assert answer.status_code == 200 and len(answer.get_json()["items"]) == 2
    assert not captured.matching_any("count(*)", "FROM comment")  # the total: counters
    assert_uses(
        captured,
        ("FROM comment", "comment.id IN (SELECT comment.id"),
        "comment",
        "ix_comment_draft_status_id",
    )


def test_cycle_page_counts_proposals_from_the_index(db, client, city):
    cycle, _draft = city
    with Captured() as captured:
        assert client.get(f"/budget/{cycle.id}").status_code == 200
    for needles in (
        ("FROM budget_proposal", "GROUP BY budget_proposal.status"),
        ("FROM budget_proposal", "GROUP BY budget_proposal.heading_id"),
    ):
        assert_uses(
            captured,
            needles,
            "budget_proposal",
            "ix_budget_proposal_cycle_status_heading",
            sorted_by_index=False,
            pg_bounded="cycle_id",
        )


def test_staff_draft_dashboard_reads_counters_not_comments(db, as_role, city):
    """The dashboard's counts come from comment_tally and comment_wait by primary key; the
    comment table is read only for the shown campaigns' examples, by id."""
    _cycle, draft = city
    staff = as_role("staff")
    with Captured() as captured:
        assert staff.get(f"/staff/drafts/{draft.id}").status_code == 200
    for table in ("comment_tally", "comment_wait"):
        assert_uses(
            captured,
            (f"FROM {table}", f"{table}.draft_id"),
            table,
            f"sqlite_autoindex_{table}_1",
            sorted_by_index=False,
        )
    reads = [s for s, _p in captured.statements if re.search(r"FROM comment\b(?!_)", s)]
    assert reads and all("comment.id IN" in s for s in reads), reads


def test_draft_page_reads_its_vote_counter_by_key(db, client, city):
    _cycle, draft = city
    with Captured() as captured:
        assert client.get(f"/consultations/{draft.id}").status_code == 200
    # One row by its key (on SQLite the integer key is the rowid).
    for statement, parameters in captured.matching("FROM draft_vote_count"):
        plan = "\n".join(_plan(statement, parameters))
        assert re.search(r"USING INTEGER PRIMARY KEY|Index (Only )?Scan using pk_", plan), plan
    assert not [s for s, _p in captured.statements if re.search(r"FROM draft_vote\b(?!_)", s)]


def _dashboard_statements(db, client, size):
    """Statements of the staff draft dashboard for a draft with `size` comments of every
    status, half the published ones answered."""
    draft = make_draft()
    for i in range(size):
        comment = make_comment(draft, stance=("support", "object")[i % 2], article=1 + i % 3)
        status = ("published", "published", "rejected", "hidden", "pending")[i % 5]
        if status != "pending":
            publish(comment, status=status)
        if status == "published" and i % 2:
            consult.answer_comment(
                _db.session, draft.staff, comment, decision="accepted", new_wording="Да."
            )
            _db.session.commit()
    url = f"/staff/drafts/{draft.id}"
    client.get(url)  # warm: sign-in refresh and caches
    return _count(client, url)


def test_staff_draft_dashboard_statements_do_not_grow_with_comments(db, as_role):
    staff = as_role("staff")
    assert _dashboard_statements(db, staff, 5) == _dashboard_statements(db, staff, 50)


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


# ------------------------------------------------------------------ dashboards and queues
@pytest.fixture
def ledger_cycle(db, new_cycle):
    """A cycle with ballots cast through the services (so they are in its ledger)."""
    cycle = new_cycle("voting", title_en="Ledger", budget=10_000_000, commit=False)
    author = make_user()
    for i in range(4):
        db.session.add(
            Proposal(
                cycle_id=cycle.id,
                author_id=author.id,
                title=f"L{i}",
                description_html="<p>x</p>",
                category="yards",
                estimated_cost=1000 + i,
                status=("feasible", "submitted")[i % 2],
            )
        )
    db.session.flush()
    ids = db.session.scalars(select_ids(cycle)).all()
    for _n in range(3):
        budget.cast_ballot(db.session, make_user(), cycle, [ids[0]], secret="s")
        db.session.commit()
    return cycle


def test_turnout_reads_only_new_ledger_leaves_by_index(db, ledger_cycle):
    from portal.budgeting import figures

    with Captured() as captured:
        figures.turnout(_db.session, ledger_cycle)
    statement, parameters = captured.matching("FROM budget_ledger_leaf", "GROUP BY")[0]
    text = "\n".join(_plan(statement, parameters))
    if _db.session.connection().dialect.name == "sqlite":
        # A range of positions of one cycle, each leaf's earlier leaves by the ballot index,
        # each ballot by its primary key: nothing is scanned whole.
        assert (
            "SEARCH budget_ledger_leaf USING INDEX sqlite_autoindex_budget_ledger_leaf_1 "
            "(cycle_id=? AND position>? AND position<?)" in text
        ), text
        assert re.search(
            r"SEARCH budget_ledger_leaf_1 USING (COVERING )?INDEX "
            r"ix_budget_ledger_leaf_ballot",
            text,
        ), text
        assert "SEARCH budget_ballot USING INTEGER PRIMARY KEY" in text, text
        assert "SCAN" not in text, text
    else:
        assert "Seq Scan" not in text, text
        assert re.search(r"Index (Only )?Scan using \w+ on budget_ledger_leaf", text), text
    # A second look at an unchanged ledger reads no leaf and no ballot at all.
    with Captured() as captured:
        figures.turnout(_db.session, ledger_cycle)
    assert not [s for s, _p in captured.statements if "budget_ballot" in s or "ledger_leaf" in s]


def test_dashboard_and_review_queries_use_their_indexes(db, as_role, ledger_cycle):
    staff = as_role("staff")
    with Captured() as captured:
        assert staff.get(f"/staff/cycles/{ledger_cycle.id}").status_code == 200
    assert_uses(
        captured,
        ("FROM user_account", "GROUP BY user_account.district_id"),
        "user_account",
        "ix_user_account_residents",
        sorted_by_index=False,  # a handful of districts
    )
    assert_uses(
        captured,
        ("FROM budget_proposal", "GROUP BY budget_proposal.category"),
        "budget_proposal",
        "ix_budget_proposal_figures",
        sorted_by_index=False,  # a few categories × statuses × districts
    )
    with Captured() as captured:
        assert staff.get(f"/budget/{ledger_cycle.id}/review?page=1").status_code == 200
    assert_uses(
        captured,
        ("FROM budget_proposal", "budget_proposal.status = ", "ORDER BY", "LIMIT"),
        "budget_proposal",
        "ix_budget_proposal_review",
    )
    assert_uses(
        captured,
        ("FROM budget_proposal", "NOT IN", "ORDER BY", "LIMIT"),
        "budget_proposal",
        "ix_budget_proposal_cycle_created",
    )


@pytest.mark.parametrize("query", ["", "?sort=newest&status=published", "?status=pending&after=1"])
def test_region_moderation_queue_reads_in_id_order(db, as_role, city, query):
    _cycle, draft = city
    make_draft(staff=make_user(role="staff"))  # a second draft of the region
    moderator = as_role("moderator")
    with Captured() as captured:
        assert moderator.get(f"/moderation/{query}").status_code == 200
    assert_uses(
        captured,
        ("FROM comment", "ORDER BY comment.id", "LIMIT"),
        "comment",
        "ix_comment_status_id",
        pg_also=("ix_comment_status_id",),
    )


# ------------------------------------------------------------------ statements per page
def _count(client, url):
    with Captured() as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.statements)


def test_statements_per_page_do_not_grow_with_rows(db, as_role, app, monkeypatch, new_cycle):
    """5 rows and 50 rows of everything: every page runs the same number of statements."""
    monkeypatch.setitem(app.config, "PAGE_SIZE", 100)
    staff = make_user(role="staff")
    clients = {
        "anonymous": as_role("anonymous"),
        "staff": as_role("staff"),
        "moderator": as_role("moderator"),
        "admin": as_role("admin"),
    }
    counts = {}
    for size in (5, 50):
        cycle = new_cycle("results", title_en=f"Size {size}", budget=10**9, commit=False)
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
        publishing.compute_results(db.session, staff, cycle)
        publishing.publish_results(db.session, staff, cycle)
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
        publishing.tally_results(db.session, staff, cycle)
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
        # by the account pseudonym's unique constraint, or by the IIN pseudonym's index
        r"(sqlite_autoindex_budget_ballot_\d+|uq_budget_ballot_person)",
    )
