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
