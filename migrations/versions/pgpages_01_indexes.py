"""pgpages: indexes for the summary table and the cycle page at a city's size

`ix_comment_summary` (draft, status, article, id): each article's published comments in id
order, the slices the summary table and the API summary read (no sort of the draft's
100,000 comments). `ix_budget_proposal_cycle_status_heading` (cycle, status, heading): the
cycle page's counts by status and by heading from the index alone, not 10,000 table rows.

Revision ID: pgpages_01
Revises: merge_07
Create Date: 2026-12-06 09:00:00

"""

from alembic import op

revision = "pgpages_01"
down_revision = "merge_07"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_comment_summary", "comment", ["draft_id", "status", "article_id", "id"])
    op.create_index(
        "ix_budget_proposal_cycle_status_heading",
        "budget_proposal",
        ["cycle_id", "status", "heading_id"],
    )


def downgrade():
    op.drop_index("ix_budget_proposal_cycle_status_heading", table_name="budget_proposal")
    op.drop_index("ix_comment_summary", table_name="comment")
