"""Ballots written as a group (ballots.write_ballots, as the group writer calls it): the same
ballots, receipts and ledger as one by one, refusals that sink nothing else, and statements
that do not grow with the group. Runs on SQLite and PostgreSQL."""

import pytest
import sqlalchemy as sa
from budget_fixtures import make_project  # noqa: F401  (fixture)
from helpers import make_user

from portal.budgeting import ballots, integrity, services
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.models import Ballot, LedgerLeaf
from portal.extensions import db as _db

SECRET = "test-secret"


@pytest.fixture
def frozen(new_cycle, make_project):  # noqa: F811
    """A voting cycle whose rules are frozen (its first ballot is in), three projects."""
    cycle = new_cycle("voting", budget=1_000_000)
    projects = [make_project(cycle, cost) for cost in (600_000, 400_000, 300_000)]
    services.cast_ballot(_db.session, make_user(), cycle, [projects[2].id], secret=SECRET)
    _db.session.commit()
    assert cycle.rules_frozen_at is not None
    return cycle, [p.id for p in projects]


def _prepare(cycle, voter, chosen):
    return services.prepare_ballot(_db.session, voter, cycle, chosen, secret=SECRET)


def _leaves(cycle):
    return _db.session.execute(
        sa.select(LedgerLeaf.position, LedgerLeaf.ballot_id, LedgerLeaf.data)
        .where(LedgerLeaf.cycle_id == cycle.id)
        .order_by(LedgerLeaf.position)
    ).all()


def test_a_group_is_stored_like_ballots_one_by_one(db, frozen):
    cycle, (a, b, c) = frozen
    voters = [make_user() for _ in range(5)]
    choices = [[a], [b, c], [a, b], [c], [b]]
    prepared = [_prepare(cycle, v, ch) for v, ch in zip(voters, choices, strict=True)]
    outcomes = ballots.write_ballots(db.session, prepared)
    db.session.commit()
    assert all(isinstance(o, int) for o in outcomes) and len(set(outcomes)) == 5
    for ballot_id, chosen in zip(outcomes, choices, strict=True):
        ballot = db.session.get(Ballot, ballot_id)
        assert sorted(ballot.project_ids) == sorted(chosen)
        assert ballot.ledger_version == 1 and services.receipt_is_current(ballot, SECRET)
    # Appended after the cycle's first ballot, in the group's order.
    assert [leaf.ballot_id for leaf in _leaves(cycle)][1:] == outcomes
    assert integrity.verify_cycle(db.session, cycle, SECRET) is None


def test_a_refused_ballot_leaves_the_rest_of_its_group(db, frozen):
    cycle, (a, b, _c) = frozen
    staff = make_user(role="staff")
    on_paper, first, second = make_user(), make_user(), make_user()
    services.cast_ballot(
        db.session, staff, cycle, [a], secret=SECRET, voter=on_paper, channel="paper"
    )
    db.session.commit()
    prepared = [_prepare(cycle, v, [b]) for v in (first, on_paper, second)]
    outcomes = ballots.write_ballots(db.session, prepared)
    db.session.commit()
    assert isinstance(outcomes[1], BudgetRuleError) and outcomes[1].code == "other_channel"
    stored = [db.session.get(Ballot, o) for o in (outcomes[0], outcomes[2])]
    assert all(ballot.project_ids == [b] for ballot in stored)
    assert integrity.verify_cycle(db.session, cycle, SECRET) is None


def test_a_replaced_ballot_and_a_person_twice_in_one_group(db, frozen):
    """A person's earlier ballot is replaced (version 2); a person twice in the group gets
    their later choice, as if the two had come one after another."""
    cycle, (a, b, c) = frozen
    earlier, twice, other = make_user(), make_user(), make_user()
    first_id = services.store_ballot(db.session, earlier, cycle, [a], secret=SECRET)
    db.session.commit()
    prepared = [
        _prepare(cycle, earlier, [b]),
        _prepare(cycle, twice, [a]),
        _prepare(cycle, other, [c]),
        _prepare(cycle, twice, [b, c]),
    ]
    outcomes = ballots.write_ballots(db.session, prepared)
    db.session.commit()
    assert outcomes[0] == first_id and outcomes[1] == outcomes[3] != outcomes[2]
    replaced, twice_ballot = db.session.get(Ballot, first_id), db.session.get(Ballot, outcomes[1])
    assert replaced.project_ids == [b] and replaced.ledger_version == 2
    assert sorted(twice_ballot.project_ids) == [b, c] and twice_ballot.ledger_version == 2
    assert services.receipt_is_current(twice_ballot, SECRET)
    assert integrity.verify_cycle(db.session, cycle, SECRET) is None


def test_a_groups_statements_do_not_grow_with_it(db, frozen):
    cycle, (a, b, _c) = frozen
    counts = []
    for size in (2, 12):
        prepared = [_prepare(cycle, make_user(), [a, b][: 1 + n % 2]) for n in range(size)]
        statements = []

        def count(_conn, _cursor, statement, *_args, statements=statements):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            ballots.write_ballots(db.session, prepared)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        db.session.commit()
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert integrity.verify_cycle(db.session, cycle, SECRET) is None


def test_a_groups_look_for_earlier_ballots_seeks_each_person(db, frozen):
    """Two index seeks per person (IIN pseudonym, account pseudonym), each on the whole
    unique key: an OR of the two read every ballot of the cycle, and on PostgreSQL
    `iin_key = ANY(keys)` was planned as a walk through the cycle's ballots filtering them."""
    from test_query_plans import Captured, _plan

    cycle, (a, _b, _c) = frozen
    prepared = [_prepare(cycle, make_user(), [a]) for _ in range(3)]
    with Captured() as captured:
        ballots.write_ballots(db.session, prepared)
    if db.engine.dialect.name == "sqlite":
        (statement, parameters), *_ = captured.matching("FROM budget_ballot", "UNION ALL")
        plan = "\n".join(_plan(statement, parameters))
        reads = [line for line in plan.splitlines() if "budget_ballot" in line]
        assert len(reads) == 2 and all("SEARCH" in line for line in reads), plan
        assert "iin_key=?" in reads[0] + reads[1] and "voter_key=?" in reads[0] + reads[1], plan
        return
    # A heading's worth of ballots, analysed: on a table of one ballot any index is as cheap.
    heading_id = prepared[0].keys["heading_id"]
    db.session.execute(
        sa.insert(Ballot),
        [
            dict(
                cycle_id=cycle.id,
                heading_id=heading_id,
                voter_key=f"v{i:063d}",
                iin_key=f"i{i:063d}",
                ledger_version=1,
                channel="online",
                receipt=f"r{i}",
            )
            for i in range(300)
        ],
    )
    db.session.execute(sa.text("ANALYZE budget_ballot"))
    (statement, parameters), *_ = captured.matching("INSERT INTO budget_ballot", "UNION ALL")
    plan = "\n".join(_plan(statement, parameters, price_out_sorts=False))
    assert "Seq Scan" not in plan and "Filter: ((iin_key" not in plan, plan
    seeks = [line for line in plan.splitlines() if "Index Cond" in line and "cycle_id" in line]
    for key in ("iin_key", "voter_key"):
        assert any(key in line and "heading_id" in line for line in seeks), plan
