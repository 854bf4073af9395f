"""`flask exports cycle|consultation`, and the append-only export log."""

import json

import pytest
import sqlalchemy as sa
from export_checks import read_csv, read_pb
from sqlalchemy import func, select

from portal.exports.models import AppendOnlyError, ExportLog


def _count(db):
    return db.session.scalar(select(func.count()).select_from(ExportLog))


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


def test_cli_cycle_every_format(db, runner, closed_cycle, tmp_path):
    before = _count(db)
    for fmt in ("csv", "xlsx", "json", "sqlite", "pb"):
        path = tmp_path / f"out.{fmt}"
        result = runner.invoke(
            args=["exports", "cycle", str(closed_cycle.id), "--format", fmt, "-o", str(path)]
        )
        assert result.exit_code == 0, result.output
        assert path.stat().st_size > 0
    assert read_csv((tmp_path / "out.csv").read_bytes())[0][0] == "ID"
    assert len(read_pb((tmp_path / "out.pb").read_bytes()).votes) == 5
    assert json.loads((tmp_path / "out.json").read_text())["meta"]["ballots"] == 5
    entries = db.session.scalars(select(ExportLog).order_by(ExportLog.id)).all()[before:]
    assert [e.format for e in entries] == ["csv", "xlsx", "json", "sqlite", "pb"]
    assert all(e.via == "cli" and e.user_id is None for e in entries)


def test_cli_consultation_with_part_and_language(db, runner, draft, tmp_path):
    path = tmp_path / "summary.csv"
    result = runner.invoke(
        args=["exports", "consultation", str(draft.id), "--format", "csv", "--part", "summary",
              "--lang", "ru", "-o", str(path)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(read_csv(path.read_bytes())) == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["cycle", "{voting}", "--format", "csv"], "Voting is still open"),
        (["cycle", "{closed}", "--format", "exe"], "Unknown export format"),
        (["cycle", "999999", "--format", "csv"], "no such cycle"),
        (["consultation", "{draft}", "--format", "pb"], "Unknown export format"),
        (["cycle", "{closed}", "--format", "csv", "--part", "users"], "Unknown table"),
    ],
)
def test_cli_refusals_write_nothing(
    db, runner, closed_cycle, voting_cycle, draft, tmp_path, args, message
):
    before = _count(db)
    path = tmp_path / "out.file"
    ids = {"voting": voting_cycle.id, "closed": closed_cycle.id, "draft": draft.id}
    args = ["exports"] + [a.format(**ids) for a in args] + ["-o", str(path)]
    result = runner.invoke(args=args)
    assert result.exit_code == 2
    assert message in result.output
    assert not path.exists() and list(tmp_path.iterdir()) == []
    assert _count(db) == before


def test_cli_is_quiet_when_piped(db, runner, closed_cycle, tmp_path):
    result = runner.invoke(
        args=["exports", "cycle", str(closed_cycle.id), "--format", "pb", "-o",
              str(tmp_path / "x.pb")]
    )  # fmt: skip
    assert "rows" not in result.output and "%" not in result.output


def _entry(db, closed_cycle):
    entry = ExportLog(
        via="web", subject="cycle", subject_id=closed_cycle.id, format="csv", filename="x.csv"
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def test_log_rows_cannot_be_changed_through_the_orm(db, closed_cycle):
    entry = _entry(db, closed_cycle)
    entry.format = "json"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(ExportLog, entry.id))
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()


def test_log_rows_cannot_be_changed_in_sql(db, closed_cycle):
    entry = _entry(db, closed_cycle)
    for statement in (
        sa.update(ExportLog).where(ExportLog.id == entry.id).values(format="json"),
        sa.delete(ExportLog).where(ExportLog.id == entry.id),
        sa.text("DELETE FROM export_log"),
    ):
        with (
            pytest.raises(sa.exc.DatabaseError, match="append-only"),
            db.session.begin_nested(),
        ):
            db.session.execute(statement)
    assert db.session.get(ExportLog, entry.id).format == "csv"
