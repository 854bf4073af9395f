"""counters for the draft page: support and oppose marks per draft

`draft_vote_count` holds each draft's marks; triggers on `draft_vote` keep it whatever path
writes a mark, so the public draft page reads one row instead of counting every mark. It is
filled here from the marks that exist.

Revision ID: draftdash_02
Revises: draftdash_01
Create Date: 2026-12-06 07:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "draftdash_02"
down_revision = "draftdash_01"
branch_labels = None
depends_on = None

SQLITE_ADD = """
    INSERT OR IGNORE INTO draft_vote_count (draft_id, support, oppose)
    VALUES (NEW.draft_id, 0, 0);
    UPDATE draft_vote_count
    SET support = support + (CASE WHEN NEW.supports THEN 1 ELSE 0 END),
        oppose = oppose + (CASE WHEN NEW.supports THEN 0 ELSE 1 END)
    WHERE draft_id = NEW.draft_id;
"""
SQLITE_REMOVE = """
    UPDATE draft_vote_count
    SET support = support - (CASE WHEN OLD.supports THEN 1 ELSE 0 END),
        oppose = oppose - (CASE WHEN OLD.supports THEN 0 ELSE 1 END)
    WHERE draft_id = OLD.draft_id;
"""
SQLITE_TRIGGERS = [
    ("draft_vote_count_insert", "INSERT", SQLITE_ADD),
    ("draft_vote_count_delete", "DELETE", SQLITE_REMOVE),
    ("draft_vote_count_update", "UPDATE OF draft_id, supports", SQLITE_REMOVE + SQLITE_ADD),
]
PG_FUNCTION = """
CREATE FUNCTION draft_vote_count_apply() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE draft_vote_count
        SET support = support - (CASE WHEN OLD.supports THEN 1 ELSE 0 END),
            oppose = oppose - (CASE WHEN OLD.supports THEN 0 ELSE 1 END)
        WHERE draft_id = OLD.draft_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO draft_vote_count (draft_id, support, oppose)
        VALUES (NEW.draft_id, CASE WHEN NEW.supports THEN 1 ELSE 0 END,
                CASE WHEN NEW.supports THEN 0 ELSE 1 END)
        ON CONFLICT (draft_id) DO UPDATE
        SET support = draft_vote_count.support + EXCLUDED.support,
            oppose = draft_vote_count.oppose + EXCLUDED.oppose;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
PG_TRIGGER = (
    "CREATE TRIGGER draft_vote_count_change"
    " AFTER INSERT OR DELETE OR UPDATE OF draft_id, supports ON draft_vote"
    " FOR EACH ROW EXECUTE FUNCTION draft_vote_count_apply()"
)


def upgrade():
    op.create_table(
        "draft_vote_count",
        sa.Column("draft_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("support", sa.Integer(), nullable=False),
        sa.Column("oppose", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("draft_id", name=op.f("pk_draft_vote_count")),
    )
    op.execute(
        "INSERT INTO draft_vote_count (draft_id, support, oppose)"
        " SELECT draft_id, SUM(CASE WHEN supports THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN supports THEN 0 ELSE 1 END) FROM draft_vote GROUP BY draft_id"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        for name, event, body in SQLITE_TRIGGERS:
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON draft_vote FOR EACH ROW BEGIN {body} END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS draft_vote_count_change ON draft_vote")
        op.execute("DROP FUNCTION IF EXISTS draft_vote_count_apply()")
    else:
        for name, *_rest in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("draft_vote_count")
