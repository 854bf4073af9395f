"""budget headings: pots of a cycle (city-wide, per district) with their own budget and rules

Every existing cycle gets one main heading (position 0) copied from its own budget and rules;
its proposals, ballots and results move into it. A ballot is unique per (cycle, heading,
voter), so a resident may vote once in each heading.

Downgrade keeps only what belongs to main headings: projects, ballots and results of other
headings are deleted (with their choices, events, photos, updates and notifications).

The frozen-rule and closed-ledger triggers would refuse moving rows of a closed cycle into
its heading, and SQLite's table rebuilds drop triggers: both are lifted around the change
and put back exactly as they were. SQLite rebuilds a table by copying and dropping it, which
foreign keys refuse while other rows point at it: on SQLite the migration commits what came
before, turns foreign keys off for the rebuild, checks them with foreign_key_check and turns
them on again (the pragma is a no-op inside a transaction).

Revision ID: headings_01
Revises: merge_04
Create Date: 2026-12-06 06:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "headings_01"
down_revision = "merge_04"
branch_labels = None
depends_on = None

TABLES = ("budget_proposal", "budget_ballot", "budget_result")
# Like the cycle's own rules (trust_02): once voting opens, headings and the heading of a
# project on the ballot never change.
MESSAGE = "the rules of this budget cycle are frozen: voting has opened"
CYCLE_OF = (
    "EXISTS (SELECT 1 FROM budget_cycle c WHERE c.id = {row}.cycle_id "
    "AND c.rules_frozen_at IS NOT NULL)"
)
HEADING_CHANGED = " OR ".join(
    f"NEW.{c} {{ne}} OLD.{c}"
    for c in (
        "cycle_id", "position", "district_id", "budget", "cost_cap", "min_votes", "ballot_rule",
        "max_choices", "winner_rule",
    )
)
SPECS = [
    (
        "budget_heading_frozen_update", "budget_heading", "UPDATE",
        CYCLE_OF.format(row="OLD") + f" AND ({HEADING_CHANGED})", MESSAGE,
    ),
    ("budget_heading_frozen_delete", "budget_heading", "DELETE", CYCLE_OF.format(row="OLD"), MESSAGE),
    ("budget_heading_frozen_insert", "budget_heading", "INSERT", CYCLE_OF.format(row="NEW"), MESSAGE),
    (
        "budget_proposal_heading_frozen", "budget_proposal", "UPDATE",
        CYCLE_OF.format(row="OLD") + " AND NEW.heading_id {ne} OLD.heading_id"
        " AND (OLD.status = 'feasible' OR NEW.status = 'feasible')",
        MESSAGE,
    ),
]
MAIN = (
    "(SELECT h.id FROM budget_heading h WHERE h.cycle_id = {table}.cycle_id AND h.position = 0)"
)


def upgrade():
    op.create_table(
        "budget_heading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("budget", sa.BigInteger(), nullable=False),
        sa.Column("cost_cap", sa.BigInteger(), nullable=True),
        sa.Column("min_votes", sa.Integer(), nullable=True),
        sa.Column("ballot_rule", sa.String(length=16), nullable=False),
        sa.Column("max_choices", sa.Integer(), nullable=True),
        sa.Column("winner_rule", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("budget > 0", name=op.f("ck_budget_heading_budget_positive")),
        sa.CheckConstraint(
            "cost_cap IS NULL OR cost_cap > 0", name=op.f("ck_budget_heading_cap_positive")
        ),
        sa.CheckConstraint(
            "min_votes IS NULL OR min_votes >= 0", name=op.f("ck_budget_heading_min_votes_ok")
        ),
        sa.CheckConstraint(
            "ballot_rule IN ('knapsack', 'k_approval', 'single')",
            name=op.f("ck_budget_heading_ballot_rule"),
        ),
        sa.CheckConstraint(
            "winner_rule IN ('greedy', 'mes')", name=op.f("ck_budget_heading_winner_rule")
        ),
        sa.CheckConstraint(
            "ballot_rule != 'k_approval' OR max_choices >= 1",
            name=op.f("ck_budget_heading_k_approval_has_k"),
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["budget_cycle.id"], name=op.f("fk_budget_heading_cycle_id_budget_cycle")
        ),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_budget_heading_district_id_district")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_heading")),
        sa.UniqueConstraint("cycle_id", "name", name=op.f("uq_budget_heading_cycle_id_name")),
        sa.UniqueConstraint(
            "cycle_id", "position", name=op.f("uq_budget_heading_cycle_id_position")
        ),
    )
    with op.batch_alter_table("budget_heading", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_budget_heading_cycle_id"), ["cycle_id"], unique=False)
    op.execute(
        "INSERT INTO budget_heading (cycle_id, position, name, district_id, budget, cost_cap, "
        "min_votes, ballot_rule, max_choices, winner_rule, created_at) "
        "SELECT id, 0, substr(title_en, 1, 200), district_id, budget, cost_cap, min_votes, "
        "ballot_rule, max_choices, winner_rule, created_at FROM budget_cycle"
    )
    saved = _lift_triggers()
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("heading_id", sa.Integer(), nullable=True))
        op.execute(f"UPDATE {table} SET heading_id = {MAIN.format(table=table)}")
    with op.batch_alter_table("budget_proposal", schema=None) as batch_op:
        _heading_column(batch_op, "budget_proposal")
    with op.batch_alter_table("budget_ballot", schema=None) as batch_op:
        _heading_column(batch_op, "budget_ballot")
        batch_op.drop_constraint("uq_budget_ballot_cycle_id_voter_key", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_budget_ballot_cycle_id_voter_key_heading_id"),
            ["cycle_id", "voter_key", "heading_id"],
        )
    with op.batch_alter_table("budget_result", schema=None) as batch_op:
        _heading_column(batch_op, "budget_result")
        batch_op.drop_constraint("uq_budget_result_cycle_id_rule_version", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_budget_result_cycle_id_heading_id_rule_version"),
            ["cycle_id", "heading_id", "rule", "version"],
        )
    _restore_triggers(saved)
    _triggers(SPECS)


def _heading_column(batch_op, table):
    batch_op.alter_column("heading_id", existing_type=sa.Integer(), nullable=False)
    batch_op.create_index(batch_op.f(f"ix_{table}_heading_id"), ["heading_id"], unique=False)
    batch_op.create_foreign_key(
        batch_op.f(f"fk_{table}_heading_id_budget_heading"),
        "budget_heading",
        ["heading_id"],
        ["id"],
    )


def downgrade():
    _drop_triggers(SPECS)
    saved = _lift_triggers()
    others = "SELECT id FROM budget_heading WHERE position != 0"
    orphans = f"SELECT id FROM budget_proposal WHERE heading_id IN ({others})"
    ballots = f"SELECT id FROM budget_ballot WHERE heading_id IN ({others})"
    op.execute(f"DELETE FROM budget_ballot_choice WHERE ballot_id IN ({ballots})")
    op.execute(f"DELETE FROM budget_ballot_choice WHERE proposal_id IN ({orphans})")
    op.execute(f"DELETE FROM budget_ballot WHERE id IN ({ballots})")
    op.execute(
        f"DELETE FROM budget_photo WHERE update_id IN "
        f"(SELECT id FROM budget_update WHERE proposal_id IN ({orphans}))"
    )
    op.execute(f"DELETE FROM budget_photo WHERE proposal_id IN ({orphans})")
    for table in ("budget_update", "budget_proposal_event", "budget_notification"):
        op.execute(f"DELETE FROM {table} WHERE proposal_id IN ({orphans})")
    op.execute(f"DELETE FROM budget_proposal WHERE id IN ({orphans})")
    op.execute(f"DELETE FROM budget_result WHERE heading_id IN ({others})")
    with op.batch_alter_table("budget_result", schema=None) as batch_op:
        batch_op.drop_constraint(
            "uq_budget_result_cycle_id_heading_id_rule_version", type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_budget_result_cycle_id_rule_version"), ["cycle_id", "rule", "version"]
        )
        _drop_heading_column(batch_op, "budget_result")
    with op.batch_alter_table("budget_ballot", schema=None) as batch_op:
        batch_op.drop_constraint("uq_budget_ballot_cycle_id_voter_key_heading_id", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_budget_ballot_cycle_id_voter_key"), ["cycle_id", "voter_key"]
        )
        _drop_heading_column(batch_op, "budget_ballot")
    with op.batch_alter_table("budget_proposal", schema=None) as batch_op:
        _drop_heading_column(batch_op, "budget_proposal")
    _restore_triggers(saved)
    with op.batch_alter_table("budget_heading", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_budget_heading_cycle_id"))
    op.drop_table("budget_heading")


def _drop_heading_column(batch_op, table):
    batch_op.drop_constraint(f"fk_{table}_heading_id_budget_heading", type_="foreignkey")
    batch_op.drop_index(f"ix_{table}_heading_id")
    batch_op.drop_column("heading_id")


def _lift_triggers():
    """Take the triggers off while rows move between headings; returns what to put back.

    SQLite: every trigger is saved and dropped (table rebuilds would drop some, and a rebuild
    of a table named in another trigger's body fails while that trigger exists). PostgreSQL:
    user triggers of the changed tables are disabled."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        return []
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    bind.exec_driver_sql("BEGIN")
    saved = bind.execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
    ).all()
    for name, _sql in saved:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    return saved


def _restore_triggers(saved):
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        return
    for _name, sql in saved:
        op.execute(sql)
    bind = op.get_bind()
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"foreign keys broken by the heading migration: {broken[:5]}")
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=ON")
    bind.exec_driver_sql("BEGIN")


def _triggers(specs):
    """BEFORE triggers that abort with a message when a condition holds (as in trust_02)."""
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
