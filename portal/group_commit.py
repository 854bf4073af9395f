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

No capability is imported here: budgeting passes its function (ballots.write_ballots).
"""

import contextlib
import logging
import os
import pickle
import queue
import selectors
import socket
import struct
import threading

from portal.extensions import db

log = logging.getLogger(__name__)
_writers_lock = threading.Lock()


class Unconfirmed(Exception):  # noqa: N818  (a state, as Unreachable: not an "Error")
    """The write was handed over and no outcome came back in time (or the machine's writer
    went away): it may be stored or not. Never written twice: a retry is refused as a
    second ballot or replaces it."""


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
            raise Unconfirmed(f"the group writer did not answer in {timeout} s")
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
        for pending, (failed, outcome) in zip(
            group, write_group(self.write, [p.item for p in group]), strict=True
        ):
            _answer(pending, outcome, failed=failed)


def write_group(write, items):
    """Write `items` with `write(session, items)` in one transaction and commit once:
    [(failed, outcome)] per item. If the group raises, it is rolled back and every item
    written again alone (its own exception is then its outcome)."""
    session = db.session
    try:
        outcomes = write(session, items)
        if all(isinstance(o, BaseException) for o in outcomes):
            session.rollback()  # nothing to keep (and PostgreSQL may refuse the commit)
        else:
            session.commit()
    except Exception as error:
        session.rollback()
        if len(items) == 1:
            return [(True, error)]
        log.info("group of %d failed (%s); writing them one by one", len(items), error)
        return [write_group(write, [item])[0] for item in items]
    return [(isinstance(o, BaseException), o) for o in outcomes]


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


# ------------------------------------------------------------------ one writer per machine
# On SQLite the workers' writer threads take the one write lock in turn, and each waits for
# its process's GIL behind that process's request threads after every SQLite call. One
# writer process for the machine (`flask --app wsgi budgeting ballot-writer`) has neither:
# workers send it their checked writes over a Unix socket (readable by its user only) and
# wait for the outcome. On PostgreSQL, where a writer thread per worker lost to the GIL,
# the one process writes a group under one lock of what orders the writes and one flush.
# Items and outcomes are pickled: both ends are this portal's own processes of one user,
# as trusted as the database file beside the socket.
_LENGTH = struct.Struct("!I")


class Unreachable(ConnectionError):
    """No writer answers at the socket; nothing was sent (the caller may write itself)."""


def _send(sock, obj):
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_LENGTH.pack(len(data)) + data)


def _exactly(sock, size):
    chunks = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            raise ConnectionError("the writer closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _receive(sock):
    (size,) = _LENGTH.unpack(_exactly(sock, _LENGTH.size))
    return pickle.loads(_exactly(sock, size))  # noqa: S301  (our own processes, see above)


def serve(path, write, *, ready=None, max_batch=64):
    """Answer writes sent to the Unix socket `path`, forever, in the app context: every
    item that has arrived (up to `max_batch`) is written as one group (`write_group`).

    One thread does it all (a selector over the connections): threads here would only
    take the GIL from the writing between two statements."""
    listener = _listen(path)
    if ready is not None:
        ready.set()
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    buffers, waiting = {}, []  # waiting: (connection, item) in arrival order
    while True:
        for key, _events in selector.select(timeout=0 if waiting else None):
            if key.fileobj is listener:
                connection, _address = listener.accept()
                selector.register(connection, selectors.EVENT_READ)
                buffers[connection] = bytearray()
            elif not _read(key.fileobj, buffers[key.fileobj], waiting):
                selector.unregister(key.fileobj)
                del buffers[key.fileobj]
                key.fileobj.close()
        if not waiting:
            continue
        group, waiting = waiting[:max_batch], waiting[max_batch:]
        try:
            results = write_group(write, [item for _connection, item in group])
        except Exception as error:  # noqa: BLE001  (the database went away: tell each, go on)
            log.exception("the writer could not write a group")
            db.session.remove()
            results = [(True, RuntimeError(str(error)))] * len(group)
        for (connection, _item), (failed, outcome) in zip(group, results, strict=True):
            if failed and not _picklable(outcome):
                outcome = RuntimeError(str(outcome))
            # A worker that went away: its next read closes the connection.
            with contextlib.suppress(OSError):
                _send(connection, (failed, outcome))


def _listen(path):
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
        raise RuntimeError(f"another writer already listens at {path}")
    except (FileNotFoundError, ConnectionRefusedError):
        pass
    finally:
        probe.close()
    if os.path.exists(path):
        os.unlink(path)  # left by a writer that was killed
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_mask = os.umask(0o177)  # the socket is born readable by this user only
    try:
        listener.bind(path)
    finally:
        os.umask(old_mask)
    listener.listen(1024)
    return listener


def _read(connection, buffer, waiting):
    """Take what the connection has sent into `buffer` and every whole item into
    `waiting`; False once the worker closed it."""
    try:
        data = connection.recv(1 << 16)
    except OSError:
        return False
    if not data:
        return False
    buffer += data
    while len(buffer) >= _LENGTH.size:
        (size,) = _LENGTH.unpack_from(buffer)
        if len(buffer) < _LENGTH.size + size:
            break
        item = pickle.loads(buffer[_LENGTH.size : _LENGTH.size + size])  # noqa: S301
        del buffer[: _LENGTH.size + size]
        waiting.append((connection, item))
    return True


def _picklable(error):
    try:
        pickle.loads(pickle.dumps(error))  # noqa: S301  (our own object)
        return True
    except Exception:  # noqa: BLE001
        return False


class RemoteWriter:
    """A worker's side of the machine's writer: one connection per thread."""

    def __init__(self, path):
        self.path, self.local = path, threading.local()

    def _connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.path)
        except OSError as error:
            sock.close()
            raise Unreachable(str(error)) from None
        self.local.sock = sock
        return sock

    def submit(self, item, timeout=60):
        """Like GroupWriter.submit. Unreachable: nothing was sent. Once the write was sent,
        a timeout or a lost connection is Unconfirmed: the writer may have stored it."""
        sock = getattr(self.local, "sock", None) or self._connect()
        try:
            _send(sock, item)
        except OSError:  # a connection to a writer that restarted: nothing was delivered
            sock.close()
            sock = self._connect()
            _send(sock, item)
        sock.settimeout(timeout)
        try:
            failed, outcome = _receive(sock)
        except OSError as error:  # timeouts and lost connections alike
            self.local.sock = None
            sock.close()
            raise Unconfirmed(f"no answer from the ballot writer: {error}") from error
        except BaseException:
            self.local.sock = None
            sock.close()
            raise
        if failed:
            raise outcome
        return outcome


_remotes = {}


def remote(path):
    """The process's RemoteWriter for `path`."""
    found = _remotes.get(path)
    if found is None:
        found = _remotes[path] = RemoteWriter(path)
    return found
