"""Merge the trust (frozen rules, results, ledger) branch of the schema.

Revision ID: merge_02
Revises: merge_01, trust_04
"""

revision = "merge_02"
down_revision = ("merge_01", "trust_04")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
