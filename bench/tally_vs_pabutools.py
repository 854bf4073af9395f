"""Benchmark: our exact tally engine against pabutools 1.2.3 on the same pabulib files.

Usage (from the repository root)::

    python3.11 -m venv bench/.venv
    bench/.venv/bin/pip install -r bench/requirements.txt   # pabutools + the project's own
    bench/.venv/bin/python bench/tally_vs_pabutools.py [--data DIR] [--only NAME,...] [--repeat N]

For each (instance, rule) pair below it parses the file once per engine, runs
our engine and then pabutools in this same process, and prints both times, the
ratio and whether the winners are identical. Where pabutools needs minutes
(Warsaw 2026, Mokotów, Łódź) it is not run: our winners are compared with the
stored pabutools winners in reference_results.json and the stored pabutools
time is shown, marked "(stored)". Times are wall-clock seconds of the rule call
only, the fastest of ``--repeat`` runs (default 3; pabutools runs once when a
run takes over 30 s): on a shared machine the minimum is the least noisy
figure. pabutools is GPL-3.0 and is used here, in bench/, only.

Synthetic cases follow the files (ours only; ``--only cycle``, ``--only
cycle-150`` or ``--only big-budget`` runs one of them): a cycle of nine
headings of Almaty's size (about 160,000 voters split across a city-wide pot
and 8 districts, 40 projects each, 3 votes per person), every heading tallied
with each add1 rule, times summed, and as the results job tallies them
(``winners.compute_winners`` with the portal's ``mes`` rule, i.e. ``mes-add1``,
from id sets); the same with 150 projects per heading
(Almaty 2025 funded 308 projects, so about 35 winners per heading are
realistic: 56 are funded here); on request only (``--only cycle-tenge``),
nine headings of 100 projects costing 10-150 million (tenge: Almaty's
budget per voter is about 115,000, so the add1 rules go through about
100,000 increments per heading); and 300 voters with a budget of 60,000,000
(155,000 add1 increments, the electorate too large for the exact replay),
where ``--single-steps`` also times the one-increment-at-a-time loop of before.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pabutools.election import Cardinality_Sat, Cost_Sat, parse_pabulib
from pabutools.rules import (
    exhaustion_by_budget_increase,
    greedy_utilitarian_welfare,
    method_of_equal_shares,
)

# mes_kernels: the compiled MES rounds (numba) load once per process (~0.5 s; a results
# worker pays it once); imported up front so that every timed call may use them (a tally
# in a fresh process uses numpy until it has run 0.5 s: tally._SWITCH_AFTER).
from portal.budgeting import mes_kernels, pabulib, tally, winners  # noqa: F401

# The shared reference data lies beside the project root (../shared/pabulib).
DEFAULT_DATA = ROOT.parent / "shared" / "pabulib"
# (file, rule, run pabutools?)
PAIRS = [
    ("Poland_Wieliczka_2023_Green_Budget.pb", "mes-add1", True),
    ("Poland_Wieliczka_2023_Green_Budget.pb", "mes-add1-early", True),
    ("Poland_Wieliczka_2023_Green_Budget.pb", "mes", True),
    ("Poland_Wieliczka_2023_Green_Budget.pb", "greedy", True),
    ("Poland_Swiecie_2023.pb", "mes-add1", True),
    ("Poland_Warszawa_2026.pb", "mes-add1-early", False),
    ("Poland_Warszawa_2026.pb", "mes-add1", False),
    ("Poland_Warszawa_2026.pb", "mes", True),
    ("Poland_Warszawa_2020_Mokotow.pb", "mes-add1-early", False),
    ("Poland_Lodz_2022.pb", "mes-add1-early", False),
]


CYCLE_RULES = ("mes-add1", "mes-add1-early", "mes")


def almaty_cycle(
    voters: int = 160_000,
    headings: int = 9,
    projects: int = 40,
    votes: int = 3,
    thousands: tuple[int, int] = (20, 400),
):
    """Nine synthetic headings: skewed popularity, costs ``thousands`` x 1,000, a quarter funded."""
    cycle = []
    for seed in range(headings):
        rng = random.Random(seed)
        ids = [str(i) for i in range(1, projects + 1)]
        costs = [rng.randint(*thousands) * 1000 for _ in ids]
        weights = [rng.paretovariate(1.2) for _ in ids]
        ballots = []
        for _ in range(voters // headings):
            ballot: set[str] = set()
            while len(ballot) < votes:
                ballot.add(rng.choices(ids, weights=weights)[0])
            ballots.append(frozenset(ballot))
        cycle.append(
            tally.Instance(
                sum(costs) // 4,
                tuple(tally.Project(i, c) for i, c in zip(ids, costs)),
                tuple(ballots),
            )
        )
    return cycle


def big_budget(unit: int = 1000):
    """12 projects, 300 voters, budget 60,000 * unit (as in tests/budgeting/test_tally.py)."""
    rng = random.Random(5)
    ids = [str(i) for i in range(1, 13)]
    projects = tuple(
        tally.Project(i, rng.randint(2, 30) * 1000 * unit + rng.randint(0, 999) * unit) for i in ids
    )
    ballots = tuple(frozenset(rng.sample(ids, rng.randint(1, 6))) for _ in range(300))
    return tally.Instance(60_000 * unit, projects, ballots)


def time_cycle(cycle, repeat: int, what: str) -> None:
    label = f"cycle: 9 x {len(cycle[0].ballots):,} voters{what}"
    for rule in CYCLE_RULES:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            for heading in cycle:
                tally.run(heading, rule)
            times.append(time.perf_counter() - start)
        print(f"{label:40s} {rule:16s} {'':>14s} {min(times):8.3f}", flush=True)
    # What the results job does per heading (publishing.tally_results): the portal's "mes"
    # rule through the adapter, which builds the instance from ids and ballot sets.
    headings = [
        (
            {int(p.id): p.cost for p in heading.projects},
            [{int(pid) for pid in ballot} for ballot in heading.ballots],
            heading.budget,
        )
        for heading in cycle
    ]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for projects, ballots, budget in headings:
            winners.compute_winners(projects, ballots, budget, "mes")
        times.append(time.perf_counter() - start)
    print(f"{label:40s} {'results job':16s} {'':>14s} {min(times):8.3f}", flush=True)


def synthetic(args) -> None:
    """Time the synthetic cases (ours only)."""
    wanted = args.only.split(",") if args.only else ["cycle", "cycle-150", "big-budget"]
    if "cycle" in wanted:
        time_cycle(almaty_cycle(), args.repeat, "")
    if "cycle-150" in wanted:
        time_cycle(almaty_cycle(projects=150), args.repeat, ", 150 projects")
    if "cycle-tenge" in wanted:  # explicit only: about a minute per rule
        cycle = almaty_cycle(projects=100, thousands=(10_000, 150_000))
        time_cycle(cycle, args.repeat, ", tenge")
    if "big-budget" in wanted:
        instance = big_budget()
        for rule in ("mes-add1", "mes-add1-early"):
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                result = tally.run(instance, rule)
                times.append(time.perf_counter() - start)
            label = f"300 voters, budget 60,000,000 (k={result.increment:,})"
            line = f"{label:40s} {rule:16s} {'':>14s} {min(times):8.3f}"
            if args.single_steps:
                start = time.perf_counter()
                oracle = tally._run(instance, rule, single_steps=True)
                line += f"  one increment at a time: {time.perf_counter() - start:.1f} s"
                line += ", identical" if oracle == result else ", DIFFERENT"
            print(line, flush=True)


def pabutools_rule(rule: str, instance, profile):
    if rule == "greedy":
        return greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)
    if rule == "mes":
        return method_of_equal_shares(instance, profile, sat_class=Cost_Sat)
    if rule == "mes-add1-early":
        return method_of_equal_shares(
            instance, profile, sat_class=Cost_Sat, voter_budget_increment=1
        )
    if rule == "mes-add1":
        return exhaustion_by_budget_increase(
            instance,
            profile,
            method_of_equal_shares,
            {"sat_class": Cost_Sat},
            exhaustive_stop=False,
            budget_step=profile.num_ballots(),
        )
    raise ValueError(rule)


def run_pabutools(path: Path, rule: str, repeat: int):
    """Winners and the fastest of ``repeat`` runs (one run only if it takes over 30 s)."""
    times = []
    while len(times) < repeat:
        instance, profile = parse_pabulib(str(path))
        start = time.perf_counter()
        outcome = pabutools_rule(rule, instance, profile)
        times.append(time.perf_counter() - start)
        if times[-1] > 30:
            break
    return sorted((p.name for p in outcome), key=tally.id_key), min(times)


def run_ours(path: Path, rule: str, repeat: int):
    """Winners and the fastest of ``repeat`` runs."""
    instance = pabulib.to_instance(pabulib.load(path))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = tally.run(instance, rule)
        times.append(time.perf_counter() - start)
    return list(result.selected), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the .pb files")
    parser.add_argument("--only", default="", help="comma-separated file names to keep")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="time each rule this many times and keep the fastest (pabutools: once if > 30 s)",
    )
    parser.add_argument("--rules", default="", help="comma-separated rules to keep")
    parser.add_argument(
        "--single-steps",
        action="store_true",
        help="big-budget case: also time trying every increment (minutes)",
    )
    args = parser.parse_args()
    reference = json.loads((args.data / "reference_results.json").read_text())["instances"]
    assert Cardinality_Sat  # imported for parity with reference.py's comparison rule
    print(
        f"{'instance':40s} {'rule':16s} {'pabutools s':>14s} {'ours s':>8s} {'ratio':>7s}  winners"
    )
    for name, rule, with_pabutools in PAIRS:
        if args.only and name not in args.only.split(","):
            continue
        if args.rules and rule not in args.rules.split(","):
            continue
        stored = reference[name]["results"].get(rule)
        ours, our_seconds = run_ours(args.data / name, rule, args.repeat)
        if with_pabutools:
            theirs, their_seconds = run_pabutools(args.data / name, rule, args.repeat)
            label = f"{their_seconds:14.3f}"
        elif stored and stored.get("selected") is not None:
            theirs, their_seconds = stored["selected"], stored["pabutools_seconds"]
            label = f"{their_seconds:>5.0f} (stored)"
        else:
            theirs, their_seconds, label = None, None, f"{'n/a':>14s}"
        ratio = f"{their_seconds / our_seconds:6.0f}x" if their_seconds else f"{'':7s}"
        same = (
            "n/a (no reference)"
            if theirs is None
            else ("identical" if ours == theirs else "DIFFERENT")
        )
        print(
            f"{name:40s} {rule:16s} {label} {our_seconds:8.3f} {ratio}  {same}",
            flush=True,
        )
    synthetic(args)


if __name__ == "__main__":
    main()
