"""export jobs and dashboards at scale: the aggregate cache and indexes

The cached_aggregate table holds counts too expensive for every request (turnout and votes
of a cycle), versioned by the ballot ledger (portal/cache, portal/budgeting/figures.py).
Indexes: the staff review queue of proposals and a region's moderation queue in index order
(no sort of every row per page), the dashboard's proposal and resident counts from the
indexes alone.

Revision ID: exportjobs_01
Revises: merge_05
Create Date: 2026-12-06 06:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "exportjobs_01"
down_revision = "merge_05"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "cached_aggregate",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("version", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cached_aggregate")),
    )
    op.create_index(
        "ix_budget_proposal_review", "budget_proposal", ["cycle_id", "status", "created_at", "id"]
    )
    op.create_index(
        "ix_budget_proposal_figures",
        "budget_proposal",
        ["cycle_id", "category", "status", "district_id"],
    )
    op.create_index(
        "ix_user_account_residents", "user_account", ["verified_region_id", "district_id"]
    )
    op.create_index("ix_comment_status_id", "comment", ["status", "id", "draft_id"])


def downgrade():
    op.drop_index("ix_comment_status_id", table_name="comment")
    op.drop_index("ix_user_account_residents", table_name="user_account")
    op.drop_index("ix_budget_proposal_figures", table_name="budget_proposal")
    op.drop_index("ix_budget_proposal_review", table_name="budget_proposal")
    op.drop_table("cached_aggregate")
