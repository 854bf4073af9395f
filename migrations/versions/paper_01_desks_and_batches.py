"""paper desks for everyone: ballots keyed by the person's IIN hash, tally-sheet batches

Ballots get `iin_key`, an HMAC of (cycle, the voter's IIN hash) under BALLOT_KEY, unique
per cycle: one person's online and paper ballots collide there, with or without an account.

Existing ballots keep their `voter_key` (by account id) and get no `iin_key`: the key is kept
out of the database, and before this revision every online or paper ballot belonged to an
account, so the services still find them by the account's pseudonym (a desk looks up the
account of the IIN it is given). Only ballots cast from now on carry `iin_key`.

Revision ID: paper_01
Revises: merge_04
Create Date: 2026-12-06 06:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "paper_01"
down_revision = "merge_04"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN and a unique index: no table copy, so budget_ballot keeps its
    # protective triggers on SQLite.
    op.add_column("budget_ballot", sa.Column("iin_key", sa.String(length=64), nullable=True))
    op.create_index(
        "uq_budget_ballot_cycle_iin", "budget_ballot", ["cycle_id", "iin_key"], unique=True
    )
    op.create_table(
        "budget_paper_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("station", sa.String(length=200), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'rejected')",
            name=op.f("ck_budget_paper_batch_status"),
        ),
        sa.CheckConstraint(
            "status != 'confirmed' OR decided_by_id != entered_by_id",
            name=op.f("ck_budget_paper_batch_second_person"),
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["budget_cycle.id"], name=op.f("fk_budget_paper_batch_cycle_id_budget_cycle")
        ),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_budget_paper_batch_district_id_district")
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["user_account.id"],
            name=op.f("fk_budget_paper_batch_entered_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_budget_paper_batch_decided_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_paper_batch")),
    )
    op.create_index(
        "ix_budget_paper_batch_cycle", "budget_paper_batch", ["cycle_id", "status", "id"]
    )
    op.create_table(
        "budget_paper_entry",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("ballot_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["budget_paper_batch.id"],
            name=op.f("fk_budget_paper_entry_batch_id_budget_paper_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["ballot_id"], ["budget_ballot.id"], name=op.f("fk_budget_paper_entry_ballot_id_budget_ballot")
        ),
        sa.PrimaryKeyConstraint("batch_id", "position", name=op.f("pk_budget_paper_entry")),
    )


def downgrade():
    op.drop_table("budget_paper_entry")
    op.drop_index("ix_budget_paper_batch_cycle", table_name="budget_paper_batch")
    op.drop_table("budget_paper_batch")
    op.drop_index("uq_budget_ballot_cycle_iin", table_name="budget_ballot")
    # SQLite (3.35+) drops a column in place, so the table's triggers stay; ballots cast
    # since keep their account pseudonym, those of residents without an account lose the
    # only key that stopped a second ballot for them.
    op.drop_column("budget_ballot", "iin_key")
