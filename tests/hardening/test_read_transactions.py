"""How a request's transaction ends (portal.database.end_read): one that only read ends
with COMMIT on PostgreSQL, so psycopg keeps the statements it prepared (it forgets them at
every ROLLBACK); anything that wrote and was not committed is still rolled back.

These tests use their own app on the suite's database with a one-connection pool (so every
request and the check share a connection), not the per-test transaction of `db`."""

import pytest
import sqlalchemy as sa

from portal import create_app, database
from portal.extensions import db
from portal.regions.models import Region

CREATE = "CREATE TABLE IF NOT EXISTS tynda_probe_rows (note VARCHAR(20))"
CTE_INSERT = "WITH r AS (SELECT 'cte' AS n) INSERT INTO tynda_probe_rows (note) SELECT n FROM r"


@pytest.fixture
def own_app(app, database_url):
    """A second app on the migrated suite database, with two write-without-commit routes."""
    own = create_app(
        {
            "CONFIG": "testing",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0},
        }
    )
    with own.app_context():
        db.session.execute(sa.text(CREATE))
        db.session.execute(sa.text("DELETE FROM tynda_probe_rows"))
        db.session.commit()

    def insert_without_commit():
        db.session.execute(sa.text("INSERT INTO tynda_probe_rows (note) VALUES ('raw')"))
        return "ok"

    def insert_in_cte_without_commit():
        # Starts with WITH, as the ballot statements do: must count as a write.
        db.session.execute(sa.text(CTE_INSERT))
        return "ok"

    own.add_url_rule("/test/raw-insert", "raw_insert", insert_without_commit)
    own.add_url_rule("/test/cte-insert", "cte_insert", insert_in_cte_without_commit)
    yield own
    with own.app_context():
        db.session.execute(sa.text("DROP TABLE IF EXISTS tynda_probe_rows"))
        db.session.commit()
        db.engine.dispose()


def _prepared(own):
    with own.app_context():
        return db.session.execute(sa.text("SELECT statement FROM pg_prepared_statements")).all()


def test_read_only_requests_keep_their_prepared_statements_on_postgresql(own_app):
    with own_app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("psycopg's prepared statements: PostgreSQL only")
    client = own_app.test_client()
    for _ in range(8):  # psycopg prepares a statement on its fifth run on a connection
        assert client.get("/budget/").status_code == 200
    statements = [row.statement for row in _prepared(own_app)]
    # Ended with ROLLBACK, each request made psycopg forget the counts: none was prepared.
    assert any("budget_cycle" in statement for statement in statements), statements


@pytest.mark.parametrize("path", ["/test/raw-insert", "/test/cte-insert"])
def test_a_request_that_wrote_without_committing_is_rolled_back(own_app, path):
    client = own_app.test_client()
    assert client.get(path).status_code == 200
    with own_app.app_context():
        assert db.session.execute(sa.text("SELECT count(*) FROM tynda_probe_rows")).scalar() == 0


def test_pending_orm_changes_are_not_committed_by_a_read_only_ending(own_app):
    with own_app.app_context():
        before = db.session.execute(sa.select(sa.func.count()).select_from(Region)).scalar()
        names = {f"name_{lang}": "Probe" for lang in ("kk", "ru", "en")}
        db.session.add(Region(code="KZ-TST", kind="oblast", centre_en="Probe", **names))
        database.end_read(db.session)  # pending, never flushed: rolled back, not committed
        after = db.session.execute(sa.select(sa.func.count()).select_from(Region)).scalar()
    assert after == before
