"""Password hashes run in a bounded pool of threads (portal/accounts/hashing), at the
priority TYNDA_HASH_NICE asks for."""

import os
import threading
import time

from portal.accounts import hashing, services


def test_the_pool_has_a_thread_per_core_at_normal_priority_by_default():
    # A worker that receives most of a burst can hash on every core; a lower priority would
    # only make the burst drain slower (see the module's docstring).
    if "TYNDA_HASH_THREADS" not in os.environ:
        assert os.cpu_count() == hashing.THREADS
    if "TYNDA_HASH_NICE" not in os.environ:
        assert hashing.NICE == 0


def test_hashes_run_in_a_bounded_pool_at_the_configured_priority(monkeypatch):
    monkeypatch.setattr(hashing, "THREADS", 2)
    monkeypatch.setattr(hashing, "NICE", 3)
    monkeypatch.setattr(hashing, "_pool", None)  # a pool with these settings, for this test
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
    hashing._pool.shutdown()


def test_password_checks_go_through_the_pool(app):
    stored = services.hash_password("correct horse battery")
    assert services.password_matches(stored, "correct horse battery")
    assert not services.password_matches(stored, "wrong")
    assert not services.password_matches(None, "anything")  # dummy hash, same timing path
