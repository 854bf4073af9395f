"""Merge the paper desks and the bilingual texts branches of the schema.

Revision ID: merge_05
Revises: paper_01, bilingual_01
"""

revision = "merge_05"
down_revision = ("paper_01", "bilingual_01")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
