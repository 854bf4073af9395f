"""Cached aggregates: a count too expensive for every request, stored in the database under
a version that the caller derives from the data it counts (e.g. a ballot ledger's size).

    data = cached(session, f"budget.votes:{cycle.id}", version, lambda: count_votes(...))

A reader whose version matches uses the stored data; otherwise it computes, uses, and stores
the new data. Storing happens in a session of its own, as one upsert, so a GET that reads in
a snapshot never turns into a writer, and a failure to store only costs the next reader a
recount. Rows live in the database (not in a process), so every worker and host shares them
and a rolled-back transaction takes its rows with it. This package imports no capability.
"""

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from portal.cache.models import CachedAggregate

log = logging.getLogger(__name__)


def get(session, name):
    """(version, data) stored under `name`, or (None, None)."""
    row = session.execute(
        select(CachedAggregate.version, CachedAggregate.data).where(CachedAggregate.name == name)
    ).first()
    return (row.version, row.data) if row else (None, None)


def get_many(session, names):
    """{name: (version, data)} of those of `names` that are stored, in one query."""
    rows = session.execute(
        select(CachedAggregate.name, CachedAggregate.version, CachedAggregate.data).where(
            CachedAggregate.name.in_(list(names))
        )
    ).all()
    return {row.name: (row.version, row.data) for row in rows}


def put(session, name, version, data):
    """Store `data` under `name` and `version` (in a session of its own; never raises)."""
    bind = session.get_bind()
    try:
        if isinstance(bind, Engine):
            bind = bind.execution_options(sqlite_begin="immediate")
        with Session(bind=bind, join_transaction_mode="create_savepoint") as side:
            insert = pg_insert if side.get_bind().dialect.name == "postgresql" else sqlite_insert
            values = {
                "name": name,
                "version": str(version),
                "data": data,
                "computed_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
            }
            statement = insert(CachedAggregate).values(**values)
            side.execute(
                statement.on_conflict_do_update(
                    index_elements=[CachedAggregate.name],
                    set_={k: statement.excluded[k] for k in ("version", "data", "computed_at")},
                )
            )
            side.commit()
    except Exception:  # noqa: BLE001 - the figures are served anyway; the next reader retries
        log.exception("could not store the cached aggregate %s", name)


def cached(session, name, version, compute):
    """The data stored under `name` if its version is `version`, else `compute()` (stored)."""
    stored_version, data = get(session, name)
    if stored_version == str(version):
        return data
    data = compute()
    put(session, name, version, data)
    return data
