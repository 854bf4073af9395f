"""Merge the draft dashboard counters and the budget headings branches of the schema.

Revision ID: merge_07
Revises: draftdash_02, headings_02
"""

revision = "merge_07"
down_revision = ("draftdash_02", "headings_02")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
