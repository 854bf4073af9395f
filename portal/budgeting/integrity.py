"""Trust in a budget vote: frozen rules, the stored ballot ledger and the server-side check.

Services only flush; the view or command commits. No Flask imports.

* Rules freeze when voting opens: `freeze` stamps the cycle (database triggers then refuse
  changes to the rule, budget, limits, district and the projects on the ballot) and
  `check_cycle_change` refuses the same in the services with a clear code first.
* Every cast or replaced ballot appends a leaf to the cycle's ledger (`append`) under a lock
  on the cycle's ledger head row, so two appends can never take the same position.
* `verify_cycle` recomputes everything from the database and names the first mismatch.
"""

import hashlib
import hmac
import json

from sqlalchemy import JSON, bindparam, func, insert, inspect, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value

from portal.accounts.models import utcnow
from portal.budgeting import domain, ledger
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.models import (
    Ballot,
    BallotChoice,
    BudgetCycle,
    BudgetHeading,
    CycleDateChange,
    CycleResult,
    LedgerChunk,
    LedgerHead,
    LedgerLeaf,
    Proposal,
)

# Leaves per cached chunk root: a proof reads at most two chunks of leaves plus one row per
# chunk, whatever the ledger's size.
CHUNK = 1024
FROZEN_FIELDS = (
    "budget",
    "cost_cap",
    "min_votes",
    "ballot_rule",
    "max_choices",
    "winner_rule",
    "district_id",
    "ballots_final",
)
FIXED_DATES = ("proposals_open_at", "review_open_at", "voting_open_at")
EXTENDABLE_DATES = ("voting_close_at", "implementation_at")
VOTING_OR_LATER = ("voting", "results", "implementation")


class IntegrityFailure(BudgetRuleError):
    """A refused change to a frozen cycle or a published result."""


def ballot_key(config):
    """The key of voter pseudonyms: BALLOT_KEY, else the receipt secret, else SECRET_KEY.

    Keep it out of the database and never rotate it during a vote (a voter's ballot is
    found by it)."""
    return config.get("BALLOT_KEY") or config.get("BUDGET_RECEIPT_SECRET") or config["SECRET_KEY"]


def voter_key(key, cycle_id, voter_id):
    """The keyed pseudonym that stands for a voter on their ballot row."""
    message = f"tynda-voter|{cycle_id}|{voter_id}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def iin_voter_key(key, cycle_id, iin_hash):
    """The keyed pseudonym of a person (by their IIN hash), whichever channel they vote by."""
    message = f"tynda-person|{cycle_id}|{iin_hash}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


# ------------------------------------------------------------------ frozen rules
def is_frozen(cycle, now=None):
    return cycle.rules_frozen_at is not None or cycle.phase(now) in VOTING_OR_LATER


def freeze(cycle, now=None, session=None):
    """Stamp the cycle's rules as frozen (idempotent and race-free).

    With a session the stamp is one conditional UPDATE, so concurrent first ballots never
    overwrite each other's stamp (the triggers refuse changing it); the loaded object is
    updated without being marked dirty.
    """
    if cycle.rules_frozen_at is not None:
        return
    stamp = now or utcnow()
    if session is None:
        cycle.rules_frozen_at = stamp
        return
    session.execute(
        update(BudgetCycle)
        .where(BudgetCycle.id == cycle.id, BudgetCycle.rules_frozen_at.is_(None))
        .values(rules_frozen_at=stamp)
        .execution_options(synchronize_session=False)
    )
    if isinstance(cycle, BudgetCycle):
        set_committed_value(cycle, "rules_frozen_at", stamp)
    else:  # the plain row of a ballot POST (services.VotingCycle)
        cycle.rules_frozen_at = stamp


def snapshot(cycle):
    return {name: getattr(cycle, name) for name in FROZEN_FIELDS + FIXED_DATES + EXTENDABLE_DATES}


def _minute(value):
    return value.replace(second=0, microsecond=0) if value is not None else None


