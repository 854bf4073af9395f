"""Database engine settings that the ORM cannot express.

SQLite: WAL so readers never block the writer, foreign keys on, a busy timeout so writers
queue, synchronous=FULL for durability of votes, and write transactions that begin
IMMEDIATE (SQLAlchemy's documented pysqlite recipe) so two concurrent read-then-write
transactions cannot both read and then fail to upgrade their lock.
"""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 30_000
_configured = False


def configure_engines():
    """Install the SQLite listeners once per process; other backends are left alone."""
    global _configured
    if _configured:
        return
    event.listen(Engine, "connect", _on_connect)
    event.listen(Engine, "begin", _on_begin)
    _configured = True


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
        # Long read-only work (exports) asks for a deferred BEGIN: in WAL mode it reads a
        # consistent snapshot without holding the write lock that voters and commenters need.
        deferred = connection.get_execution_options().get("read_only")
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")
