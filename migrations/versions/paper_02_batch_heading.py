"""tally-sheet batches per heading: a batch names the heading its ballots are cast in

Existing batches belong to their cycle's main heading. A plain ADD COLUMN (no table rebuild):
SQLite keeps the table and the entries pointing at it as they are.

Revision ID: paper_02
Revises: jobs_02
Create Date: 2026-12-06 09:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "paper_02"
down_revision = "jobs_02"
branch_labels = None
depends_on = None

FK = "fk_budget_paper_batch_heading_id_budget_heading"


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        # Alembic would rebuild the table to add a foreign key; SQLite adds one with the column.
        op.execute(
            f"ALTER TABLE budget_paper_batch ADD COLUMN heading_id INTEGER "
            f"CONSTRAINT {FK} REFERENCES budget_heading (id)"
        )
    else:
        op.add_column("budget_paper_batch", sa.Column("heading_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FK, "budget_paper_batch", "budget_heading", ["heading_id"], ["id"])
    op.create_index(
        "ix_budget_paper_batch_heading_id", "budget_paper_batch", ["heading_id"], unique=False
    )
    op.execute(
        "UPDATE budget_paper_batch SET heading_id = (SELECT h.id FROM budget_heading h "
        "WHERE h.cycle_id = budget_paper_batch.cycle_id AND h.position = 0)"
    )


def downgrade():
    op.drop_index("ix_budget_paper_batch_heading_id", table_name="budget_paper_batch")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(FK, "budget_paper_batch", type_="foreignkey")
    # SQLite (3.35+) drops a column in place; its foreign key goes with it.
    op.drop_column("budget_paper_batch", "heading_id")