def check_cycle_change(session, actor, cycle, before, reason, now=None):
    """After the new values are applied to a frozen cycle: refuse rule changes and earlier
    dates, restore what was refused, and record each extended date with its public reason.

    Dates are compared to the minute (forms carry no seconds).
    """
    changed = [name for name in FROZEN_FIELDS if getattr(cycle, name) != before[name]]
    for name in FIXED_DATES:
        if _minute(getattr(cycle, name)) != _minute(before[name]):
            changed.append(name)
    moved = []
    for name in EXTENDABLE_DATES:
        new, old = getattr(cycle, name), before[name]
        if _minute(new) == _minute(old) or (new is None and old is None):
            setattr(cycle, name, old)
        elif old is not None and (new is None or new < old):
            changed.append(name)
        else:
            moved.append(name)
    if changed:
        _restore(cycle, before)
        raise IntegrityFailure("rules_frozen", field=changed[0])
    for name in FIXED_DATES:
        setattr(cycle, name, before[name])
    reason = (reason or "").strip()
    if moved and len(reason) < 10:
        _restore(cycle, before)
        raise IntegrityFailure("extension_reason")
    now = now or utcnow()
    for name in moved:
        session.add(
            CycleDateChange(
                cycle_id=cycle.id,
                field=name,
                old_value=before[name],
                new_value=getattr(cycle, name),
                reason=reason,
                actor_id=actor.id,
                at=now,
            )
        )
    return moved


def _restore(cycle, before):
    for name, value in before.items():
        setattr(cycle, name, value)


