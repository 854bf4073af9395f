"""Password hashing in a small per-process pool of threads, at a slightly lower priority.

Argon2id at OWASP's minimum (m=19 MiB, t=2, p=1) costs about 35 ms of CPU per hash here.
Sixteen sign-ins at once, each hashing in its own request thread, would be sixteen runnable
tasks against a few voting ones and take nearly every core from voting. Here every hash
waits for one of TYNDA_HASH_THREADS (default 2) hashing threads of the worker process, so
hashing can take at most that many cores whatever the burst; the threads also lower their
own scheduling priority a little (TYNDA_HASH_NICE, default 2; Linux threads have their own
nice value), so a ballot goes first when both wait. A higher nice value protects voting
more and makes sign-in slower under load. argon2-cffi releases the GIL while it hashes.
"""

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

NICE = int(os.environ.get("TYNDA_HASH_NICE", 2))
THREADS = int(os.environ.get("TYNDA_HASH_THREADS", 2))
_lock = threading.Lock()
_pool = None
_pid = None


def _lower_priority():
    # Not Linux, or not allowed: hash at normal priority.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)


def _executor():
    global _pool, _pid
    with _lock:
        if _pool is None or _pid != os.getpid():  # a forked worker needs its own thread
            _pool = ThreadPoolExecutor(
                max_workers=THREADS, thread_name_prefix="argon2", initializer=_lower_priority
            )
            _pid = os.getpid()
        return _pool


def run(function, *args):
    """function(*args) in the hashing thread; waits for and returns its result."""
    return _executor().submit(function, *args).result()
