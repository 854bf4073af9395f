"""immutable results: versions with a public reason; published versions refused changes

Revision ID: trust_03
Revises: trust_02
Create Date: 2026-12-06 03:05:00

"""

import sqlalchemy as sa
from alembic import op

revision = "trust_03"
down_revision = "trust_02"
branch_labels = None
depends_on = None

MESSAGE = "a published result never changes: publish a corrected version instead"
SPECS = [
    ("budget_result_published_update", "budget_result", "UPDATE", "OLD.published_at IS NOT NULL", MESSAGE),
    ("budget_result_published_delete", "budget_result", "DELETE", "OLD.published_at IS NOT NULL", MESSAGE),
]


def upgrade():
    with op.batch_alter_table("budget_result", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.drop_constraint("uq_budget_result_cycle_id_rule", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_budget_result_cycle_id_rule_version"), ["cycle_id", "rule", "version"]
        )
    with op.batch_alter_table("budget_result", schema=None) as batch_op:
        batch_op.alter_column("version", server_default=None)
    _triggers(SPECS)


def downgrade():
    _drop_triggers(SPECS)
    op.execute(
        "DELETE FROM budget_result WHERE version > 1"
    )
    with op.batch_alter_table("budget_result", schema=None) as batch_op:
        batch_op.drop_constraint("uq_budget_result_cycle_id_rule_version", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_budget_result_cycle_id_rule"), ["cycle_id", "rule"]
        )
        batch_op.drop_column("reason")
        batch_op.drop_column("version")


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
