"""Appending to the audit log, checking its chain and reading it back with filters.

`record` only flushes; the caller commits with the action it records, so an action and its
entry are written together or not at all.
"""

from sqlalchemy import select, text

from portal.audit import chain
from portal.audit.models import AuditEntry, utcnow

# Any constant shared by every writer: the PostgreSQL transaction lock that serialises
# appends, held until the appending transaction ends.
APPEND_LOCK = 0x7A0D17


def _lock(session):
    """Serialise appenders. SQLite write transactions already begin IMMEDIATE (one writer)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK})


def code_of(region):
    """The ISO code of a region object, or None (national items)."""
    return getattr(region, "code", None)


def _actor_label(actor):
    if actor is None:
        return ""
    return getattr(actor, "email", None) or str(actor)


def record(session, actor, action, *, target=None, details=None, region_code=None, now=None):
    """Append one hash-chained entry for a privileged action (flush only) and return it."""
    _lock(session)
    head = session.execute(
        select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    prev_id, prev_hash = head if head is not None else (0, chain.GENESIS)
    entry = AuditEntry(
        id=prev_id + 1,
        at=(now or utcnow()).replace(tzinfo=None),
        actor_id=getattr(actor, "id", None),
        actor=_actor_label(actor)[:120],
        action=action[:48],
        target=None if target is None else str(target)[:120],
        region_code=region_code,
        details=chain.canonical(details or {}).decode(),
        prev_hash=prev_hash,
        hash="",
    )
    entry.hash = chain.entry_hash(entry.chain_fields(), prev_hash)
    session.add(entry)
    session.flush()
    return entry


def verify(session, batch=5000):
    """(checked count, None) when the chain is intact, else (index, (entry dict, reason))."""
    rows = (
        e.chain_fields()
        for e in session.scalars(
            select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=batch)
        )
    )
    counted = []

    def counting():
        for row in rows:
            counted.append(1)
            yield row

    broken = chain.first_break(counting())
    return len(counted), broken


def filtered(user, *, action=None, actor=None, since=None, until=None, region=None):
    """The select of entries a staff member or admin may read, newest first, filtered."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc())
    if not user.is_admin:
        code = user.scope_region.code if user.scope_region is not None else None
        statement = statement.where(AuditEntry.region_code == code)
    if action:
        statement = statement.where(AuditEntry.action == action)
    if actor:
        statement = statement.where(AuditEntry.actor.ilike(f"%{actor}%"))
    if since:
        statement = statement.where(AuditEntry.at >= since)
    if until:
        statement = statement.where(AuditEntry.at < until)
    if region:
        statement = statement.where(AuditEntry.region_code == region)
    return statement


def page(session, statement, *, before=None, size=50):
    """Keyset page: entries older than id `before`; returns (entries, next `before` or None)."""
    if before:
        statement = statement.where(AuditEntry.id < before)
    entries = session.scalars(statement.limit(size + 1)).all()
    more = len(entries) > size
    entries = entries[:size]
    return entries, (entries[-1].id if more else None)


def actions(session):
    return session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
