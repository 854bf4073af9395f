"""accounts: notifications a person chooses (in the portal and by e-mail)

Revision ID: accounts_02
Revises: accounts_01
"""

import sqlalchemy as sa
from alembic import op

revision = "accounts_02"
down_revision = "accounts_01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("notify_prefs", sa.JSON(), nullable=True))
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("in_portal", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.Column("emailed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_notice_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice")),
    )
    with op.batch_alter_table("notice") as batch:
        batch.create_index(batch.f("ix_notice_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("notice") as batch:
        batch.drop_index(batch.f("ix_notice_user_id"))
    op.drop_table("notice")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("notify_prefs")
