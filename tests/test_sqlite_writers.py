"""SQLite writers wait in line (portal/sqlite_writers): across threads and processes, a
writer never meets SQLite's lock, so it never sleeps in the busy handler."""

import multiprocessing
import sqlite3
import threading

from portal.sqlite_writers import WriterConnection

ROUNDS = 150


def _connect(path):
    connection = sqlite3.connect(
        path, factory=WriterConnection, isolation_level=None, check_same_thread=False
    )
    connection.execute("PRAGMA journal_mode=WAL")
    # No busy timeout: meeting SQLite's write lock at all would raise "database is locked".
    connection.execute("PRAGMA busy_timeout=0")
    return connection


def _write(path, rounds, errors):
    connection = _connect(path)
    for _ in range(rounds):
        connection.wait_turn()
        try:
            connection.execute("BEGIN IMMEDIATE")
            value = connection.execute("SELECT n FROM counter").fetchone()[0]
            connection.execute("UPDATE counter SET n = ?", (value + 1,))
            connection.commit()
        except sqlite3.OperationalError as error:
            errors.append(str(error))
            connection.rollback()
    connection.close()


def _process(path, rounds, queue):
    errors = []
    _write(path, rounds, errors)
    queue.put(errors)


def _database(tmp_path):
    path = str(tmp_path / "line.sqlite")
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE counter (n INTEGER)")
    setup.execute("INSERT INTO counter VALUES (0)")
    setup.close()
    return path


def _count(path):
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT n FROM counter").fetchone()[0]
    finally:
        connection.close()


def test_threads_and_processes_write_in_line_without_meeting_the_lock(tmp_path):
    path = _database(tmp_path)
    errors = []
    threads = [threading.Thread(target=_write, args=(path, ROUNDS, errors)) for _ in range(3)]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [context.Process(target=_process, args=(path, ROUNDS, queue)) for _ in range(2)]
    # Fork before this process opens the database: SQLite's lock state must not be copied
    # into a child (its docs say never to carry open connections across fork; gunicorn
    # forks its workers before they connect).
    for worker in processes + threads:
        worker.start()
    for thread in threads:
        thread.join()
    for _process_ in processes:
        errors += queue.get(timeout=60)
        _process_.join(timeout=60)
    assert errors == []
    assert _count(path) == 5 * ROUNDS  # no lost update either


def test_rollback_and_close_leave_the_line(tmp_path):
    path = _database(tmp_path)
    first, second = _connect(path), _connect(path)
    first.wait_turn()
    first.execute("BEGIN IMMEDIATE")
    first.rollback()
    second.wait_turn()  # would block forever if the rollback had kept the turn
    second.execute("BEGIN IMMEDIATE")
    second.close()
    first.wait_turn()  # closing let go too
    first.execute("BEGIN IMMEDIATE")
    first.commit()
    first.close()


def test_a_second_writer_waits_for_the_first_to_commit(tmp_path):
    path = _database(tmp_path)
    first, second = _connect(path), _connect(path)
    first.wait_turn()
    first.execute("BEGIN IMMEDIATE")
    first.execute("UPDATE counter SET n = 41")
    got_turn = threading.Event()

    def other():
        second.wait_turn()
        got_turn.set()
        second.execute("BEGIN IMMEDIATE")
        second.execute("UPDATE counter SET n = n + 1")
        second.commit()

    thread = threading.Thread(target=other)
    thread.start()
    assert not got_turn.wait(0.3)  # still first's turn
    first.commit()
    thread.join(timeout=10)
    assert got_turn.is_set() and _count(path) == 42
    first.close()
    second.close()
