"""Merge the accounts (e-mail, notifications, identity provider) branch of the schema.

Revision ID: merge_04
Revises: merge_03, accounts_02
"""

revision = "merge_04"
down_revision = ("merge_03", "accounts_02")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
