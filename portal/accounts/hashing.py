"""Password hashing in a small per-process pool of threads.

Argon2id at the production parameters (config.py: 7 MiB, t=5, p=1) costs about 15 ms of CPU
a hash here, a whole sign-in about 20 ms of server CPU. A burst of 16 sign-ins thus needs
about 16 x 20 = 320 ms of CPU, 16 % of a second of 2 cores: voting loses at most about that
much over the second, whatever order the work runs in. Scheduling decides how long the
burst's last sign-in waits: its 16 x 15 = 240 ms of hashing need at least half a core
throughout to answer within 500 ms.

Every hash waits for one of TYNDA_HASH_THREADS hashing threads of the worker process
(default: as many as cores, so a worker that receives most of a burst - gunicorn's workers
accept connections independently - can still hash on every core). That bounds what a flood
of sign-ins can take: at most that many threads per worker, however many sign-ins arrive.
The threads run at the priority of requests (TYNDA_HASH_NICE, default 0). Session 3 ran them
at nice 2, where the scheduler weighs a thread a third less (655 against 1024): a burst's
hashing is the same work either way, so that can only make it drain slower, and on
PostgreSQL, whose backends take their own share of the cores, a burst's p99 reached 0.9 s.
Raise it to keep more CPU for voting during a sustained flood of sign-ins, at the price of
slower sign-ins. argon2-cffi releases the GIL while it hashes.
"""

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

NICE = int(os.environ.get("TYNDA_HASH_NICE", 0))
THREADS = int(os.environ.get("TYNDA_HASH_THREADS", 0)) or os.cpu_count() or 2
_lock = threading.Lock()
_pool = None
_pid = None


def _lower_priority():
    # Not Linux, or not allowed: hash at normal priority.
    if NICE:
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
