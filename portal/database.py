"""Database engine settings that the ORM cannot express, and how transactions begin.

SQLite: WAL so readers never block the writer, foreign keys on, a busy timeout so writers
queue, synchronous=FULL for durability of votes.

How a SQLite transaction begins decides who waits for whom:
- A deferred BEGIN reads a WAL snapshot and never waits for writers. Read-only requests
  (GET, HEAD, OPTIONS), views marked `@writes_late`, `start_read`, and every transaction of
  a request after its first commit (template rendering after the write) begin deferred.
- BEGIN IMMEDIATE takes the write lock at once, so two read-then-write transactions cannot
  both read and then fail to upgrade (a deferred transaction that read and then writes fails
  with SQLITE_BUSY_SNAPSHOT if anyone committed meanwhile, whatever the busy timeout). The
  first transaction of other writing requests, `start_write`, and the command line and job
  workers begin IMMEDIATE.
- Hot write paths (a ballot, a sign-in) are `@writes_late` views: they check, hash and
  validate in a snapshot, and their service calls `start_write` right before writing, which
  ends the snapshot and begins IMMEDIATE, so the lock is held only for the writes (the rows
  they depend on are read again under the lock). In a transaction that already holds the
  lock (other requests, tests, PostgreSQL) `start_write` does nothing.
PostgreSQL needs none of this: MVCC readers never wait, and row locks serialise writers.
There a transaction that only read ends with COMMIT, not ROLLBACK (`end_read`): psycopg
forgets its prepared statements at every ROLLBACK.
"""

import sqlite3

from flask import current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, scoped_session

from portal import sqlite_writers

BUSY_TIMEOUT_MS = 30_000
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_configured = False


def configure_engines():
    """Install the SQLite listeners once per process; other backends are left alone."""
    global _configured
    if _configured:
        return
    event.listen(Engine, "connect", _on_connect)
    event.listen(Dialect, "do_connect", _on_do_connect)
    event.listen(Engine, "begin", _on_begin)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_rollback", _after_rollback)
    event.listen(Engine, "before_cursor_execute", _on_execute)
    _configured = True


def init_app(app, db):
    """Install the listeners, and end each request's PostgreSQL transaction that only read
    with COMMIT (`end_read`). Registered after Flask-SQLAlchemy, so it runs before its
    teardown closes the session (teardowns run in reverse order); any other transaction is
    rolled back, as that close would."""
    configure_engines()

    @app.teardown_appcontext
    def _end_reads(error):
        if error is None:
            end_read(db.session)


def end_read(session):
    """End the session's transaction: with COMMIT on PostgreSQL if it ran nothing but
    SELECTs and holds no pending change, else with ROLLBACK.

    psycopg 3 forgets every statement it prepared on the connection at each ROLLBACK, and a
    request that only read always ended with one: no statement of a read-only request was
    ever prepared, so PostgreSQL parsed and planned each again every time (0.05-0.13 ms of
    its CPU a statement on the ballot POST; pg_stat_statements counted a plan per call).
    COMMIT of a transaction that wrote nothing writes nothing and keeps them."""
    session = _real(session)
    if not session.in_transaction():
        return
    connection = session.connection()
    # A flush's statements pass through _on_execute too: _WROTE covers them.
    read_only = (
        connection.dialect.name == "postgresql"
        and not connection.info.get(_WROTE)
        and not (session.new or session.dirty or session.deleted)
    )
    if read_only:
        try:
            session.commit()
            return
        except SQLAlchemyError:  # a broken connection: the rollback below cleans up
            pass
    session.rollback()


def writes_late(view):
    """Mark a view whose service calls `start_write` before it writes: its request reads in
    a snapshot and takes the SQLite write lock only for the writes."""
    view.writes_late = True
    return view


def start_read(session):
    """Begin the session's next transaction as a snapshot read (SQLite: deferred BEGIN).

    Call it before the session's first query in the transaction. Do not write in it."""
    _restart(session, read_only=True)


def start_write(session):
    """Make sure the session's transaction holds the write lock before it writes.

    In a SQLite snapshot read (a deferred BEGIN) it ends the snapshot and begins IMMEDIATE;
    ORM objects are expired, so whatever the write checks is read again under the lock.
    A transaction that already writes, or another database, is left as it is."""
    session = _real(session)
    if session.in_transaction():
        connection = session.connection()
        if connection.dialect.name != "sqlite" or connection.info.get(_MODE) != "deferred":
            return
        if session.info.get(_FLUSHED):
            raise RuntimeError("this snapshot transaction already wrote; start_write comes first")
        if not (session.new or session.dirty or session.deleted):
            _upgrade(session, connection)
            return
    _restart(session, sqlite_begin="immediate")


def _upgrade(session, connection):
    """End the snapshot and begin IMMEDIATE on the same connection, expiring the loaded
    objects as a new transaction would: a rollback would hand the connection back to the
    pool and check it out again (with its ping), which cost more than the two statements."""
    if connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("ROLLBACK")
    connection.info[_MODE] = "immediate"
    _begin_immediate(connection)
    session.expire_all()


_MODE = "tynda_begin"
_FLUSHED = "tynda_flushed"
_WROTE = "tynda_wrote"


def _real(session):
    return session() if isinstance(session, scoped_session) else session


def _restart(session, **options):
    session = _real(session)
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


def _on_execute(connection, _cursor, statement, *_args):
    # Anything but a plain SELECT may write (a CTE may insert): end_read rolls it back.
    if statement.lstrip()[:6].upper() != "SELECT":
        connection.info[_WROTE] = True


def _on_begin(connection):
    connection.info[_WROTE] = False
    if connection.dialect.name == "sqlite":
        immediate = _immediate(connection)
        connection.info[_MODE] = "immediate" if immediate else "deferred"
        if not immediate:
            connection.exec_driver_sql("BEGIN")
            return
        _begin_immediate(connection)


def _begin_immediate(connection):
    raw = connection.connection.dbapi_connection
    writer = isinstance(raw, sqlite_writers.WriterConnection)
    if writer:
        raw.wait_turn(BUSY_TIMEOUT_MS / 1000)
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if writer:
            raw.let_go()
        raise


def _on_do_connect(dialect, _record, _cargs, cparams):
    """Every SQLite connection is a WriterConnection: writers wait in line (sqlite_writers)."""
    if dialect.name == "sqlite":
        cparams.setdefault("factory", sqlite_writers.WriterConnection)


def _immediate(connection):
    options = connection.get_execution_options()
    if options.get("sqlite_begin") == "immediate":
        return True
    if options.get("read_only"):
        return False
    if has_request_context():
        if request.method in SAFE_METHODS or g.get("_tynda_committed"):
            return False
        view = current_app.view_functions.get(request.endpoint)
        return not getattr(view, "writes_late", False)
    return True


def _after_commit(session):
    session.info.pop(_FLUSHED, None)
    if has_request_context():
        g._tynda_committed = True


def _after_flush(session, _context):
    session.info[_FLUSHED] = True


def _after_rollback(session):
    session.info.pop(_FLUSHED, None)
