"""Join the headings branch to the rest, and make the one-person rule per heading.

paper_01 made (cycle, IIN pseudonym) unique: one ballot per person in a cycle, whichever
the channel. With headings a person votes once in each heading they may vote in (the
city-wide one and their district's), so the unique index becomes (cycle, IIN pseudonym,
heading): the pseudonym before the heading, so that a person's ballots in a cycle are one
index range (as with the account pseudonym's constraint). Indexes are created and dropped
in place: the ballot table and its triggers stay as they are on SQLite.

Revision ID: headings_02
Revises: merge_06, headings_01
"""

from alembic import op

revision = "headings_02"
down_revision = ("merge_06", "headings_01")
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("uq_budget_ballot_cycle_iin", table_name="budget_ballot")
    op.create_index(
        "uq_budget_ballot_person",
        "budget_ballot",
        ["cycle_id", "iin_key", "heading_id"],
        unique=True,
    )


def downgrade():
    op.drop_index("uq_budget_ballot_person", table_name="budget_ballot")
    op.create_index(
        "uq_budget_ballot_cycle_iin", "budget_ballot", ["cycle_id", "iin_key"], unique=True
    )
