"""Merge the city-scale indexes into the schema.

Revision ID: merge_03
Revises: merge_02, scale_pages_01
"""

revision = "merge_03"
down_revision = ("merge_02", "scale_pages_01")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
