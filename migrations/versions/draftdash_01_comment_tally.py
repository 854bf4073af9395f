# ruff: noqa: S608 -- the SQL is built from constants of this file, never from input
"""counters for the staff draft dashboard: every comment by status and decision, answer waits

`comment_tally` holds a draft's comments per article, stance, status and decision ('' for
none); `comment_wait` its answered comments per wait in tenths of a day. Triggers on
`comment` keep both whatever path writes a comment (as counters_01's do for `comment_count`);
both are filled here from the rows that exist.

On SQLite a later `batch_alter_table("comment")` re-creates the table and drops its triggers:
such a migration must create the triggers below again.

Revision ID: draftdash_01
Revises: merge_06
Create Date: 2026-12-06 07:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "draftdash_01"
down_revision = "merge_06"
branch_labels = None
depends_on = None

# Whole seconds between creation and answer, in tenths of a day (8,640 s), never below 0;
# portal.consultations.services.wait_tenths is the same in Python.
SQLITE_WAIT = (
    "MAX(0, (CAST(strftime('%s', {p}.answered_at) AS INTEGER)"
    " - CAST(strftime('%s', {p}.created_at) AS INTEGER)) / 8640)"
)
PG_WAIT = (
    "GREATEST(0, FLOOR((EXTRACT(EPOCH FROM date_trunc('second', {p}.answered_at))"
    " - EXTRACT(EPOCH FROM date_trunc('second', {p}.created_at))) / 8640))::integer"
)
TALLY_KEY = (
    "draft_id = {p}.draft_id AND article_key = COALESCE({p}.article_id, 0)"
    " AND stance = {p}.stance AND status = {p}.status AND decision = COALESCE({p}.decision, '')"
)
TALLY_VALUES = (
    "{p}.draft_id, COALESCE({p}.article_id, 0), {p}.stance, {p}.status, COALESCE({p}.decision, '')"
)
TALLY_COLUMNS = "draft_id, article_key, stance, status, decision, comments"

# SQLite: one trigger per event; each statement carries its own condition, so an UPDATE that
# changes none of the counted columns writes no counter row.
TALLY_CHANGED = (
    "(OLD.draft_id IS NOT NEW.draft_id OR OLD.article_id IS NOT NEW.article_id"
    " OR OLD.stance IS NOT NEW.stance OR OLD.status IS NOT NEW.status"
    " OR OLD.decision IS NOT NEW.decision)"
)
WAIT_CHANGED = (
    "(OLD.draft_id IS NOT NEW.draft_id OR OLD.answered_at IS NOT NEW.answered_at"
    " OR OLD.created_at IS NOT NEW.created_at)"
)


def _sqlite_remove(tally_guard, wait_guard):
    return (
        f" UPDATE comment_tally SET comments = comments - 1"
        f" WHERE {TALLY_KEY.format(p='OLD')} AND {tally_guard};"
        f" UPDATE comment_wait SET comments = comments - 1"
        f" WHERE draft_id = OLD.draft_id AND tenths = {SQLITE_WAIT.format(p='OLD')}"
        f" AND OLD.answered_at IS NOT NULL AND {wait_guard};"
    )


def _sqlite_add(tally_guard, wait_guard):
    wait = SQLITE_WAIT.format(p="NEW")
    return (
        f" INSERT OR IGNORE INTO comment_tally ({TALLY_COLUMNS})"
        f" SELECT {TALLY_VALUES.format(p='NEW')}, 0 WHERE {tally_guard};"
        f" UPDATE comment_tally SET comments = comments + 1"
        f" WHERE {TALLY_KEY.format(p='NEW')} AND {tally_guard};"
        f" INSERT OR IGNORE INTO comment_wait (draft_id, tenths, comments)"
        f" SELECT NEW.draft_id, {wait}, 0 WHERE NEW.answered_at IS NOT NULL AND {wait_guard};"
        f" UPDATE comment_wait SET comments = comments + 1"
        f" WHERE draft_id = NEW.draft_id AND tenths = {wait}"
        f" AND NEW.answered_at IS NOT NULL AND {wait_guard};"
    )


SQLITE_TRIGGERS = [
    ("comment_tally_insert", "INSERT", _sqlite_add("1", "1")),
    ("comment_tally_delete", "DELETE", _sqlite_remove("1", "1")),
    (
        "comment_tally_update",
        "UPDATE OF status, draft_id, article_id, stance, decision, answered_at, created_at",
        _sqlite_remove(TALLY_CHANGED, WAIT_CHANGED) + _sqlite_add(TALLY_CHANGED, WAIT_CHANGED),
    ),
]


PG_FUNCTION = f"""
CREATE FUNCTION comment_tally_apply() RETURNS trigger AS $$
DECLARE
    tally_changed boolean := TG_OP <> 'UPDATE';
    wait_changed boolean := TG_OP <> 'UPDATE';