# ------------------------------------------------------------------ the ledger
def _head(session, cycle_id, lock=False):
    """The cycle's ledger head, created empty on first use; locked for appending."""
    dialect = session.get_bind().dialect.name
    values = {
        "cycle_id": cycle_id,
        "size": 0,
        "root": ledger.EMPTY_ROOT.hex(),
        "frontier": [],
    }
    if lock:
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(make(LedgerHead).values(**values).on_conflict_do_nothing())
    statement = select(LedgerHead).where(LedgerHead.cycle_id == cycle_id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    head = session.scalar(statement)
    return head


def head_of(session, cycle):
    """(size, root hex, frozen_at) of the cycle's ledger; an empty ledger has size 0."""
    head = _head(session, cycle.id)
    if head is None:
        return 0, ledger.EMPTY_ROOT.hex(), None
    return head.size, head.root, head.frozen_at


def _locked_head(session, cycle_id):
    """(size, frontier, frozen_at) of the cycle's ledger head, row-locked for appending.

    One SELECT when the head exists; on SQLite the transaction's BEGIN IMMEDIATE is the
    lock, on PostgreSQL FOR UPDATE."""
    connection = session.connection()
    row = connection.execute(_LOCK_HEAD, {"cycle_id": cycle_id}).first()
    if row is None:
        _head(session, cycle_id, lock=True)  # creates it, race-free
        row = connection.execute(_LOCK_HEAD, {"cycle_id": cycle_id}).first()
    return row


# Built once: every ballot runs them (see ballots.write_ballots).
_HEADS, _LEAVES = LedgerHead.__table__, LedgerLeaf.__table__
_LOCK_HEAD = (
    select(_HEADS.c.size, _HEADS.c.frontier, _HEADS.c.frozen_at)
    .where(_HEADS.c.cycle_id == bindparam("cycle_id"))
    .with_for_update()
)
_ADD_LEAF = insert(_LEAVES)
_MOVE_HEAD = (
    update(_HEADS)
    .where(_HEADS.c.cycle_id == bindparam("head_cycle"))
    .values(size=bindparam("h_size"), frontier=bindparam("h_frontier"), root=bindparam("h_root"))
)
_BALLOTS = Ballot.__table__
STAMP_BALLOT = (
    update(_BALLOTS)
    .where(_BALLOTS.c.id == bindparam("b_id"))
    .values(
        receipt=bindparam("b_receipt"),
        ledger_version=bindparam("b_version"),
        updated_at=bindparam("b_at"),
    )
)
# PostgreSQL: the leaves, their ballots' receipts and the moved head in one statement.
_PG_APPEND_GROUP = text(
    """
WITH leaf AS (
    INSERT INTO budget_ledger_leaf (cycle_id, position, ballot_id, data, hash)
    SELECT CAST(:cycle_id AS INTEGER), leaf.* FROM unnest(CAST(:positions AS INTEGER[]),
        CAST(:ballot_ids AS INTEGER[]), CAST(:datas AS TEXT[]), CAST(:hashes AS VARCHAR[]))
        AS leaf(position, ballot_id, data, hash)
), stamp AS (
    UPDATE budget_ballot SET receipt = stamp.receipt, ledger_version = stamp.version,
        updated_at = stamp.at
    FROM unnest(CAST(:b_ids AS INTEGER[]), CAST(:b_receipts AS VARCHAR[]),
        CAST(:b_versions AS INTEGER[]), CAST(:b_ats AS TIMESTAMP[]))
        AS stamp(id, receipt, version, at)
    WHERE budget_ballot.id = stamp.id
)
UPDATE budget_ledger_head SET size = CAST(:h_size AS INTEGER), root = CAST(:h_root AS VARCHAR),
    frontier = :h_frontier
WHERE cycle_id = CAST(:head_cycle AS INTEGER)
"""
).bindparams(bindparam("h_frontier", type_=JSON))


def append(session, cycle, entries, head=None, stamps=()):
    """Append leaves for [(ballot_id, version, choices)]; returns the first new position.

    `head`: the head's (size, frontier, frozen_at) when the caller has read it under its
    lock already. `stamps`: the receipts of the ballots appended ([{"b_id", "b_receipt",
    "b_version", "b_at"}]), written here: on PostgreSQL in the same statement as the leaves
    and the head (one round trip while every other ballot of the cycle waits for the head).
    """
    cycle_id = _id_of(cycle)
    connection = session.connection()
    stamps = list(stamps)
    if stamps and (head is None or connection.dialect.name != "postgresql"):
        connection.execute(STAMP_BALLOT, stamps)
        stamps = []
    size, stored_frontier, frozen_at = head or _locked_head(session, cycle_id)
    if frozen_at is not None:
        raise IntegrityFailure("ledger_frozen")
    frontier = ledger.Frontier.load(size, stored_frontier)
    first = size
    rows, chunks = [], []
    for ballot_id, version, choices in entries:
        data = ledger.leaf_data(cycle_id, ballot_id, version, choices)
        leaf = ledger.leaf_hash(data)
        rows.append(
            {
                "cycle_id": cycle_id,
                "position": frontier.size,
                "ballot_id": ballot_id,
                "data": data.decode(),
                "hash": leaf.hex(),
            }
        )
        frontier.append(leaf)
        if frontier.size % CHUNK == 0:
            chunks.append(frontier.size // CHUNK - 1)
    moved = {
        "head_cycle": cycle_id,
        "h_size": frontier.size,
        "h_frontier": frontier.dump(),
        "h_root": frontier.root().hex(),
    }
    if stamps and not chunks:
        connection.execute(_PG_APPEND_GROUP, {**_columns(rows, stamps, cycle_id), **moved})
    else:
        if stamps:
            connection.execute(STAMP_BALLOT, stamps)
        if rows:
            connection.execute(_ADD_LEAF, rows)
        for index in chunks:
            hashes = _leaf_hashes(session, cycle_id, index * CHUNK, (index + 1) * CHUNK)
            session.execute(
                insert(LedgerChunk).values(
                    cycle_id=cycle_id, index=index, hash=ledger.root(hashes).hex()
                )
            )
        connection.execute(_MOVE_HEAD, moved)
    # A head loaded earlier in this session would be stale now.
    head = session.identity_map.get(inspect(LedgerHead).identity_key_from_primary_key((cycle_id,)))
    if head is not None:
        session.expire(head)
    return first


def _columns(rows, stamps, cycle_id):
    """The leaves and their ballots' receipts as arrays (`_PG_APPEND_GROUP`). A ballot
    written twice in one group keeps its last receipt: one UPDATE changes a row once."""
    last = {stamp["b_id"]: stamp for stamp in stamps}
    return {
        "cycle_id": cycle_id,
        "positions": [row["position"] for row in rows],
        "ballot_ids": [row["ballot_id"] for row in rows],
        "datas": [row["data"] for row in rows],
        "hashes": [row["hash"] for row in rows],
        **{
            f"{name}s": [stamp[name] for stamp in last.values()]
            for name in ("b_id", "b_receipt", "b_version", "b_at")
        },
    }


def _id_of(cycle):
    """The cycle's id without loading an expired object (start_write expires them)."""
    if isinstance(cycle, int):
        return cycle
    identity = inspect(cycle).identity
    return identity[0] if identity else cycle.id


def freeze_ledger(session, cycle, now=None):
    """Freeze the head at close: its size and root never change afterwards."""
    head = _head(session, cycle.id, lock=True)
    if head.frozen_at is None:
        head.frozen_at = now or utcnow()
    session.flush()
    return head


def _leaf_hashes(session, cycle_id, start, stop):
    return [
        bytes.fromhex(h)
        for h in session.scalars(
            select(LedgerLeaf.hash)
            .where(
                LedgerLeaf.cycle_id == cycle_id,
                LedgerLeaf.position >= start,
                LedgerLeaf.position < stop,
            )
            .order_by(LedgerLeaf.position)
        )
    ]


def latest_leaf(session, cycle_id, ballot_id):
    return session.scalar(
        select(LedgerLeaf)
        .where(LedgerLeaf.cycle_id == cycle_id, LedgerLeaf.ballot_id == ballot_id)
        .order_by(LedgerLeaf.position.desc())
        .limit(1)
    )


def proof(session, cycle, ballot):
    """The inclusion proof of the ballot's current leaf, or None if it has no leaf.

    {"leaf_index", "tree_size", "root", "leaf_data", "leaf_hash", "audit_path"}: the path
    within the leaf's chunk (from its leaves) followed by the path among chunk roots.
    """
    leaf = latest_leaf(session, cycle.id, ballot.id)
    if leaf is None:
        return None
    head = _head(session, cycle.id)
    size = head.size
    index = leaf.position
    chunk = index // CHUNK
    start = chunk * CHUNK
    own = _leaf_hashes(session, cycle.id, start, min(start + CHUNK, size))
    inner = ledger.path(index - start, own)
    full = size // CHUNK
    roots = [
        bytes.fromhex(h)
        for h in session.scalars(
            select(LedgerChunk.hash)
            .where(LedgerChunk.cycle_id == cycle.id, LedgerChunk.index < full)
            .order_by(LedgerChunk.index)
        )
    ]
    if size % CHUNK:
        last = own if chunk == full else _leaf_hashes(session, cycle.id, full * CHUNK, size)
        roots.append(ledger.root(last))
    outer = ledger.path(chunk, roots) if len(roots) > 1 else []
    return {
        "leaf_index": index,
        "tree_size": size,
        "root": head.root,
        "algorithm": ledger.ALGORITHM,
        "leaf_data": leaf.data,
        "leaf_hash": leaf.hash,
        "audit_path": [h.hex() for h in inner + outer],
    }


def leaves(session, cycle_id, batch=5000):
    """Every leaf's public data, in order (streamed)."""
    return session.scalars(
        select(LedgerLeaf.data)
        .where(LedgerLeaf.cycle_id == cycle_id)
        .order_by(LedgerLeaf.position)
        .execution_options(yield_per=batch)
    )


# ------------------------------------------------------------------ the server-side check
def verify_cycle(session, cycle, secret=None):
    """None when ballots, ledger and published result agree; else the first mismatch."""
    size, root_hex, _frozen = head_of(session, cycle)
    frontier = ledger.Frontier()
    latest = {}
    for position, leaf in enumerate(
        session.scalars(
            select(LedgerLeaf)
            .where(LedgerLeaf.cycle_id == cycle.id)
            .order_by(LedgerLeaf.position)
            .execution_options(yield_per=5000)
        )
    ):
        if leaf.position != position:
            return f"ledger leaf {position} is missing"
        data = leaf.data.encode()
        if ledger.leaf_hash(data).hex() != leaf.hash:
            return f"ledger leaf {position} does not match its hash"
        body = json.loads(data)
        if body.get("cycle") != cycle.id or body.get("ballot") != leaf.ballot_id:
            return f"ledger leaf {position} names another cycle or ballot"
        frontier.append(bytes.fromhex(leaf.hash))
        latest[leaf.ballot_id] = (position, body)
    if frontier.size != size or frontier.root().hex() != root_hex:
        return f"ledger head (size {size}) does not match its leaves (size {frontier.size})"
    for chunk in session.scalars(select(LedgerChunk).where(LedgerChunk.cycle_id == cycle.id)):
        hashes = _leaf_hashes(session, cycle.id, chunk.index * CHUNK, (chunk.index + 1) * CHUNK)
        if ledger.root(hashes).hex() != chunk.hash:
            return f"ledger chunk {chunk.index} does not match its leaves"
    ballots = {}
    for ballot_id, proposal_id in session.execute(
        select(Ballot.id, BallotChoice.proposal_id)
        .outerjoin(BallotChoice, BallotChoice.ballot_id == Ballot.id)
        .where(Ballot.cycle_id == cycle.id)
    ):
        ballots.setdefault(ballot_id, set())
        if proposal_id is not None:
            ballots[ballot_id].add(proposal_id)
    rows = {b.id: b for b in session.scalars(select(Ballot).where(Ballot.cycle_id == cycle.id))}
    for ballot_id in sorted(ballots):
        if ballot_id not in latest:
            return f"ballot {ballot_id} is not in the ledger"
        position, body = latest[ballot_id]
        if sorted(ballots[ballot_id]) != body["choices"]:
            return f"ballot {ballot_id}: its choices differ from ledger leaf {position}"
        if rows[ballot_id].ledger_version != body["v"]:
            return f"ballot {ballot_id}: its version differs from ledger leaf {position}"
        if secret and rows[ballot_id].receipt and not _receipt_ok(rows[ballot_id], secret):
            return f"ballot {ballot_id}: its receipt does not match its choices"
    for ballot_id in sorted(set(latest) - set(ballots)):
        return f"ledger leaf {latest[ballot_id][0]} names ballot {ballot_id}, which is gone"
    heading_of = {ballot_id: row.heading_id for ballot_id, row in rows.items()}
    return _check_results(session, cycle, ballots, size, root_hex, heading_of)


def _receipt_ok(ballot, secret):
    expected = domain.receipt_code(ballot.cycle_id, ballot.id, ballot.project_ids, secret)
    return hmac.compare_digest(expected, ballot.receipt)


def _check_results(session, cycle, ballots, size, root_hex, heading_of):
    """Recount approvals and rerun the recorded engine rule for every latest published version
    of every heading, on that heading's projects, ballots and budget."""
    from portal.budgeting import tally
    from portal.budgeting.winners import ENGINE_RULES

    published = session.scalars(
        select(CycleResult)
        .where(CycleResult.cycle_id == cycle.id, CycleResult.published_at.is_not(None))
        .order_by(CycleResult.heading_id, CycleResult.rule, CycleResult.version)
    ).all()
    latest = {}
    for result in published:
        latest[(result.heading_id, result.rule)] = result
    headings = {
        h.id: h
        for h in session.scalars(select(BudgetHeading).where(BudgetHeading.cycle_id == cycle.id))
    }
    for (heading_id, rule), result in sorted(latest.items()):
        heading = headings[heading_id]
        costs = {
            p.id: p.cost
            for p in session.scalars(
                select(Proposal).where(
                    Proposal.cycle_id == cycle.id,
                    Proposal.heading_id == heading_id,
                    Proposal.status == "feasible",
                )
            )
        }
        pot = [
            chosen for ballot_id, chosen in ballots.items() if heading_of[ballot_id] == heading_id
        ]
        votes = {pid: 0 for pid in costs}
        for chosen in pot:
            for pid in chosen:
                if pid in votes:
                    votes[pid] += 1
        data = result.data
        label = f"result {rule} v{result.version}"
        if len(headings) > 1:
            label += f" of heading {heading.name!r}"
        head = data.get("ledger")
        if head and (head.get("size"), head.get("root")) != (size, root_hex):
            return f"{label}: the published ledger head differs"
        if {str(k): v for k, v in costs.items()} != data.get("costs"):
            return f"{label}: project costs differ from the ballot"
        published_votes = data.get("votes") or {}
        for pid in sorted(costs):
            if votes[pid] != published_votes.get(str(pid)):
                return f"{label}: votes for project {pid} differ"
        min_votes = data.get("min_votes")
        eligible = {p: c for p, c in costs.items() if not min_votes or votes[p] >= min_votes}
        engine = data.get("engine_rule") or ENGINE_RULES[rule]
        if engine not in tally.RULES:
            engine = "greedy"  # the old no-engine fallback was greedy
        instance = tally.Instance(
            budget=int(heading.budget),
            projects=tuple(tally.Project(str(p), int(c)) for p, c in eligible.items()),
            ballots=tuple(frozenset(str(p) for p in b if p in eligible) for b in pot),
        )
        selected = sorted(int(p) for p in tally.run(instance, engine).selected)
        if selected != sorted(data.get("selected", [])):
            return f"{label}: the winners differ"
    return None


def count(session, cycle):
    return session.scalar(select(func.count()).where(LedgerLeaf.cycle_id == cycle.id))
