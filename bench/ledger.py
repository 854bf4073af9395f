"""Ballot ledger at scale: append cost, root and proof times at 200,000 ballots.

    .venv/bin/python bench/ledger.py [--ballots 200000]

Side by side in one run: the O(log n) frontier against recomputing the root from every
leaf (the baseline a naive ledger would pay per page view), and a proof from cached chunk
roots against a proof from every leaf. The database part appends through
portal.budgeting.integrity.append (the code cast_ballot uses) into a fresh SQLite file.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.budgeting import ledger  # noqa: E402


def timed(call):
    started = time.perf_counter()
    value = call()
    return value, time.perf_counter() - started


def pure(n):
    leaves = [ledger.leaf_hash(ledger.leaf_data(1, i, 1, [i % 7, 9])) for i in range(n)]
    frontier = ledger.Frontier()
    _, append_all = timed(lambda: [frontier.append(h) for h in leaves])
    root, full_root = timed(lambda: ledger.root(leaves))
    assert root == frontier.root()
    _, frontier_root = timed(frontier.root)
    print(f"pure, {n:,} leaves")
    print(f"  append (frontier)        {append_all / n * 1e6:8.2f} µs per leaf")
    print(f"  root from frontier       {frontier_root * 1e3:8.3f} ms")
    print(f"  root from every leaf     {full_root * 1e3:8.1f} ms   (baseline)")


def database(n):
    from flask_migrate import upgrade

    from portal import create_app
    from portal.budgeting import integrity
    from portal.budgeting.models import Ballot, BudgetCycle
    from portal.extensions import db
    from portal.regions.services import load_regions, region_by_code

    folder = tempfile.mkdtemp(prefix="tynda-ledger-bench-")
    url = f"sqlite:///{folder}/bench.sqlite"
    app = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        load_regions(db.session)
        import datetime as dt

        start = dt.datetime(2026, 1, 1)
        cycle = BudgetCycle(
            title_kk="b",
            title_ru="b",
            title_en="b",
            region_id=region_by_code(db.session, "KZ-75").id,
            budget=10**9,
            proposals_open_at=start,
            review_open_at=start + dt.timedelta(days=1),
            voting_open_at=start + dt.timedelta(days=2),
            voting_close_at=start + dt.timedelta(days=400),
        )
        db.session.add(cycle)
        db.session.commit()
        batch = 5000
        started = time.perf_counter()
        for first in range(0, n, batch):
            integrity.append(
                db.session, cycle, [(i + 1, 1, [i % 7 + 1]) for i in range(first, first + batch)]
            )
            db.session.commit()
        bulk = time.perf_counter() - started
        single = []
        for i in range(200):
            _, seconds = timed(
                lambda i=i: integrity.append(db.session, cycle, [(n + i + 1, 1, [3])])
            )
            db.session.commit()
            single.append(seconds)
        ballot = Ballot(id=n // 3, cycle_id=cycle.id)
        proofs = []
        for _ in range(20):
            proof, seconds = timed(lambda: integrity.proof(db.session, cycle, ballot))
            proofs.append(seconds)
        hashes, read_all = timed(lambda: integrity._leaf_hashes(db.session, cycle.id, 0, n + 200))
        _, naive = timed(lambda: ledger.path(proof["leaf_index"], hashes))
        size, root, _ = integrity.head_of(db.session, cycle)
        assert root == ledger.root(hashes).hex() and size == n + 200
        assert ledger.verify_path(
            proof["leaf_index"],
            size,
            bytes.fromhex(proof["leaf_hash"]),
            [bytes.fromhex(h) for h in proof["audit_path"]],
            bytes.fromhex(root),
        )
        print(f"SQLite, {n:,} leaves (+200 single appends)")
        print(f"  bulk append              {n / bulk:8.0f} leaves/s")
        print(f"  one append (+commit)     {statistics.median(single) * 1e3:8.2f} ms median")
        print(f"  proof from chunk roots   {statistics.median(proofs) * 1e3:8.2f} ms median")
        print(f"  proof from every leaf    {(read_all + naive) * 1e3:8.1f} ms   (baseline)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ballots", type=int, default=200_000)
    args = parser.parse_args()
    pure(args.ballots)
    database(args.ballots)


if __name__ == "__main__":
    main()
