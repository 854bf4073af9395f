"""Merge the background-jobs and audit-log branches of the schema.

Revision ID: merge_01
Revises: scale_jobs_01, trust_01
"""

revision = "merge_01"
down_revision = ("scale_jobs_01", "trust_01")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
