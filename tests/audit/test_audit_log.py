"""The audit log: appends chain, the database refuses edits, verify catches tampering,
and staff read their region's entries through a filtered, keyset-paginated viewer."""

import pytest
import sqlalchemy as sa
from helpers import make_user

from portal.audit import chain, record, services
from portal.audit.models import AppendOnlyError, AuditEntry


def _dialect(db):
    return db.session.get_bind().dialect.name


def _without_triggers(db, statement, **params):
    """Run raw SQL as an attacker with DDL rights would (inside the test transaction)."""
    postgres = _dialect(db) == "postgresql"
    for action in ("update", "delete"):
        db.session.execute(
            sa.text(
                f"DROP TRIGGER audit_entry_no_{action}" + (" ON audit_entry" if postgres else "")
            )
        )
    db.session.execute(sa.text(statement), params)


def test_entries_chain_to_each_other(db):
    first = record(db.session, None, "test.one", target="x:1", details={"b": 2, "a": "ә"})
    second = record(db.session, None, "test.two", region_code="KZ-75")
    assert second.id == first.id + 1
    assert second.prev_hash == first.hash
    assert first.hash == chain.entry_hash(first.chain_fields(), first.prev_hash)
    assert first.details == '{"a":"ә","b":2}'
    checked, broken = services.verify(db.session)
    assert broken is None and checked >= 2


def test_the_orm_refuses_changes_and_deletes(db):
    entry = record(db.session, None, "test.orm")
    entry.action = "rewritten"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_entry SET action = 'rewritten'", "DELETE FROM audit_entry"],
)
def test_the_database_refuses_updates_and_deletes(db, statement):
    record(db.session, None, "test.trigger")
    db.session.flush()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.session.begin_nested():
        db.session.execute(sa.text(statement))


def test_verify_names_the_first_changed_entry(db, app):
    entries = [record(db.session, None, f"test.tamper{i}") for i in range(4)]
    _without_triggers(
        db, "UPDATE audit_entry SET target = 'forged' WHERE id = :id", id=entries[2].id
    )
    db.session.expire_all()
    _, (entry, reason) = services.verify(db.session)
    assert entry["id"] == entries[2].id
    assert "content" in reason
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"entry {entries[2].id}" in result.output


def test_verify_notices_a_removed_entry(db):
    entries = [record(db.session, None, f"test.remove{i}") for i in range(3)]
    _without_triggers(db, "DELETE FROM audit_entry WHERE id = :id", id=entries[1].id)
    db.session.expire_all()
    _, (entry, reason) = services.verify(db.session)
    assert entry["id"] == entries[2].id
    assert "missing" in reason


def test_verify_cli_passes_on_an_intact_log(db, app):
    record(db.session, None, "test.intact")
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def test_viewer_shows_the_staff_members_region_only(db, as_role):
    record(db.session, None, "test.almaty", region_code="KZ-75", target="mine")
    record(db.session, None, "test.astana", region_code="KZ-71", target="theirs")
    db.session.commit()
    staff = as_role("staff")
    page = staff.get("/staff/audit/").get_data(as_text=True)
    assert "mine" in page and "theirs" not in page
    assert as_role("resident").get("/staff/audit/").status_code == 403
    admin_page = as_role("admin").get("/staff/audit/").get_data(as_text=True)
    assert "mine" in admin_page and "theirs" in admin_page


def test_viewer_filters_pages_and_exports(db, as_role):
    for i in range(60):
        record(db.session, None, "test.page", region_code="KZ-75", target=f"item-{i:03d}")
    record(db.session, None, "test.other", region_code="KZ-75", target="other-action")
    db.session.commit()
    admin = as_role("admin")
    first = admin.get("/staff/audit/?action=test.page").get_data(as_text=True)
    assert "item-059" in first and "other-action" not in first
    assert "item-000" not in first  # older than the first page
    newest_ids = [
        e.id
        for e in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "test.page").order_by(AuditEntry.id)
        )
    ]
    second = admin.get(f"/staff/audit/?action=test.page&before={newest_ids[10]}")
    assert "item-000" in second.get_data(as_text=True)
    assert admin.get("/staff/audit/?before=abc").status_code == 400
    assert admin.get("/staff/audit/?since=yesterday").status_code == 400
    csv = admin.get("/staff/audit/audit.csv?action=test.page")
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).strip().splitlines()
    assert lines[0].startswith("id,at,actor,action")
    assert len(lines) == 61


def test_staff_sign_in_is_recorded(db, client):
    from helpers import login

    user = make_user(role="staff")
    login(client, user)
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.actor_id == user.id).order_by(AuditEntry.id.desc())
    )
    assert entry is not None and entry.action == "accounts.sign_in"
