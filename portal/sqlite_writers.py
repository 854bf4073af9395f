"""SQLite writers wait in line instead of in SQLite's busy handler.

SQLite lets one writer in at a time; the others retry from the busy handler, which sleeps
1, 2, 5 … up to 100 ms between tries. Under load a writer that arrives just after the lock
is taken may sleep 100 ms while the lock was free again after one: p99 grows to hundreds of
milliseconds while the lock stands idle. Here every connection that begins IMMEDIATE first
takes this process's lock (threads are woken as soon as it is free) and then an flock on a
file beside the database, which other processes (gunicorn workers, job workers) poll every
0.2-2 ms, and lets go of both right after its COMMIT or ROLLBACK has returned. After the
busy timeout a writer stops waiting in line and goes on to SQLite's own lock, which stays
underneath as before: a process that does not use this module is still kept out.

A connection class (`WriterConnection`) carries the hooks: `database.configure_engines`
passes it to sqlite3.connect for every engine, and `database._on_begin` waits for the turn
before its BEGIN IMMEDIATE. No Flask here.
"""

import fcntl
import os
import sqlite3
import threading
import time

_queues = {}
_queues_lock = threading.Lock()


class _Queue:
    """The line of writers to one database file, in this process."""

    def __init__(self, path):
        self.path = f"{path}-writers"
        self.lock = threading.Lock()
        self.owner = None
        self.fd = None
        self.pid = None

    def enter(self, timeout):
        """Wait for the turn; False if it did not come within `timeout` seconds, or if this
        thread is already in line with another connection (it would wait for itself): the
        caller then goes on to SQLite's own lock and busy timeout, as without this module."""
        if self.owner == threading.get_ident():
            return False
        deadline = time.monotonic() + timeout
        if not self.lock.acquire(timeout=timeout):
            return False
        try:
            if self.fd is None or self.pid != os.getpid():
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self.pid = os.getpid()
            pause = 0.0002
            while True:  # across processes: poll finely (SQLite's busy handler sleeps up to 100 ms)
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        self.lock.release()
                        return False
                    time.sleep(pause)
                    pause = min(pause * 2, 0.002)
        except BaseException:
            self.lock.release()
            raise
        self.owner = threading.get_ident()
        return True

    def leave(self):
        self.owner = None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.lock.release()


def _queue(path):
    with _queues_lock:
        if path not in _queues or _queues[path].pid not in (None, os.getpid()):
            _queues[path] = _Queue(path)  # first use, or a forked child: its own lock
        return _queues[path]


class WriterConnection(sqlite3.Connection):
    """A sqlite3 connection that waits in line before BEGIN IMMEDIATE (`wait_turn`) and
    leaves the line when its COMMIT or ROLLBACK has returned."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        name = os.fspath(database) if not isinstance(database, str) else database
        memory = name in ("", ":memory:") or name.startswith("file::memory:")
        self._queue = None if memory or kwargs.get("uri") else _queue(os.path.abspath(name))
        self._in_line = False

    def wait_turn(self, timeout=30.0):
        """Wait until this connection's turn to write has come (call before BEGIN IMMEDIATE;
        `let_go` if the BEGIN fails). After `timeout` seconds it stops waiting in line."""
        if self._queue is not None and not self._in_line:
            self._in_line = self._queue.enter(timeout)

    def let_go(self):
        if self._in_line:
            self._in_line = False
            self._queue.leave()

    def commit(self):
        try:
            super().commit()
        finally:
            if not self.in_transaction:
                self.let_go()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self.let_go()

    def close(self):
        try:
            super().close()
        finally:
            self.let_go()