BEGIN
    IF TG_OP = 'UPDATE' THEN
        tally_changed := (OLD.draft_id, OLD.article_id, OLD.stance, OLD.status, OLD.decision)
            IS DISTINCT FROM (NEW.draft_id, NEW.article_id, NEW.stance, NEW.status, NEW.decision);
        wait_changed := (OLD.draft_id, OLD.answered_at, OLD.created_at)
            IS DISTINCT FROM (NEW.draft_id, NEW.answered_at, NEW.created_at);
    END IF;
    IF TG_OP <> 'INSERT' THEN
        IF tally_changed THEN
            UPDATE comment_tally SET comments = comments - 1 WHERE {TALLY_KEY.format(p="OLD")};
        END IF;
        IF wait_changed AND OLD.answered_at IS NOT NULL THEN
            UPDATE comment_wait SET comments = comments - 1
            WHERE draft_id = OLD.draft_id AND tenths = {PG_WAIT.format(p="OLD")};
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF tally_changed THEN
            INSERT INTO comment_tally ({TALLY_COLUMNS})
            VALUES ({TALLY_VALUES.format(p="NEW")}, 1)
            ON CONFLICT (draft_id, article_key, stance, status, decision)
            DO UPDATE SET comments = comment_tally.comments + 1;
        END IF;
        IF wait_changed AND NEW.answered_at IS NOT NULL THEN
            INSERT INTO comment_wait (draft_id, tenths, comments)
            VALUES (NEW.draft_id, {PG_WAIT.format(p="NEW")}, 1)
            ON CONFLICT (draft_id, tenths) DO UPDATE SET comments = comment_wait.comments + 1;
        END IF;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
PG_TRIGGER = (
    "CREATE TRIGGER comment_tally_change AFTER INSERT OR DELETE OR UPDATE OF"
    " status, draft_id, article_id, stance, decision, answered_at, created_at ON comment"
    " FOR EACH ROW EXECUTE FUNCTION comment_tally_apply()"
)


def upgrade():
    op.create_table(
        "comment_tally",
        sa.Column("draft_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("article_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stance", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "draft_id", "article_key", "stance", "status", "decision", name=op.f("pk_comment_tally")
        ),
    )
    op.create_table(
        "comment_wait",
        sa.Column("draft_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tenths", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("draft_id", "tenths", name=op.f("pk_comment_wait")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    wait = (PG_WAIT if postgres else SQLITE_WAIT).format(p="comment")
    op.execute(
        f"INSERT INTO comment_tally ({TALLY_COLUMNS})"
        " SELECT draft_id, COALESCE(article_id, 0), stance, status, COALESCE(decision, ''),"
        " COUNT(*) FROM comment"
        " GROUP BY draft_id, COALESCE(article_id, 0), stance, status, COALESCE(decision, '')"
    )
    op.execute(
        "INSERT INTO comment_wait (draft_id, tenths, comments)"
        f" SELECT draft_id, {wait}, COUNT(*) FROM comment WHERE answered_at IS NOT NULL"
        f" GROUP BY draft_id, {wait}"
    )
    if postgres:
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        for name, event, body in SQLITE_TRIGGERS:
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON comment FOR EACH ROW BEGIN {body} END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS comment_tally_change ON comment")
        op.execute("DROP FUNCTION IF EXISTS comment_tally_apply()")
    else:
        for name, *_rest in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("comment_wait")
    op.drop_table("comment_tally")
