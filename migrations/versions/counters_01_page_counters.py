"""counters for the pages that counted every row: vote counts and published comments

`budget_vote_count` holds each ballot project's approvals and rank as of a ledger size
(`budget_vote_count_state`); the counts page recounts only when the cycle's ledger has grown.
`comment_count` holds the published comments per draft, article and stance; triggers on
`comment` keep it, whatever path publishes, hides, moves or deletes a comment. Both are
filled here from the rows that exist.

On SQLite a later `batch_alter_table("comment")` re-creates the table and drops its triggers:
such a migration must create SQLITE_TRIGGERS below again (as trust_04's are re-created).

Revision ID: counters_01
Revises: merge_05
Create Date: 2026-12-06 06:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "counters_01"
down_revision = "merge_05"
branch_labels = None
depends_on = None

SQLITE_ADD = """
    INSERT OR IGNORE INTO comment_count (draft_id, article_key, stance, published)
    VALUES (NEW.draft_id, COALESCE(NEW.article_id, 0), NEW.stance, 0);
    UPDATE comment_count SET published = published + 1
    WHERE draft_id = NEW.draft_id AND article_key = COALESCE(NEW.article_id, 0)
      AND stance = NEW.stance;
"""
SQLITE_REMOVE = """
    UPDATE comment_count SET published = published - 1
    WHERE draft_id = OLD.draft_id AND article_key = COALESCE(OLD.article_id, 0)
      AND stance = OLD.stance;
"""
# (name, event, condition, body); SQLite runs every trigger whose WHEN holds, so an UPDATE
# of a published comment to another article both removes and adds.
SQLITE_TRIGGERS = [
    ("comment_count_insert", "INSERT", "NEW.status = 'published'", SQLITE_ADD),
    ("comment_count_delete", "DELETE", "OLD.status = 'published'", SQLITE_REMOVE),
    (
        "comment_count_update_old",
        "UPDATE OF status, draft_id, article_id, stance",
        "OLD.status = 'published'",
        SQLITE_REMOVE,
    ),
    (
        "comment_count_update_new",
        "UPDATE OF status, draft_id, article_id, stance",
        "NEW.status = 'published'",
        SQLITE_ADD,
    ),
]
PG_FUNCTION = """
CREATE FUNCTION comment_count_apply() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF OLD.status = 'published' THEN
            UPDATE comment_count SET published = published - 1
            WHERE draft_id = OLD.draft_id AND article_key = COALESCE(OLD.article_id, 0)
              AND stance = OLD.stance;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.status = 'published' THEN
            INSERT INTO comment_count (draft_id, article_key, stance, published)
            VALUES (NEW.draft_id, COALESCE(NEW.article_id, 0), NEW.stance, 1)
            ON CONFLICT (draft_id, article_key, stance)
            DO UPDATE SET published = comment_count.published + 1;
        END IF;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
PG_TRIGGER = (
    "CREATE TRIGGER comment_count_change"
    " AFTER INSERT OR DELETE OR UPDATE OF status, draft_id, article_id, stance ON comment"
    " FOR EACH ROW EXECUTE FUNCTION comment_count_apply()"
)


def upgrade():
    op.create_table(
        "budget_vote_count",
        sa.Column("proposal_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("proposal_id", name=op.f("pk_budget_vote_count")),
    )
    op.create_index("ix_budget_vote_count_rank", "budget_vote_count", ["cycle_id", "rank"])
    op.create_table(
        "budget_vote_count_state",
        sa.Column("cycle_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ledger_size", sa.Integer(), nullable=False),
        sa.Column("ballots", sa.Integer(), nullable=False),
        sa.Column("projects", sa.Integer(), nullable=False),
        sa.Column("counted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("cycle_id", name=op.f("pk_budget_vote_count_state")),
    )
    # The vote counts need no backfill: a cycle without a state row is counted on first view.
    op.create_table(
        "comment_count",
        sa.Column("draft_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("article_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stance", sa.String(length=10), nullable=False),
        sa.Column("published", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("draft_id", "article_key", "stance", name=op.f("pk_comment_count")),
    )
    op.execute(
        "INSERT INTO comment_count (draft_id, article_key, stance, published)"
        " SELECT draft_id, COALESCE(article_id, 0), stance, COUNT(*) FROM comment"
        " WHERE status = 'published' GROUP BY draft_id, COALESCE(article_id, 0), stance"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        for name, event, condition, body in SQLITE_TRIGGERS:
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON comment FOR EACH ROW"
                f" WHEN {condition} BEGIN {body} END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS comment_count_change ON comment")
        op.execute("DROP FUNCTION IF EXISTS comment_count_apply()")
    else:
        for name, *_rest in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("comment_count")
    op.drop_table("budget_vote_count_state")
    op.drop_index("ix_budget_vote_count_rank", table_name="budget_vote_count")
    op.drop_table("budget_vote_count")
