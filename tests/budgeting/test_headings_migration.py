"""headings_01 on a database with a closed, frozen, published cycle: every row moves into the
cycle's main heading, the protective triggers survive, and the downgrade gives it all back."""

import sqlalchemy as sa
from dbutil import fresh_database_url
from flask_migrate import downgrade, upgrade

from portal import create_app
from portal.extensions import db
from portal.regions.services import load_regions

NOW = "2026-01-01 00:00:00"


def _fill(connection):
    region_id = connection.scalar(sa.text("SELECT id FROM region WHERE code = 'KZ-75'"))
    connection.execute(
        sa.text(
            "INSERT INTO budget_cycle (title_kk, title_ru, title_en, summary_kk, summary_ru, "
            "summary_en, region_id, budget, min_votes, ballot_rule, winner_rule, ballots_final,"
            " proposals_open_at, review_open_at, voting_open_at, voting_close_at, created_at)"
            " VALUES ('К', 'Ц', 'Old cycle', '', '', '', :r, 1000, 2, "
            "'knapsack', 'mes', :no, '2025-01-01', '2025-02-01', '2025-03-01', '2025-04-01', "
            ":now)"
        ),
        {"r": region_id, "now": NOW, "no": False},
    )
    cycle_id = connection.scalar(sa.text("SELECT max(id) FROM budget_cycle"))
    connection.execute(
        sa.text(
            "INSERT INTO budget_proposal (cycle_id, title, description_html, category, address,"
            " estimated_cost, status, funded, progress, created_at, updated_at) VALUES "
            "(:c, 'Park', '<p>x</p>', 'greenery', '', 400, 'feasible', :yes, 0, :now, :now)"
        ),
        {"c": cycle_id, "now": NOW, "yes": True},
    )
    proposal_id = connection.scalar(sa.text("SELECT max(id) FROM budget_proposal"))
    connection.execute(
        sa.text(
            "INSERT INTO budget_ballot (cycle_id, voter_key, ledger_version, channel, receipt, "
            "created_at, updated_at) VALUES (:c, 'k1', 1, 'online', 'abcd', :now, :now)"
        ),
        {"c": cycle_id, "now": NOW},
    )
    ballot_id = connection.scalar(sa.text("SELECT max(id) FROM budget_ballot"))
    connection.execute(
        sa.text("INSERT INTO budget_ballot_choice (ballot_id, proposal_id) VALUES (:b, :p)"),
        {"b": ballot_id, "p": proposal_id},
    )
    connection.execute(
        sa.text(
            "INSERT INTO budget_ledger_head (cycle_id, size, root, frontier, frozen_at) "
            "VALUES (:c, 1, 'aa', '[]', :now)"
        ),
        {"c": cycle_id, "now": NOW},
    )
    connection.execute(
        sa.text(
            "INSERT INTO budget_result (cycle_id, rule, version, data, total_cost, computed_at,"
            " published_at) VALUES (:c, 'mes', 1, '{}', 400, :now, :now)"
        ),
        {"c": cycle_id, "now": NOW},
    )
    connection.execute(
        sa.text("UPDATE budget_cycle SET rules_frozen_at = voting_open_at WHERE id = :c"),
        {"c": cycle_id},
    )
    return cycle_id, ballot_id


def test_existing_cycles_get_their_main_heading_and_keep_their_triggers(tmp_path, worker_id):
    url = fresh_database_url(tmp_path, f"tynda_headings_mig_{worker_id}")
    app = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(revision="merge_04")
        load_regions(db.session)
        db.session.commit()
        with db.engine.begin() as connection:
            cycle_id, ballot_id = _fill(connection)
        upgrade()
        with db.engine.begin() as connection:
            heading = connection.execute(
                sa.text(
                    "SELECT id, position, name, budget, min_votes, winner_rule "
                    "FROM budget_heading WHERE cycle_id = :c"
                ),
                {"c": cycle_id},
            ).all()
            assert [tuple(h)[1:] for h in heading] == [(0, "Old cycle", 1000, 2, "mes")]
            for table in ("budget_proposal", "budget_ballot", "budget_result"):
                ids = connection.scalars(
                    sa.text(f"SELECT heading_id FROM {table} WHERE cycle_id = :c"),  # noqa: S608
                    {"c": cycle_id},
                ).all()
                assert ids == [heading[0][0]], table
        # The closed ledger still refuses changes to its ballots.
        try:
            with db.engine.begin() as connection:
                connection.execute(
                    sa.text("UPDATE budget_ballot SET receipt = 'x' WHERE id = :b"),
                    {"b": ballot_id},
                )
            refused = False
        except sa.exc.DatabaseError:
            refused = True
        assert refused
        downgrade(revision="merge_04")
        with db.engine.begin() as connection:
            assert connection.scalar(sa.text("SELECT count(*) FROM budget_ballot")) == 1
            columns = {c["name"] for c in sa.inspect(connection).get_columns("budget_ballot")}
            assert "heading_id" not in columns
        db.engine.dispose()
