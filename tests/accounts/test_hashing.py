"""Password hashes run in a bounded pool of lower-priority threads (portal/accounts/hashing)."""

import os
import threading
import time

from portal.accounts import hashing, services


def test_hashes_run_in_a_bounded_pool_at_lower_priority():
    running, peak, lock = [0], [0], threading.Lock()
    seen = []

    def work():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        seen.append((threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0)))
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return threading.get_native_id()

    callers = [threading.Thread(target=hashing.run, args=(work,)) for _ in range(8)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    # Eight sign-ins at once, yet never more hashes at a time than the pool's threads.
    assert len(seen) == 8
    assert peak[0] == hashing.THREADS
    assert threading.get_native_id() not in {tid for tid, _ in seen}
    # The hashing threads set their own nice value (absolute); the caller's is unchanged.
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    priorities = {os.getpriority(os.PRIO_PROCESS, tid) for tid, _ in seen}
    assert priorities == {max(base, hashing.NICE)}
    assert base == os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_password_checks_go_through_the_pool(app):
    stored = services.hash_password("correct horse battery")
    assert services.password_matches(stored, "correct horse battery")
    assert not services.password_matches(stored, "wrong")
    assert not services.password_matches(None, "anything")  # dummy hash, same timing path
