"""jobs: a heartbeat, an attempt count and a translatable error code.

A job whose worker died is seen (its heartbeat stops) and run again.

Revision ID: jobs_02
Revises: merge_07
Create Date: 2026-12-06 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "jobs_02"
down_revision = "merge_07"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no batch): SQLite keeps the table, and any trigger on it, as it is.
    op.add_column("job", sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
    op.add_column("job", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
    op.add_column("job", sa.Column("error_code", sa.String(length=80), nullable=True))
    op.add_column("job", sa.Column("error_details", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("error_details")
        batch_op.drop_column("error_code")
        batch_op.drop_column("attempts")
        batch_op.drop_column("heartbeat_at")
