"""ballot secrecy and the public ballot ledger

Ballots lose their voter id: a keyed pseudonym (HMAC under the server's BALLOT_KEY) takes
its place, with the voter's birth year and sex for the published turnout figures. The
ledger tables are append-only; the head is frozen at close; ballots and choices of a cycle
whose ledger is frozen cannot change. Existing ballots are pseudonymised and put in the
ledger in id order.

Revision ID: trust_04
Revises: trust_03
Create Date: 2026-12-06 03:10:00

"""

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "trust_04"
down_revision = "trust_03"
branch_labels = None
depends_on = None

LEDGER = "the ballot ledger is append-only"
CLOSED = "the ballots of this cycle are final: its ledger head is frozen"
FROZEN_HEAD = (
    "EXISTS (SELECT 1 FROM budget_ledger_head h WHERE h.cycle_id = {row}.cycle_id"
    " AND h.frozen_at IS NOT NULL)"
)
CHOICE_FROZEN = (
    "EXISTS (SELECT 1 FROM budget_ballot b JOIN budget_ledger_head h ON h.cycle_id = b.cycle_id"
    " WHERE b.id = {row}.ballot_id AND h.frozen_at IS NOT NULL)"
)
SPECS = [
    ("budget_ledger_leaf_no_update", "budget_ledger_leaf", "UPDATE", "1 = 1", LEDGER),
    ("budget_ledger_leaf_no_delete", "budget_ledger_leaf", "DELETE", "1 = 1", LEDGER),
    ("budget_ledger_chunk_no_update", "budget_ledger_chunk", "UPDATE", "1 = 1", LEDGER),
    ("budget_ledger_chunk_no_delete", "budget_ledger_chunk", "DELETE", "1 = 1", LEDGER),
    ("budget_ledger_head_frozen", "budget_ledger_head", "UPDATE", "OLD.frozen_at IS NOT NULL", LEDGER),
    ("budget_ledger_head_no_delete", "budget_ledger_head", "DELETE", "1 = 1", LEDGER),
    ("budget_ballot_final_update", "budget_ballot", "UPDATE", FROZEN_HEAD.format(row="OLD"), CLOSED),
    ("budget_ballot_final_delete", "budget_ballot", "DELETE", FROZEN_HEAD.format(row="OLD"), CLOSED),
    ("budget_ballot_final_insert", "budget_ballot", "INSERT", FROZEN_HEAD.format(row="NEW"), CLOSED),
    ("budget_choice_final_insert", "budget_ballot_choice", "INSERT", CHOICE_FROZEN.format(row="NEW"), CLOSED),
    ("budget_choice_final_update", "budget_ballot_choice", "UPDATE", CHOICE_FROZEN.format(row="OLD"), CLOSED),
    ("budget_choice_final_delete", "budget_ballot_choice", "DELETE", CHOICE_FROZEN.format(row="OLD"), CLOSED),
]


def upgrade():
    op.create_table(
        "budget_ledger_head",
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("frontier", sa.JSON(), nullable=False),
        sa.Column("frozen_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["budget_cycle.id"], name=op.f("fk_budget_ledger_head_cycle_id_budget_cycle")
        ),
        sa.PrimaryKeyConstraint("cycle_id", name=op.f("pk_budget_ledger_head")),
    )
    op.create_table(
        "budget_ledger_leaf",
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ballot_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["budget_cycle.id"], name=op.f("fk_budget_ledger_leaf_cycle_id_budget_cycle")
        ),
        sa.PrimaryKeyConstraint("cycle_id", "position", name=op.f("pk_budget_ledger_leaf")),
    )
    with op.batch_alter_table("budget_ledger_leaf", schema=None) as batch_op:
        batch_op.create_index("ix_budget_ledger_leaf_ballot", ["cycle_id", "ballot_id", "position"])
    op.create_table(
        "budget_ledger_chunk",
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["budget_cycle.id"], name=op.f("fk_budget_ledger_chunk_cycle_id_budget_cycle")
        ),
        sa.PrimaryKeyConstraint("cycle_id", "index", name=op.f("pk_budget_ledger_chunk")),
    )
    with op.batch_alter_table("budget_ballot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voter_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("birth_year", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("sex", sa.String(length=1), nullable=True))
        batch_op.add_column(
            sa.Column("ledger_version", sa.Integer(), nullable=False, server_default="1")
        )
    _pseudonymise_and_fill_ledger()
    with op.batch_alter_table("budget_ballot", schema=None) as batch_op:
        batch_op.alter_column("ledger_version", server_default=None)
        batch_op.drop_constraint("uq_budget_ballot_cycle_id_voter_id", type_="unique")
        batch_op.drop_constraint("fk_budget_ballot_voter_id_user_account", type_="foreignkey")
        batch_op.drop_column("voter_id")
        batch_op.create_unique_constraint(
            batch_op.f("uq_budget_ballot_cycle_id_voter_key"), ["cycle_id", "voter_key"]
        )
    _triggers(SPECS)


def _pseudonymise_and_fill_ledger():
    from sqlalchemy.orm import Session

    from portal.budgeting import integrity

    bind = op.get_bind()
    key = integrity.ballot_key(current_app.config)
    rows = bind.execute(
        sa.text(
            "SELECT b.id, b.cycle_id, b.voter_id, u.birth_year, u.sex FROM budget_ballot b "
            "LEFT JOIN user_account u ON u.id = b.voter_id ORDER BY b.cycle_id, b.id"
        )
    ).all()
    for ballot_id, cycle_id, voter_id, birth_year, sex in rows:
        bind.execute(
            sa.text(
                "UPDATE budget_ballot SET voter_key = :k, birth_year = :y, sex = :s WHERE id = :id"
            ),
            {
                "k": integrity.voter_key(key, cycle_id, voter_id) if voter_id else None,
                "y": birth_year,
                "s": sex,
                "id": ballot_id,
            },
        )
    choices = {}
    for ballot_id, proposal_id in bind.execute(
        sa.text("SELECT ballot_id, proposal_id FROM budget_ballot_choice")
    ):
        choices.setdefault(ballot_id, []).append(proposal_id)
    by_cycle = {}
    for ballot_id, cycle_id, *_ in rows:
        by_cycle.setdefault(cycle_id, []).append((ballot_id, 1, choices.get(ballot_id, [])))
    with Session(bind=bind) as session:
        for cycle_id, entries in by_cycle.items():
            integrity.append(session, _CycleRef(cycle_id), entries)
        session.flush()


class _CycleRef:
    def __init__(self, cycle_id):
        self.id = cycle_id


def downgrade():
    _drop_triggers(SPECS)
    with op.batch_alter_table("budget_ballot", schema=None) as batch_op:
        batch_op.drop_constraint("uq_budget_ballot_cycle_id_voter_key", type_="unique")
        # Voters cannot be restored from pseudonyms: the column comes back empty.
        batch_op.add_column(sa.Column("voter_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_budget_ballot_voter_id_user_account", "user_account", ["voter_id"], ["id"]
        )
        batch_op.create_unique_constraint(
            "uq_budget_ballot_cycle_id_voter_id", ["cycle_id", "voter_id"]
        )
        batch_op.drop_column("ledger_version")
        batch_op.drop_column("sex")
        batch_op.drop_column("birth_year")
        batch_op.drop_column("voter_key")
    op.drop_table("budget_ledger_chunk")
    with op.batch_alter_table("budget_ledger_leaf", schema=None) as batch_op:
        batch_op.drop_index("ix_budget_ledger_leaf_ballot")
    op.drop_table("budget_ledger_leaf")
    op.drop_table("budget_ledger_head")


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
