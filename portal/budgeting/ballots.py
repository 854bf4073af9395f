"""Writing checked ballots: one, or a group in one transaction (the group writer's path).

`services.prepare_ballot` checks a ballot and returns a PreparedBallot; `write_ballots` writes
any number of them in the session's transaction, with prebuilt table statements (this is the
hot path of a city's vote) and the ledger append. `services.store_ballot` is the two in one
transaction; the ballot page hands prepared ballots to the machine's writer process
(either database) or its process's writer thread (SQLite), portal.group_commit.
No Flask imports.
"""

import contextlib
import dataclasses
from collections import Counter

from sqlalchemy import (
    JSON,
    DateTime,
    Integer,
    String,
    bindparam,
    column,
    delete,
    insert,
    inspect,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.exc import IntegrityError

from portal import database
from portal.accounts.models import User
from portal.budgeting import domain, integrity
from portal.budgeting.domain import BudgetError
from portal.budgeting.models import Ballot, BallotChoice


@dataclasses.dataclass(frozen=True)
class PreparedBallot:
    """A checked ballot as plain values, ready to be written (`write_ballots`); nothing in it
    can change while voting is open (rules are frozen; the voter's verification was checked
    a moment ago). `cycle` is the caller's object, used only to stamp the rules frozen."""

    cycle: object
    cycle_id: int
    final: bool
    frozen: object
    voter_id: object
    channel: str
    values: dict
    keys: dict
    chosen: tuple
    secret: str
    now: object


def write_ballot(session, prepared):
    """Write one prepared ballot (`write_ballots`); its id, or raise what refused it."""
    (outcome,) = write_ballots(session, [prepared])
    if isinstance(outcome, BudgetError):
        raise outcome
    return outcome


def write_ballots(session, prepared):
    """Write prepared ballots in the session's transaction (taking the write lock first);
    returns, per ballot, its id or the BudgetError that refused it (its person voted on paper,
    or may not replace a final ballot): a refused ballot writes nothing and the others go on.

    One ballot goes the shortest way (on PostgreSQL six statements). Several (a group
    commit, portal.group_commit) are written one after another and appended to their cycles'
    ledgers together: one head read and move per cycle, and one commit for all. There any
    other failure (a unique key that slipped past the voter's lock) is raised, and the
    caller writes them again one by one."""
    # Everything before this read; on SQLite take the write lock only now. From here on
    # prebuilt table statements, not the unit of work: this is the hot path of a city's vote.
    database.start_write(session)
    connection = session.connection()
    if len(prepared) == 1:
        try:
            return [_write_one(session, connection, prepared[0])]
        except BudgetError as error:
            return [error]
    outcomes, cycles = [None] * len(prepared), {}
    for number, ballot in enumerate(prepared):
        cycles.setdefault(ballot.cycle_id, []).append((number, ballot))
    for cycle_id, group in cycles.items():
        added, head = _add_group(session, connection, group)
        written = []
        for number, ballot in group:
            outcome = added[number]
            if isinstance(outcome, BudgetError):
                outcomes[number] = outcome
            else:
                outcomes[number] = outcome[0]
                written.append((ballot, *outcome))
        if not written:
            continue
        stamps = [
            {
                "b_id": ballot_id,
                "b_receipt": domain.receipt_code(cycle_id, ballot_id, b.chosen, b.secret),
                "b_version": version,
                "b_at": b.now,
            }
            for b, ballot_id, version in written
        ]
        entries = [(i, v, b.chosen) for b, i, v in written]
        integrity.append(session, cycle_id, entries, head=head, stamps=stamps)
    return outcomes


def _add_group(session, connection, group):
    """Add the ballots [(number, PreparedBallot)] of one cycle: ({number: (id, version) or
    BudgetError}, the ledger head locked on the way or None). The usual ballots (online, a
    person's first in the heading, rules frozen) go in together: their voters locked, one
    look for earlier ballots, one insert of the ballots and one of their choices, whatever
    their number (on PostgreSQL all in one statement, which locks the ledger head last).
    The rest (a replaced ballot, one person twice in the group) go one by one after them."""
    usual = [
        (number, b)
        for number, b in group
        if b.voter_id is not None and b.frozen is not None and b.channel == "online"
    ]
    persons = Counter(_person(b) for _number, b in usual)
    usual = [(number, b) for number, b in usual if persons[_person(b)] == 1]
    if connection.dialect.name == "postgresql":
        added, head = _pg_add_usual(connection, group[0][1].cycle_id, usual)
    else:  # SQLite: BEGIN IMMEDIATE locked everything
        added, head = _add_usual(connection, group[0][1].cycle_id, usual), None
    for number, ballot in group:
        if number not in added:
            try:
                ballot_id, version, _head = _add_ballot(session, connection, ballot, alone=False)
                added[number] = (ballot_id, version)
            except BudgetError as error:
                added[number] = error
    return added, head


def _add_usual(connection, cycle_id, usual):
    """{number: (id, 1)} of the usual ballots added (those without an earlier ballot)."""
    if not usual:
        return {}
    taken = set()
    for row in connection.execute(
        _EARLIER_BALLOTS,
        {
            "cycle_id": cycle_id,
            "iin_keys": [b.keys["iin_key"] for _n, b in usual],
            "voter_keys": [b.keys["voter_key"] for _n, b in usual],
        },
    ):
        taken.add(("iin", row.iin_key, row.heading_id))
        taken.add(("account", row.voter_key, row.heading_id))
    usual = [
        (number, b)
        for number, b in usual
        if ("iin", b.keys["iin_key"], b.keys["heading_id"]) not in taken
        and ("account", b.keys["voter_key"], b.keys["heading_id"]) not in taken
    ]
    if not usual:
        return {}
    # RETURNING order is not the rows' order on every database: match by person.
    ids = {
        (row.iin_key, row.heading_id): row.id
        for row in connection.execute(
            _NEW_BALLOTS, [{**b.values, "ledger_version": 1, "receipt": ""} for _n, b in usual]
        )
    }
    added = {number: (ids[_person(b)], 1) for number, b in usual}
    choices = [
        {"ballot_id": added[number][0], "proposal_id": p} for number, b in usual for p in b.chosen
    ]
    if choices:
        connection.execute(_ADD_CHOICE, choices)
    return added


def _pg_add_usual(connection, cycle_id, usual):
    """PostgreSQL, `_add_usual` in one statement: ({number: (id, 1)}, the locked head)."""
    if not usual:
        return {}, None
    values = [b.values for _n, b in usual]
    rows = connection.execute(
        _PG_ADD_GROUP,
        {
            "cycle_id": cycle_id,
            "idx": list(range(len(usual))),
            "voter_ids": sorted({b.voter_id for _n, b in usual}),
            **{f"{name}s": [v[name] for v in values] for name in _GROUP_COLUMNS},
            "c_idx": [i for i, (_n, b) in enumerate(usual) for _p in b.chosen],
            "c_proposals": [p for _n, b in usual for p in b.chosen],
        },
    ).all()
    ids = {(row.iin_key, row.heading_id): row.id for row in rows}
    added = {number: (ids[_person(b)], 1) for number, b in usual if _person(b) in ids}
    head = None
    if rows and rows[0].size is not None:
        head = (rows[0].size, rows[0].frontier, rows[0].frozen_at)
    return added, head


def _person(ballot):
    return ballot.keys["iin_key"], ballot.keys["heading_id"]


def _write_one(session, connection, ballot):
    ballot_id, version, head = _add_ballot(session, connection, ballot, alone=True)
    receipt = domain.receipt_code(ballot.cycle_id, ballot_id, ballot.chosen, ballot.secret)
    stamp = {"b_id": ballot_id, "b_receipt": receipt, "b_version": version, "b_at": ballot.now}
    integrity.append(
        session, ballot.cycle_id, [(ballot_id, version, ballot.chosen)], head=head, stamps=[stamp]
    )
    # A ballot of this voter loaded earlier in the session is stale now.
    stale = session.identity_map.get(inspect(Ballot).identity_key_from_primary_key((ballot_id,)))
    if stale is not None:
        session.expire(stale)
    return ballot_id


def _add_ballot(session, connection, ballot, *, alone):
    """Add the ballot and its choices, or replace the choices of the person's ballot in the
    heading: (ballot id, ledger version, the ledger head if it was read on the way). Alone,
    a ballot that slipped past the voter's lock is refused as already cast; in a group the
    IntegrityError is raised (the transaction may be unusable: the group is written again
    one by one)."""
    voter_id, channel, values = ballot.voter_id, ballot.channel, ballot.values
    if voter_id is not None and connection.dialect.name != "sqlite":
        connection.execute(_LOCK_VOTER, {"voter_id": voter_id})  # SQLite: BEGIN IMMEDIATE
    if ballot.frozen is None:  # the cycle's row before the ledger head, as phase moves lock them
        integrity.freeze(ballot.cycle, ballot.now, session)
    head = None
    if voter_id is not None and connection.dialect.name == "postgresql":
        # Under the voter's lock, one round trip: find the person's ballot or add it with its
        # choices, and lock the ledger head (a new snapshot: it sees their committed ballot).
        try:
            row = connection.execute(
                _PG_ADD_BALLOT, {**values, "chosen": list(ballot.chosen)}
            ).one()
        except IntegrityError:  # the person's ballot slipped in past the lock
            if not alone:
                raise
            raise BudgetError("already_voted") from None
        ballot_id, existing = row.added, row if row.id is not None else None
        if row.size is not None:
            head = (row.size, row.frontier, row.frozen_at)
    else:
        ballot_id, existing = None, _find_ballot(connection, ballot.keys)
    if existing is not None:
        if existing.channel != channel:
            raise BudgetError("other_channel", channel=existing.channel)
        if ballot.final or channel == "paper":
            raise BudgetError("already_voted")
        ballot_id, version = existing.id, existing.ledger_version + 1
        connection.execute(_CLEAR_CHOICES, {"ballot_id": ballot_id})
        _add_choices(connection, ballot_id, ballot.chosen)
        return ballot_id, version, head
    if ballot_id is not None:
        return ballot_id, 1, head  # added, with its choices, by _PG_ADD_BALLOT
    # Without an account row to lock (a desk resident), two desks may race to the unique
    # IIN pseudonym: a savepoint keeps the transaction usable to name the winner.
    guard = connection.begin_nested() if voter_id is None else contextlib.nullcontext()
    try:
        with guard:
            ballot_id = connection.execute(
                _NEW_BALLOT, {**values, "ledger_version": 1, "receipt": ""}
            ).scalar_one()
    except IntegrityError:
        if not alone and voter_id is not None:
            raise
        other = None
        if voter_id is None:
            other = _find_ballot(connection, ballot.keys)
        if other is not None and other.channel != channel:
            raise BudgetError("other_channel", channel=other.channel) from None
        raise BudgetError("already_voted") from None
    _add_choices(connection, ballot_id, ballot.chosen)
    return ballot_id, 1, head


# The statements of a ballot, built once: building and cache-keying a statement per request
# cost more than running it.
_BALLOTS, _CHOICES = Ballot.__table__, BallotChoice.__table__
_LOCK_VOTER = (
    select(User.__table__.c.id)
    .where(User.__table__.c.id == bindparam("voter_id"))
    .with_for_update()
)
# The person's ballot in a heading by their IIN pseudonym, else by their account's (ballots
# cast before paper_01 have only that one): two index seeks, where one OR would not be.
_FOUND = (_BALLOTS.c.id, _BALLOTS.c.channel, _BALLOTS.c.ledger_version)
_BY_PERSON = select(*_FOUND).where(
    _BALLOTS.c.cycle_id == bindparam("cycle_id"),
    _BALLOTS.c.iin_key == bindparam("iin_key"),
    _BALLOTS.c.heading_id == bindparam("heading_id"),
)
_BY_PERSON_OR_ACCOUNT = (
    union_all(
        _BY_PERSON.add_columns(literal_column("1").label("rank")),
        select(*_FOUND, literal_column("2").label("rank")).where(
            _BALLOTS.c.cycle_id == bindparam("cycle_id"),
            _BALLOTS.c.voter_key == bindparam("voter_key"),
            _BALLOTS.c.heading_id == bindparam("heading_id"),
        ),
    )
    .order_by("rank")
    .limit(1)
)


def _find_ballot(connection, keys):
    statement = _BY_PERSON if keys["voter_key"] is None else _BY_PERSON_OR_ACCOUNT
    return connection.execute(statement, keys).first()


def _add_choices(connection, ballot_id, chosen):
    if chosen:
        connection.execute(
            _ADD_CHOICE, [{"ballot_id": ballot_id, "proposal_id": p} for p in chosen]
        )


# PostgreSQL, a ballot of a voter with an account (their row locked first): find their
# ballot in the heading, or add it and its choices, and lock and read the ledger head, in
# one statement. A found ballot is replaced statement by statement (rarer). The head's
# condition on the inserted rows makes it wait until both inserts are done (a one-time
# filter): every other ballot of the cycle waits for the head, so it is locked last.
_PG_ADD_BALLOT = text(
    """
WITH found AS (
    SELECT id, channel, ledger_version, 1 AS rank FROM budget_ballot
    WHERE cycle_id = :cycle_id AND iin_key = :iin_key AND heading_id = :heading_id
    UNION ALL
    SELECT id, channel, ledger_version, 2 FROM budget_ballot
    WHERE cycle_id = :cycle_id AND voter_key = :voter_key AND heading_id = :heading_id
), added AS (
    INSERT INTO budget_ballot (
        cycle_id, heading_id, voter_key, iin_key, birth_year, sex, district_id,
        ledger_version, channel, entered_by_id, receipt, created_at, updated_at)
    SELECT CAST(:cycle_id AS INTEGER), CAST(:heading_id AS INTEGER),
        CAST(:voter_key AS VARCHAR), CAST(:iin_key AS VARCHAR),
        CAST(:birth_year AS INTEGER), CAST(:sex AS VARCHAR), CAST(:district_id AS INTEGER),
        1, CAST(:channel AS VARCHAR), CAST(:entered_by_id AS INTEGER), '',
        CAST(:created_at AS TIMESTAMP), CAST(:updated_at AS TIMESTAMP)
    WHERE NOT EXISTS (SELECT FROM found)
    RETURNING id
), choices AS (
    INSERT INTO budget_ballot_choice (ballot_id, proposal_id)
    SELECT added.id, chosen.id FROM added, unnest(CAST(:chosen AS INTEGER[])) AS chosen(id)
    RETURNING ballot_id
), head AS (
    SELECT size, frontier, frozen_at FROM budget_ledger_head
    WHERE cycle_id = :cycle_id
        AND (SELECT count(*) FROM added) >= 0 AND (SELECT count(*) FROM choices) >= 0
    FOR UPDATE
)
SELECT added.id AS added, found.id, found.channel, found.ledger_version,
    head.size, head.frontier, head.frozen_at
FROM (SELECT 1) AS one
LEFT JOIN added ON true
LEFT JOIN (SELECT * FROM found ORDER BY rank LIMIT 1) AS found ON true
LEFT JOIN head ON true
"""
).columns(
    column("added", Integer),
    column("id", Integer),
    column("channel", String),
    column("ledger_version", Integer),
    column("size", Integer),
    column("frontier", JSON),
    column("frozen_at", DateTime),
)
# PostgreSQL, the usual ballots of a group (_pg_add_usual) in one statement: their voters
# locked in id order (two groups sharing voters lock them in the same order), those without
# an earlier ballot in the heading added with their choices, and the ledger head locked
# last. Earlier ballots are looked up person by person on each unique key's whole key (a
# subquery the planner cannot turn into a join): `= ANY(keys)` was planned, on the young
# statistics of a vote's first minutes, as a walk through every ballot of the cycle.
# Its snapshot predates the voters' locks: a ballot of the same person committed
# meanwhile (by a desk) makes the insert fail on the unique keys, and the group is written
# again one by one.
_GROUP_COLUMNS = (
    "voter_key",
    "iin_key",
    "heading_id",
    "birth_year",
    "sex",
    "district_id",
    "created_at",
)
_PG_ADD_GROUP = text(
    """
WITH input AS (
    SELECT * FROM unnest(CAST(:idx AS INTEGER[]), CAST(:voter_keys AS VARCHAR[]),
        CAST(:iin_keys AS VARCHAR[]), CAST(:heading_ids AS INTEGER[]),
        CAST(:birth_years AS INTEGER[]), CAST(:sexs AS VARCHAR[]),
        CAST(:district_ids AS INTEGER[]), CAST(:created_ats AS TIMESTAMP[]))
        AS input(idx, voter_key, iin_key, heading_id, birth_year, sex, district_id, created_at)
), locked AS (
    SELECT id FROM user_account WHERE id = ANY(CAST(:voter_ids AS INTEGER[]))
    ORDER BY id FOR UPDATE
), added AS (
    INSERT INTO budget_ballot (
        cycle_id, heading_id, voter_key, iin_key, birth_year, sex, district_id,
        ledger_version, channel, entered_by_id, receipt, created_at, updated_at)
    SELECT CAST(:cycle_id AS INTEGER), heading_id, voter_key, iin_key, birth_year, sex,
        district_id, 1, 'online', NULL, '', created_at, created_at
    FROM input
    WHERE (SELECT count(*) FROM locked) >= 0 AND NOT EXISTS (
        SELECT FROM budget_ballot
        WHERE cycle_id = :cycle_id AND iin_key = input.iin_key
            AND heading_id = input.heading_id
        UNION ALL
        SELECT FROM budget_ballot
        WHERE cycle_id = :cycle_id AND voter_key = input.voter_key
            AND heading_id = input.heading_id)
    ORDER BY idx
    RETURNING id, iin_key, heading_id
), choices AS (
    INSERT INTO budget_ballot_choice (ballot_id, proposal_id)
    SELECT added.id, chosen.proposal_id
    FROM added JOIN input USING (iin_key, heading_id)
    JOIN unnest(CAST(:c_idx AS INTEGER[]), CAST(:c_proposals AS INTEGER[]))
        AS chosen(idx, proposal_id) ON chosen.idx = input.idx
    RETURNING ballot_id
), head AS (
    SELECT size, frontier, frozen_at FROM budget_ledger_head
    WHERE cycle_id = :cycle_id
        AND (SELECT count(*) FROM added) >= 0 AND (SELECT count(*) FROM choices) >= 0
    FOR UPDATE
)
SELECT added.id, added.iin_key, added.heading_id, head.size, head.frontier, head.frozen_at
FROM added LEFT JOIN head ON true
"""
).columns(
    column("id", Integer),
    column("iin_key", String),
    column("heading_id", Integer),
    column("size", Integer),
    column("frontier", JSON),
    column("frozen_at", DateTime),
)
# SQLite, the earlier ballots of a group's persons in the cycle (_add_usual): two index
# seeks per person (their IIN pseudonym, their account's): one OR of the two read
# every ballot of the cycle.
_EARLIER_BALLOTS = union_all(
    *(
        select(_BALLOTS.c.iin_key, _BALLOTS.c.voter_key, _BALLOTS.c.heading_id).where(
            _BALLOTS.c.cycle_id == bindparam("cycle_id"),
            key.in_(bindparam(f"{key.name}s", expanding=True)),
        )
        for key in (_BALLOTS.c.iin_key, _BALLOTS.c.voter_key)
    )
)
_NEW_BALLOTS = insert(_BALLOTS).returning(_BALLOTS.c.id, _BALLOTS.c.iin_key, _BALLOTS.c.heading_id)
_CLEAR_CHOICES = delete(_CHOICES).where(_CHOICES.c.ballot_id == bindparam("ballot_id"))
_NEW_BALLOT = insert(_BALLOTS).returning(_BALLOTS.c.id)
_ADD_CHOICE = insert(_CHOICES)
