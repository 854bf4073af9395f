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
"""

from __future__ import annotations

import argparse
import json
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

from portal.budgeting import pabulib, tally

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
    args = parser.parse_args()
    reference = json.loads((args.data / "reference_results.json").read_text())["instances"]
    assert Cardinality_Sat  # imported for parity with reference.py's comparison rule
    print(
        f"{'instance':40s} {'rule':16s} {'pabutools s':>14s} {'ours s':>8s} {'ratio':>7s}  winners"
    )
    for name, rule, with_pabutools in PAIRS:
        if args.only and name not in args.only.split(","):
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


if __name__ == "__main__":
    main()
