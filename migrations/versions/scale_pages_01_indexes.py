"""scale-pages: indexes for the hot queries of a city-sized region

Proposal lists in each sort order, the ballot page (feasible by category), implementation,
turnout, votes per project, public positions and counts of a draft's comments, campaign
states and the biggest campaigns. tests/test_query_plans.py checks the plans use them.

Revision ID: scale_pages_01
Revises: 17c07ed68703
Create Date: 2026-12-06 02:50:00

"""

from alembic import op

revision = "scale_pages_01"
down_revision = "17c07ed68703"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_budget_proposal_cycle_created", "budget_proposal", ["cycle_id", "created_at", "id"])
    op.create_index("ix_budget_proposal_cycle_cost", "budget_proposal", ["cycle_id", "estimated_cost", "id"])
    op.create_index("ix_budget_proposal_cycle_title", "budget_proposal", ["cycle_id", "title", "id"])
    op.create_index("ix_budget_proposal_ballot", "budget_proposal", ["cycle_id", "status", "category", "id"])
    op.create_index("ix_budget_proposal_funded", "budget_proposal", ["cycle_id", "funded", "id"])
    op.create_index("ix_budget_ballot_turnout", "budget_ballot", ["cycle_id", "channel", "district_id"])
    op.create_index("ix_budget_ballot_cycle_created", "budget_ballot", ["cycle_id", "created_at"])
    op.create_index("ix_budget_ballot_choice_proposal", "budget_ballot_choice", ["proposal_id", "ballot_id"])
    op.create_index("ix_comment_positions", "comment", ["draft_id", "status", "article_id", "campaign_id", "id"])
    op.create_index("ix_comment_draft_stats", "comment", ["draft_id", "status", "article_id", "stance", "decision"])
    op.create_index("ix_comment_campaign_status", "comment", ["campaign_id", "status"])
    op.create_index("ix_comment_draft_answered", "comment", ["draft_id", "answered_at"])
    op.create_index("ix_comment_campaign_draft_size", "comment_campaign", ["draft_id", "size", "id"])


def downgrade():
    op.drop_index("ix_comment_campaign_draft_size", table_name="comment_campaign")
    op.drop_index("ix_comment_draft_answered", table_name="comment")
    op.drop_index("ix_comment_campaign_status", table_name="comment")
    op.drop_index("ix_comment_draft_stats", table_name="comment")
    op.drop_index("ix_comment_positions", table_name="comment")
    op.drop_index("ix_budget_ballot_choice_proposal", table_name="budget_ballot_choice")
    op.drop_index("ix_budget_ballot_cycle_created", table_name="budget_ballot")
    op.drop_index("ix_budget_ballot_turnout", table_name="budget_ballot")
    op.drop_index("ix_budget_proposal_funded", table_name="budget_proposal")
    op.drop_index("ix_budget_proposal_ballot", table_name="budget_proposal")
    op.drop_index("ix_budget_proposal_cycle_title", table_name="budget_proposal")
    op.drop_index("ix_budget_proposal_cycle_cost", table_name="budget_proposal")
    op.drop_index("ix_budget_proposal_cycle_created", table_name="budget_proposal")
