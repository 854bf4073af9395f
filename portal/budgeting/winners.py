"""Adapter between the portal and the tally engine (`portal.budgeting.tally`). No Flask here.

`compute_winners` turns the cycle's feasible projects and stored ballots into a tally
instance, runs the winner rule and returns plain data the results page stores as JSON.
There is no fallback: a result is computed with the cycle's rule or not at all.
"""

import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain, repeat

from portal.budgeting import tally

# Portal rule name -> tally engine rule name.
ENGINE_RULES = {"greedy": "greedy", "mes": "mes-add1"}


class TallyTimeout(Exception):
    """The tally ran past its deadline. There is no fallback to another rule: a result is
    computed with the cycle's rule or not at all (the web runs tallies as background jobs,
    without a deadline)."""


@dataclass
class Winners:
    rule: str
    selected: list[int]
    total_cost: int
    budget: int
    votes: dict[int, int]
    # project id -> [(amount per supporter as a decimal string, supporters)], MES only
    payments: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    engine_rule: str = ""


def compute_winners(projects, ballots, budget, rule, min_votes=None, deadline=None, progress=None):
    """projects: {id: cost}; ballots: iterable of sets of ids; rule: "greedy" or "mes".

    `progress(share)` is called with the share of the budget spent so far (0–1); with
    `deadline` (seconds) the tally raises TallyTimeout once it runs longer.

    With min_votes, projects with fewer approvals cannot win (they are left out of the
    instance, which is how the greedy-threshold rule of the engine treats them too).
    """
    # Work per distinct ballot (a city heading: ~1,600 kinds among 18,000 ballots):
    # converting every ballot to engine ids took 4 times as long as the tally itself, and
    # keeping a frozenset per ballot alive set the garbage collector off again and again.
    distinct = Counter(frozenset(b) for b in ballots)
    votes = Counter()
    for ballot, voters in distinct.items():
        for p in ballot:
            votes[p] += voters
    eligible = {
        pid: cost for pid, cost in projects.items() if not min_votes or votes[pid] >= min_votes
    }
    votes_all = {pid: votes.get(pid, 0) for pid in projects}
    engine_ballot = {b: frozenset(str(p) for p in b if p in eligible) for b in distinct}
    instance = tally.Instance(
        budget=int(budget),
        projects=tuple(tally.Project(str(pid), int(cost)) for pid, cost in eligible.items()),
        # grouped by kind: no result depends on the order of the ballots
        ballots=tuple(
            chain.from_iterable(repeat(engine_ballot[b], n) for b, n in distinct.items())
        ),
    )
    engine_rule = ENGINE_RULES[rule]
    started = time.monotonic()

    def report(share):
        if deadline is not None and time.monotonic() - started > deadline:
            raise TallyTimeout(f"{rule} took longer than {deadline} s")
        if progress is not None:
            progress(share)

    result = tally.run(instance, engine_rule, progress=report)
    payments = {
        int(pid): [(_decimal(share.amount), share.voters) for share in shares]
        for pid, shares in result.payments.items()
    }
    selected = [int(pid) for pid in result.selected]
    return Winners(
        rule=rule,
        selected=selected,
        total_cost=int(sum(projects[p] for p in selected)),
        budget=int(budget),
        votes=votes_all,
        payments=payments,
        engine_rule=engine_rule,
    )


def _decimal(amount):
    """An exact Fraction shown to the tiyn (2 decimals); display only."""
    return f"{float(amount):.2f}"
