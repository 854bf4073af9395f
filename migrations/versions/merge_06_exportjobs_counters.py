"""Merge the export jobs (cached aggregates) and the counters branches of the schema.

Revision ID: merge_06
Revises: exportjobs_01, counters_01
"""

revision = "merge_06"
down_revision = ("exportjobs_01", "counters_01")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
