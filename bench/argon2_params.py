"""CPU cost of one Argon2id verification at each of OWASP's equivalent minimum configurations.

    .venv/bin/python bench/argon2_params.py [--tries 15]

OWASP's Password Storage Cheat Sheet lists five Argon2id configurations of equal defence
(p=1 each): m=47104 t=1, m=19456 t=2, m=12288 t=3, m=9216 t=4, m=7168 t=5 (m in KiB).
Each is timed as `PasswordHasher.verify` of a right password, interleaved round by round so
the machine's load falls on all of them alike. CPU time (`time.process_time`) of this one
thread is the figure that matters on a shared machine; wall time is printed beside it.
"""

import argparse
import os
import statistics
import time

from argon2 import PasswordHasher

OWASP = [(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tries", type=int, default=15)
    args = parser.parse_args()
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()}")
    hashers = {
        params: PasswordHasher(memory_cost=params[0], time_cost=params[1], parallelism=1)
        for params in OWASP
    }
    hashes = {params: hasher.hash("correct horse") for params, hasher in hashers.items()}
    cpu = {params: [] for params in OWASP}
    wall = {params: [] for params in OWASP}
    for _ in range(args.tries):
        for params, hasher in hashers.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            hasher.verify(hashes[params], "correct horse")
            cpu[params].append((time.process_time() - started_cpu) * 1000)
            wall[params].append((time.perf_counter() - started) * 1000)
    print("| m (KiB) | t | CPU ms median | CPU ms min | wall ms median |")
    print("|---:|---:|---:|---:|---:|")
    for params in OWASP:
        print(
            f"| {params[0]} | {params[1]} | {statistics.median(cpu[params]):.1f} "
            f"| {min(cpu[params]):.1f} | {statistics.median(wall[params]):.1f} |"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
