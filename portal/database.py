"""Database engine settings that the ORM cannot express, and how transactions begin.

SQLite: WAL so readers never block the writer, foreign keys on, a busy timeout so writers
queue, synchronous=FULL for durability of votes.

How a SQLite transaction begins decides who waits for whom:
- A deferred BEGIN reads a WAL snapshot and never waits for writers. Read-only requests
  (GET, HEAD, OPTIONS), `start_read`, and every transaction of a request after its first
  commit (template rendering after the write) begin deferred.
- BEGIN IMMEDIATE takes the write lock at once, so two read-then-write transactions cannot
  both read and then fail to upgrade (a deferred transaction that read and then writes fails
  with SQLITE_BUSY_SNAPSHOT if anyone committed meanwhile, whatever the busy timeout). The
  first transaction of a writing request, `start_write`, and the command line and job
  workers begin IMMEDIATE. Slow work (password hashing, tallies) happens in a deferred read
  transaction or outside one, then `start_write` takes the lock only for the writes.
PostgreSQL needs none of this: MVCC readers never wait, and row locks serialise writers.
"""

import sqlite3

from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

BUSY_TIMEOUT_MS = 30_000
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_configured = False


def configure_engines():
    """Install the SQLite listeners once per process; other backends are left alone."""
    global _configured
    if _configured:
        return
    event.listen(Engine, "connect", _on_connect)
    event.listen(Engine, "begin", _on_begin)
    event.listen(Session, "after_commit", _after_commit)
    _configured = True


def start_read(session):
    """Begin the session's next transaction as a snapshot read (SQLite: deferred BEGIN).

    Call it before the session's first query in the transaction. Do not write in it."""
    _restart(session, read_only=True)


def start_write(session):
    """End any read transaction and begin a write transaction that holds the write lock
    (SQLite: BEGIN IMMEDIATE) until commit. ORM objects are expired, so whatever the write
    checks is read again under the lock. Nothing may be pending when it is called."""
    _restart(session, sqlite_begin="immediate")


def _restart(session, **options):
    if isinstance(session, scoped_session):
        session = session()
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("unflushed changes would be lost: call this before writing")
    if session.in_transaction():
        session.rollback()
    session.connection(execution_options=options)


def _on_connect(dbapi_connection, _record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Hand transaction control to SQLAlchemy (the pysqlite driver would otherwise BEGIN late).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _on_begin(connection):
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _immediate(connection) else "BEGIN")


def _immediate(connection):
    options = connection.get_execution_options()
    if options.get("sqlite_begin") == "immediate":
        return True
    if options.get("read_only"):
        return False
    if has_request_context():
        return request.method not in SAFE_METHODS and not g.get("_tynda_committed")
    return True


def _after_commit(_session):
    if has_request_context():
        g._tynda_committed = True
