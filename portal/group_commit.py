"""Group commit: the writes of many requests in one transaction and one durable flush.

A ballot is acknowledged only once its COMMIT has returned, so committed one by one every
ballot waits for its own flush to disk while holding what orders ballots: on SQLite the one
write lock, on PostgreSQL its cycle's ledger head row. Ballots then go one flush at a time,
whatever the cores. Here a request hands its checked write to its process's writer thread
and waits; the writer takes every write waiting (up to `max_batch`), writes them in one
transaction, commits once and answers each request with its own outcome. Under light load a
group holds one write and this is an ordinary transaction; under load the flush and the
lock are shared by everyone who arrived meanwhile.

`write(session, items)` returns one outcome per item: a value, or an exception instance
the item's request raises (a refusal that wrote nothing for it). If it raises instead, the
group is rolled back and every item written again alone, so one bad write never sinks the
others. Nothing is acknowledged before the commit that holds it has returned: a process
killed mid-group loses only writes nobody was told were stored.

No capability is imported here: budgeting passes its function (services.write_ballots).
"""

import logging
import os
import queue
import threading

from portal.extensions import db

log = logging.getLogger(__name__)
_writers_lock = threading.Lock()


class _Pending:
    __slots__ = ("item", "done", "outcome", "failed")

    def __init__(self, item):
        self.item, self.done = item, threading.Event()
        self.outcome, self.failed = None, False


class GroupWriter:
    """One writer thread per process (created on first use, again after a fork)."""

    def __init__(self, app, write, *, max_batch=64):
        self.app, self.write, self.max_batch = app, write, max_batch
        self.queue = queue.SimpleQueue()
        self.pid = os.getpid()
        self.thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self.thread.start()

    def submit(self, item, timeout=60):
        """Write `item` in the next group; its outcome, or raise what refused it."""
        pending = _Pending(item)
        self.queue.put(pending)
        if not pending.done.wait(timeout):
            raise TimeoutError("the group writer did not answer")
        if pending.failed:
            raise pending.outcome
        return pending.outcome

    def _run(self):
        with self.app.app_context():
            while True:
                group = [self.queue.get()]
                while len(group) < self.max_batch:
                    try:
                        group.append(self.queue.get_nowait())
                    except queue.Empty:
                        break
                try:
                    self._write(group)
                except BaseException as error:  # never leave a request waiting
                    log.exception("group commit failed")
                    db.session.remove()
                    for pending in group:
                        if not pending.done.is_set():
                            _answer(pending, error, failed=True)

    def _write(self, group):
        session = db.session
        try:
            outcomes = self.write(session, [p.item for p in group])
            if all(isinstance(o, BaseException) for o in outcomes):
                session.rollback()  # nothing to keep (and PostgreSQL may refuse the commit)
            else:
                session.commit()
        except Exception as error:
            session.rollback()
            if len(group) == 1:
                _answer(group[0], error, failed=True)
                return
            log.info("group of %d failed (%s); writing them one by one", len(group), error)
            for pending in group:
                self._write([pending])
            return
        for pending, outcome in zip(group, outcomes, strict=True):
            _answer(pending, outcome, failed=isinstance(outcome, BaseException))


def _answer(pending, outcome, *, failed):
    pending.outcome, pending.failed = outcome, failed
    pending.done.set()


def writer(app, name, write, **options):
    """The process's GroupWriter `name` for `app` (or current_app), started on first use."""
    app = getattr(app, "_get_current_object", lambda: app)()
    writers = app.extensions.setdefault("group_writers", {})
    found = writers.get(name)
    if found is not None and found.pid == os.getpid() and found.thread.is_alive():
        return found
    with _writers_lock:
        found = writers.get(name)
        if found is None or found.pid != os.getpid() or not found.thread.is_alive():
            found = writers[name] = GroupWriter(app, write, **options)
        return found
