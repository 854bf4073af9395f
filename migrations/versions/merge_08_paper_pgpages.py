"""Merge the job heartbeats / tally sheets per heading and the page indexes branches.

Revision ID: merge_08
Revises: paper_02, pgpages_01
"""

revision = "merge_08"
down_revision = ("paper_02", "pgpages_01")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
