"""Throw-away databases for tests: a temp SQLite file, or a fresh PostgreSQL database
on the server named by DATABASE_URL (one per xdist worker and purpose)."""

import os

import sqlalchemy as sa


def postgres_base_url():
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


def fresh_database_url(tmp_dir, name):
    """Return the URL of a new, empty database called `name`."""
    base = postgres_base_url()
    if base is None:
        return f"sqlite:///{tmp_dir / (name + '.sqlite')}"
    url = sa.engine.make_url(base)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def prepare_schema(app):
    """Apply the real migrations and the reference data, as `make run` does."""
    from flask_migrate import upgrade

    from portal.extensions import db
    from portal.regions.services import load_regions

    with app.app_context():
        upgrade()
        load_regions(db.session)
        db.session.commit()
