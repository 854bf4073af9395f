"""pabulib import: imported ballots and projects

Imported ballots have no voter account (voter_id NULL, channel "imported"); imported
projects have no author (author_id NULL) and keep their pabulib id in external_id; a cycle
may note where it came from (source).

Downgrade deletes what cannot exist without these columns: imported ballots and projects
without an author (with their choices, events, photos, notifications and updates). The
cycles themselves stay.

Revision ID: 76860530d2e1
Revises: 4cdeebe013aa
Create Date: 2026-11-23 15:16:18.606299

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '76860530d2e1'
down_revision = '4cdeebe013aa'
branch_labels = None
depends_on = None

OLD_CHANNELS = "channel IN ('online', 'paper')"
NEW_CHANNELS = "channel IN ('online', 'paper', 'imported')"


def upgrade():
    with op.batch_alter_table('budget_ballot', schema=None) as batch_op:
        batch_op.alter_column('voter_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.drop_constraint(op.f('ck_budget_ballot_channel'), type_='check')
        batch_op.create_check_constraint('channel', NEW_CHANNELS)

    with op.batch_alter_table('budget_cycle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=300), nullable=True))

    with op.batch_alter_table('budget_proposal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=64), nullable=True))
        batch_op.alter_column('author_id',
               existing_type=sa.INTEGER(),
               nullable=True)


def downgrade():
    orphans = "SELECT id FROM budget_proposal WHERE author_id IS NULL"
    imported = "SELECT id FROM budget_ballot WHERE channel = 'imported' OR voter_id IS NULL"
    op.execute(f"DELETE FROM budget_ballot_choice WHERE ballot_id IN ({imported})")
    op.execute(f"DELETE FROM budget_ballot WHERE id IN ({imported})")
    op.execute(f"DELETE FROM budget_ballot_choice WHERE proposal_id IN ({orphans})")
    op.execute(f"DELETE FROM budget_photo WHERE proposal_id IN ({orphans})")
    op.execute(
        f"DELETE FROM budget_photo WHERE update_id IN "
        f"(SELECT id FROM budget_update WHERE proposal_id IN ({orphans}))"
    )
    for table in ("budget_update", "budget_proposal_event", "budget_notification"):
        op.execute(f"DELETE FROM {table} WHERE proposal_id IN ({orphans})")
    op.execute("DELETE FROM budget_proposal WHERE author_id IS NULL")

    with op.batch_alter_table('budget_proposal', schema=None) as batch_op:
        batch_op.alter_column('author_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('external_id')

    with op.batch_alter_table('budget_cycle', schema=None) as batch_op:
        batch_op.drop_column('source')

    with op.batch_alter_table('budget_ballot', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_budget_ballot_channel'), type_='check')
        batch_op.create_check_constraint('channel', OLD_CHANNELS)
        batch_op.alter_column('voter_id',
               existing_type=sa.INTEGER(),
               nullable=False)
