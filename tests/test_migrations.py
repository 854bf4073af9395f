"""Migrations: `upgrade head` on an empty database gives exactly the models' schema, and
every revision downgrades."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from dbutil import fresh_database_url
from flask_migrate import downgrade, upgrade

from portal import create_app
from portal.extensions import db


def _app(tmp_path, name):
    url = fresh_database_url(tmp_path, name)
    return create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": url})


def test_upgrade_head_matches_the_models(tmp_path, worker_id):
    app = _app(tmp_path, f"tynda_migrations_{worker_id}")
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert differences == []


def test_every_revision_downgrades_to_empty(tmp_path, worker_id):
    app = _app(tmp_path, f"tynda_downgrade_{worker_id}")
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        with db.engine.connect() as connection:
            tables = set(db.inspect(connection).get_table_names()) - {"alembic_version"}
        upgrade()  # and back up again: downgrades left nothing behind that blocks it
        db.engine.dispose()
    assert tables == set()


# The guard triggers that make votes, results, the ledger and the logs append-only or frozen.
# A batch migration on SQLite re-creates its table and silently drops that table's triggers;
# this list catches it (a new protective trigger is added here on purpose).
PROTECTIVE_TRIGGERS = {
    ("audit_entry", "audit_entry_no_delete"),
    ("audit_entry", "audit_entry_no_update"),
    ("budget_ballot", "budget_ballot_final_delete"),
    ("budget_ballot", "budget_ballot_final_insert"),
    ("budget_ballot", "budget_ballot_final_update"),
    ("budget_ballot_choice", "budget_choice_final_delete"),
    ("budget_ballot_choice", "budget_choice_final_insert"),
    ("budget_ballot_choice", "budget_choice_final_update"),
    ("budget_cycle", "budget_cycle_frozen_delete"),
    ("budget_cycle", "budget_cycle_frozen_update"),
    ("budget_ledger_chunk", "budget_ledger_chunk_no_delete"),
    ("budget_ledger_chunk", "budget_ledger_chunk_no_update"),
    ("budget_ledger_head", "budget_ledger_head_frozen"),
    ("budget_ledger_head", "budget_ledger_head_no_delete"),
    ("budget_ledger_leaf", "budget_ledger_leaf_no_delete"),
    ("budget_ledger_leaf", "budget_ledger_leaf_no_update"),
    ("budget_proposal", "budget_proposal_frozen_delete"),
    ("budget_proposal", "budget_proposal_frozen_insert"),
    ("budget_proposal", "budget_proposal_frozen_update"),
    ("budget_result", "budget_result_published_delete"),
    ("budget_result", "budget_result_published_update"),
    ("export_log", "export_log_no_delete"),
    ("export_log", "export_log_no_update"),
}


def test_upgrade_head_keeps_every_protective_trigger(tmp_path, worker_id):
    app = _app(tmp_path, f"tynda_triggers_{worker_id}")
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                query = "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"
            else:
                query = (
                    "SELECT c.relname, t.tgname FROM pg_trigger t "
                    "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
                )
            found = {tuple(row) for row in connection.exec_driver_sql(query)}
        db.engine.dispose()
    assert PROTECTIVE_TRIGGERS - found == set()


# The triggers that keep the page counters (counters_01, draftdash_01/02): a batch migration
# of `comment` or `draft_vote` on SQLite would drop them and the counts would silently drift.
COUNTER_TRIGGERS = {
    "sqlite": {
        ("comment", "comment_count_insert"),
        ("comment", "comment_count_delete"),
        ("comment", "comment_count_update_old"),
        ("comment", "comment_count_update_new"),
        ("comment", "comment_tally_insert"),
        ("comment", "comment_tally_delete"),
        ("comment", "comment_tally_update"),
        ("draft_vote", "draft_vote_count_insert"),
        ("draft_vote", "draft_vote_count_delete"),
        ("draft_vote", "draft_vote_count_update"),
    },
    "postgresql": {
        ("comment", "comment_count_change"),
        ("comment", "comment_tally_change"),
        ("draft_vote", "draft_vote_count_change"),
    },
}


def test_upgrade_head_keeps_every_counter_trigger(tmp_path, worker_id):
    app = _app(tmp_path, f"tynda_counter_triggers_{worker_id}")
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            dialect = connection.dialect.name
            if dialect == "sqlite":
                query = "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"
            else:
                query = (
                    "SELECT c.relname, t.tgname FROM pg_trigger t "
                    "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
                )
            found = {tuple(row) for row in connection.exec_driver_sql(query)}
        db.engine.dispose()
    assert COUNTER_TRIGGERS[dialect] - found == set()


def test_counters_01_fills_the_comment_counters_from_existing_comments(tmp_path, worker_id):
    from consult_helpers import make_comment, make_draft, publish

    from portal.consultations import services as consult
    from portal.regions.services import load_regions

    app = _app(tmp_path, f"tynda_counters_{worker_id}")
    with app.app_context():
        upgrade()
        load_regions(db.session)
        draft = make_draft()
        for stance, article in (("object", 1), ("support", 1), ("support", 2), ("object", None)):
            publish(make_comment(draft, stance=stance, article=article))
        make_comment(draft)  # pending: not counted
        expected = consult.recount_articles(db.session, draft)
        db.session.commit()
        downgrade(revision="merge_05")  # the counters and their triggers are gone …
        upgrade()  # … and the upgrade counts what is there
        stored = consult.article_counts(db.session, draft)
        db.session.remove()
        db.engine.dispose()
    assert stored == expected and sum(e["total"] for e in stored.values()) == 4


def test_draftdash_01_fills_the_dashboard_counters_from_existing_comments(tmp_path, worker_id):
    import datetime as dt

    from consult_helpers import make_comment, make_draft, publish

    from portal.consultations import services as consult
    from portal.regions.services import load_regions

    app = _app(tmp_path, f"tynda_draftdash_{worker_id}")
    with app.app_context():
        upgrade()
        load_regions(db.session)
        draft = make_draft()
        answered = publish(make_comment(draft, stance="support"))
        publish(make_comment(draft, article=2), status="rejected")
        make_comment(draft, article=None)  # pending
        answered.created_at -= dt.timedelta(days=3, hours=5)
        db.session.commit()
        consult.answer_comment(
            db.session, draft.staff, answered, decision="accepted", new_wording="Новая."
        )
        db.session.commit()
        expected = (
            consult.recount_tally(db.session, [draft.id]),
            consult.recount_waits(db.session, draft),
        )
        db.session.commit()
        downgrade(revision="merge_06")  # the counters and their triggers are gone …
        upgrade()  # … and the upgrade counts what is there
        stored = (
            consult.comment_tally(db.session, [draft.id]),
            consult.answer_waits(db.session, draft),
        )
        db.session.remove()
        db.engine.dispose()
    assert stored == expected and len(expected[0]) == 3 and expected[1] == [(32, 1)]


def test_draftdash_02_fills_the_vote_counters_from_existing_marks(tmp_path, worker_id):
    from consult_helpers import make_draft
    from helpers import make_user

    from portal.consultations import services as consult
    from portal.regions.services import load_regions

    app = _app(tmp_path, f"tynda_votecount_{worker_id}")
    with app.app_context():
        upgrade()
        load_regions(db.session)
        draft = make_draft()
        for supports in (True, False, False):
            consult.vote(db.session, make_user(), draft, supports=supports)
        db.session.commit()
        downgrade(revision="draftdash_01")
        upgrade()
        stored = consult.vote_counts(db.session, draft)
        expected = consult.recount_votes(db.session, draft)
        db.session.remove()
        db.engine.dispose()
    assert stored == expected == {"support": 1, "oppose": 2}
