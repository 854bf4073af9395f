"""`flask backup create` / `restore`: a backup taken while the site runs, restored into an
empty instance, holds every ballot, comment, export-log entry and uploaded file.

Runs on the database the suite runs on (SQLite, or PostgreSQL when DATABASE_URL says so).
"""

import io
import tarfile

import sqlalchemy as sa
from consult_helpers import make_comment, make_draft, publish
from dbutil import fresh_database_url, prepare_schema
from hardening_helpers import new_project
from helpers import make_user, new_cycle
from PIL import Image

from portal import create_app
from portal.backup import BackupError, find_pg_tool
from portal.budgeting import services as budget
from portal.budgeting.models import Ballot
from portal.consultations.models import Comment
from portal.exports.models import ExportLog
from portal.exports.services import record_export
from portal.extensions import db
from portal.keys import receipt_key
from portal.storage import get_storage


def _instance(tmp_path, name, worker_id):
    url = fresh_database_url(tmp_path, f"tynda_{name}_{worker_id}")
    app = create_app(
        {
            "CONFIG": "testing",
            "SQLALCHEMY_DATABASE_URI": url,
            "STORAGE_DIR": str(tmp_path / f"{name}-uploads"),
        }
    )
    return app


def _png():
    out = io.BytesIO()
    Image.new("RGB", (12, 9), (5, 6, 7)).save(out, "PNG")
    return out.getvalue()


def _fill(app):
    """Ballots, comments, an export-log entry and a photo, committed as the site would."""
    with app.app_context():
        cycle = new_cycle("voting")
        projects = [new_project(cycle, 1000 * (i + 1)) for i in range(3)]
        for i in range(4):
            voter = make_user()
            budget.cast_ballot(
                db.session, voter, cycle, [str(projects[i % 3].id)], secret=receipt_key()
            )
        db.session.commit()
        draft = make_draft()
        for text in ("Первый комментарий", "Second comment", "Үшінші пікір"):
            publish(make_comment(draft, text=text))
        staff = draft.staff
        record_export(db.session, staff, "cycle", cycle, "csv", "projects", "x.csv", via="cli")
        author = make_user()
        # Proposals (and their photos) belong to a cycle still taking them: voting freezes them.
        photo_project = new_project(new_cycle("proposals"), 500, author=author)
        budget.add_photo(db.session, author, photo_project, _png(), get_storage())
        db.session.commit()
        return _snapshot(app)


def _snapshot(app):
    with app.app_context():
        tables = [t for t in db.metadata.sorted_tables]
        counts = {
            t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in tables
        }
        return {
            "counts": counts,
            "ballots": sorted((b.id, b.receipt) for b in db.session.scalars(sa.select(Ballot))),
            "comments": sorted(db.session.scalars(sa.select(Comment.text))),
            "exports": sorted(
                (e.id, e.filename, e.via) for e in db.session.scalars(sa.select(ExportLog))
            ),
            "files": {k: get_storage().read(k) for k in get_storage().list_keys()},
        }


def test_backup_restores_into_an_empty_instance(tmp_path, worker_id):
    source = _instance(tmp_path, "bsrc", worker_id)
    prepare_schema(source)
    before = _fill(source)
    assert before["counts"]["budget_ballot"] == 4 and len(before["files"]) == 2
    archive = tmp_path / "backup.tar.gz"
    # Another connection holds a transaction open: the site is running while we back up.
    with source.app_context():
        busy = db.engine.connect()
        busy.execute(sa.text("SELECT COUNT(*) FROM budget_ballot"))
        result = source.test_cli_runner().invoke(args=["backup", "create", str(archive)])
        busy.close()
    assert result.exit_code == 0, result.output
    assert "2 uploaded files" in result.output
    with tarfile.open(archive) as contents:
        names = contents.getnames()
    assert "manifest.json" in names and sum(n.startswith("uploads/") for n in names) == 2

    target = _instance(tmp_path, "bdst", worker_id)  # not even migrated: truly empty
    result = target.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
    assert result.exit_code == 0, result.output
    after = _snapshot(target)
    assert after == before

    # A second restore would overwrite data: refused with exit code 2 and a clear message.
    again = target.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
    assert again.exit_code == 2 and "already holds data" in again.output
    with target.app_context():
        db.engine.dispose()
    with source.app_context():
        db.engine.dispose()


def test_restore_refuses_what_is_not_a_backup(tmp_path, worker_id):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a backup")
    app = _instance(tmp_path, "bjunk", worker_id)
    result = app.test_cli_runner().invoke(args=["backup", "restore", str(junk)])
    assert result.exit_code == 2 and "not a Tynda backup" in result.output


def test_pg_tools_are_found_or_named():
    try:
        path = find_pg_tool("pg_dump")
    except BackupError as error:
        assert "PG_BIN" in str(error)
    else:
        assert path.endswith("pg_dump")
