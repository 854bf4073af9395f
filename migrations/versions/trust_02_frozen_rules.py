"""frozen rules: rules_frozen_at, public date changes, triggers on cycles and ballot projects

Revision ID: trust_02
Revises: trust_01
Create Date: 2026-12-06 03:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "trust_02"
down_revision = "trust_01"
branch_labels = None
depends_on = None

FROZEN = "OLD.rules_frozen_at IS NOT NULL"
CYCLE_CHANGED = " OR ".join(
    [f"NEW.{c} {{ne}} OLD.{c}" for c in (
        "rules_frozen_at", "budget", "cost_cap", "min_votes", "ballot_rule", "max_choices",
        "winner_rule", "district_id", "ballots_final", "region_id", "proposals_open_at",
        "review_open_at", "voting_open_at",
    )]
    + [
        "NEW.voting_close_at < OLD.voting_close_at",
        "(OLD.implementation_at IS NOT NULL AND (NEW.implementation_at IS NULL"
        " OR NEW.implementation_at < OLD.implementation_at))",
    ]
)
CYCLE_OF = "EXISTS (SELECT 1 FROM budget_cycle c WHERE c.id = {row}.cycle_id AND c.rules_frozen_at IS NOT NULL)"
PROPOSAL_CHANGED = (
    "NEW.cycle_id {ne} OLD.cycle_id"
    " OR (NEW.status {ne} OLD.status AND (OLD.status = 'feasible' OR NEW.status = 'feasible'))"
    " OR (OLD.status = 'feasible' AND (NEW.estimated_cost {ne} OLD.estimated_cost"
    " OR NEW.final_cost {ne} OLD.final_cost))"
)
MESSAGE = "the rules of this budget cycle are frozen: voting has opened"
SPECS = [
    ("budget_cycle_frozen_update", "budget_cycle", "UPDATE", f"{FROZEN} AND ({CYCLE_CHANGED})", MESSAGE),
    ("budget_cycle_frozen_delete", "budget_cycle", "DELETE", FROZEN, MESSAGE),
    (
        "budget_proposal_frozen_update", "budget_proposal", "UPDATE",
        CYCLE_OF.replace("{row}", "OLD") + f" AND ({PROPOSAL_CHANGED})", MESSAGE,
    ),
    (
        "budget_proposal_frozen_delete", "budget_proposal", "DELETE",
        CYCLE_OF.replace("{row}", "OLD") + " AND OLD.status = 'feasible'", MESSAGE,
    ),
    (
        "budget_proposal_frozen_insert", "budget_proposal", "INSERT",
        CYCLE_OF.replace("{row}", "NEW") + " AND NEW.status = 'feasible'", MESSAGE,
    ),
]


def upgrade():
    with op.batch_alter_table("budget_cycle", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rules_frozen_at", sa.DateTime(), nullable=True))
    op.create_table(
        "budget_date_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=24), nullable=False),
        sa.Column("old_value", sa.DateTime(), nullable=True),
        sa.Column("new_value", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user_account.id"], name=op.f("fk_budget_date_change_actor_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["budget_cycle.id"], name=op.f("fk_budget_date_change_cycle_id_budget_cycle")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_date_change")),
    )
    with op.batch_alter_table("budget_date_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_budget_date_change_cycle_id"), ["cycle_id"], unique=False)
    # Cycles that already have ballots are frozen from their opening.
    op.execute(
        "UPDATE budget_cycle SET rules_frozen_at = voting_open_at WHERE EXISTS "
        "(SELECT 1 FROM budget_ballot b WHERE b.cycle_id = budget_cycle.id)"
    )
    _triggers(SPECS)


def downgrade():
    _drop_triggers(SPECS)
    with op.batch_alter_table("budget_date_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_budget_date_change_cycle_id"))
    op.drop_table("budget_date_change")
    with op.batch_alter_table("budget_cycle", schema=None) as batch_op:
        batch_op.drop_column("rules_frozen_at")


def _triggers(specs):
    """Create BEFORE triggers that abort with a message when a condition holds.

    specs: (name, table, event, condition, message); the condition uses OLD/NEW and `{ne}`
    for a NULL-safe "differs" (SQLite IS NOT, PostgreSQL IS DISTINCT FROM).
    """
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, table, event, condition, message in specs:
        if postgres:
            body = condition.format(ne="IS DISTINCT FROM")
            done = "RETURN OLD" if event == "DELETE" else "RETURN NEW"
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF {body} THEN RAISE EXCEPTION '{message}'; END IF; {done}; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                f"WHEN {condition.format(ne='IS NOT')} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )


def _drop_triggers(specs):
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, table, *_ in specs:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
