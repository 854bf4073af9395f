"""accounts: e-mail confirmation, consent to personal-data processing, account deletion

Revision ID: accounts_01
Revises: merge_02
"""

import sqlalchemy as sa
from alembic import op

revision = "accounts_01"
down_revision = "merge_02"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("email_confirmed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("consent_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("consent_at")
        batch.drop_column("email_confirmed_at")
