"""Parallel appends on real connections never fork the audit chain (SQLite: one writer at a
time; PostgreSQL: a transaction-level advisory lock). Commits, so it has its own database."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from dbutil import fresh_database_url, prepare_schema

from portal import create_app
from portal.audit import record, services
from portal.extensions import db

PARALLEL = 8
EACH = 10


@pytest.fixture(scope="module")
def app(tmp_path_factory, worker_id):
    url = fresh_database_url(tmp_path_factory.mktemp("audit"), f"tynda_audit_conc_{worker_id}")
    app = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": url})
    prepare_schema(app)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_parallel_appends_keep_one_chain(app):
    def writer(number):
        for i in range(EACH):
            with app.app_context():
                record(db.session, None, "test.parallel", target=f"w{number}:{i}")
                db.session.commit()

    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(writer, range(PARALLEL)))
    with app.app_context():
        checked, broken = services.verify(db.session)
    assert broken is None
    assert checked == PARALLEL * EACH
