"""Exact tally of approval-ballot participatory budgeting: greedy and Method of Equal Shares.

Pure Python (stdlib only): no Flask, no database, no pabutools. Every rule gives
exactly what pabutools 1.2.3 gives with its defaults (exact ``mpq`` arithmetic,
ties broken in favour of the lexicographically smallest project id *string*):

=========================  ==================================================================
``greedy``                 ``greedy_utilitarian_welfare(sat_class=Cost_Sat)``: projects by
                           approvals, descending, take each that still fits.
``greedy-threshold``       the same over projects with >= ``threshold`` approvals.
``mes``                    ``method_of_equal_shares(sat_class=Cost_Sat)``, no completion.
``mes-add1``               ``exhaustion_by_budget_increase(..., exhaustive_stop=False,
                           budget_step=n)``: +1 per voter while the outcome fits the budget.
``mes-add1-early``         ``method_of_equal_shares(..., voter_budget_increment=1)``: same, but
                           stops at the first exhaustive outcome.
``mes-add1-early-greedy``  ``mes-add1-early`` then greedy completion of the leftover budget.
``mes-add1-comparison``    ``popularity_comparison(Cardinality_Sat, [mes-add1, greedy])``:
                           greedy replaces ``mes-add1`` only if strictly more voters approve
                           more of its winners than of ``mes-add1``'s.
=========================  ==================================================================

Arithmetic is exact throughout: money is scaled to integers (times the number
of voters and the common denominator of budget and costs); inside an MES run
all budgets are integer numerators over one common denominator, which is
multiplied up only when a price does not divide evenly. The prices MES
compares are Fractions; floats only order a heap and never decide anything.

How MES is made fast:

* Voters with identical ballots are one weighted group, and at any moment
  voters holding the same budget form one *budget class*. A project's price
  per supporter is computed per class (counted at C speed), not per voter.
* Prices are re-evaluated lazily (the equalshares.net trick): within one run a
  project's price per unit of utility never goes down, so a stale price is a
  lower bound and only projects whose stale price could still win are redone.
* The add1 rules run MES once per increment k = 0, 1, ..., each run from
  scratch but cheap (see above).

Complexity. With ``n`` voters, ``m`` projects, ``A`` approvals and ``r <= m``
rounds, one MES run costs ``O(A + r*m*log m + E)`` where ``E`` is the total
number of supporters of the projects re-evaluated (a few per round thanks to
laziness), plus per-class work that is small in practice. The add1 rules cost
one run per increment, i.e. ``O(K * run)`` for ``K`` increments (150-250 on
the real files). Greedy is ``O(A + m log m)``.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from numbers import Rational

__all__ = [
    "RULES",
    "Instance",
    "Project",
    "Result",
    "Share",
    "TallyError",
    "id_key",
    "run",
]

RULES = (
    "greedy",
    "greedy-threshold",
    "mes",
    "mes-add1",
    "mes-add1-early",
    "mes-add1-early-greedy",
    "mes-add1-comparison",
)

Money = int | Fraction


class TallyError(ValueError):
    """The instance or the request cannot be tallied; the message says why."""


# ----------------------------------------------------------------- data types
@dataclass(frozen=True)
class Project:
    """A project: its id (a string, as in pabulib) and its exact cost."""

    id: str
    cost: Money


@dataclass(frozen=True)
class Instance:
    """An approval election: budget, projects and one frozenset of project ids per voter."""

    budget: Money
    projects: tuple[Project, ...]
    ballots: tuple[frozenset[str], ...]
    meta: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "projects", tuple(self.projects))
        object.__setattr__(self, "ballots", tuple(self.ballots))
        _check_money(self.budget, "budget")
        ids = set()
        for project in self.projects:
            if not isinstance(project, Project):
                raise TallyError(f"not a Project: {project!r}")
            if not isinstance(project.id, str) or not project.id:
                raise TallyError(f"project id must be a non-empty string, got {project.id!r}")
            if project.id in ids:
                raise TallyError(f"project {project.id} listed twice")
            _check_money(project.cost, f"cost of project {project.id}")
            ids.add(project.id)
        for index, ballot in enumerate(self.ballots):
            if not isinstance(ballot, (frozenset, set)):
                raise TallyError(
                    f"ballot {index} is not a set of approved project ids "
                    "(only approval ballots can be tallied)"
                )
            unknown = ballot - ids
            if unknown:
                raise TallyError(f"ballot {index} approves unknown project {min(unknown)!r}")


def _check_money(value, what: str) -> None:
    # floats and bools are refused on purpose: money must be exact
    if isinstance(value, bool) or not isinstance(value, Rational):
        raise TallyError(f"{what} must be an int or a Fraction, got {value!r}")
    if value < 0:
        raise TallyError(f"{what} is negative: {value}")


@dataclass(frozen=True)
class Share:
    """``voters`` supporters each paid exactly ``amount`` for a project."""

    amount: Fraction
    voters: int


@dataclass(frozen=True)
class Result:
    """Outcome of a rule.

    ``selected``: winning ids (numeric order when ids are numbers).
    ``payments``: for each project funded by MES, who paid what, compressed as
    :class:`Share` groups (largest amount first); their exact sum is the cost.
    ``voter_budget``: the per-voter budget of the MES run that produced the
    outcome (``B/n + k`` for the add1 rules) and ``prices`` the price per
    supporter of each MES project, in selection order. Together they let
    :meth:`payments_of` say what any single ballot paid, without storing a
    table of all voters.
    """

    rule: str
    selected: tuple[str, ...]
    total_cost: Money
    budget: Money
    payments: Mapping[str, tuple[Share, ...]] = field(default_factory=dict)
    voter_budget: Fraction | None = None
    prices: tuple[tuple[str, Fraction], ...] = ()
    increment: int | None = None

    def payments_of(self, ballot: Iterable[str]) -> dict[str, Fraction]:
        """What a voter with this ballot paid for each MES project (exact)."""
        approved = frozenset(ballot)
        left = self.voter_budget or Fraction(0)
        paid = {}
        for project_id, price in self.prices:
            if project_id in approved:
                paid[project_id] = min(left, price)
                left -= paid[project_id]
        return paid


def id_key(project_id: str) -> tuple:
    """Sort key: numeric ids in numeric order first, then the others as strings."""
    if project_id.isdigit():
        return (0, int(project_id), project_id)
    return (1, 0, project_id)


# ----------------------------------------------------------------- entry point
def run(
    instance: Instance,
    rule: str,
    *,
    threshold: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> Result:
    """Tally ``instance`` with ``rule`` (one of :data:`RULES`).

    ``threshold`` is the minimum number of approvals for ``greedy-threshold``
    (default: META ``min_project_score_threshold``). ``progress`` is called
    now and then during the add1 loops with the share of the budget spent so
    far (a float for display only).
    """
    if not isinstance(instance, Instance):
        raise TallyError("run() needs an Instance")
    if rule not in RULES:
        raise TallyError(f"unknown rule {rule!r}; choose one of: {', '.join(RULES)}")
    tally = _Tally(instance, progress)
    if rule == "greedy":
        return tally.result(rule, tally.greedy())
    if rule == "greedy-threshold":
        return tally.result(rule, tally.greedy(threshold=_threshold(instance, threshold)))
    if rule == "mes":
        return tally.result(rule, tally.mes_plain())
    if rule == "mes-add1":
        return tally.result(rule, tally.mes_add1(stop_when_exhaustive=False))
    if rule == "mes-add1-early":
        return tally.result(rule, tally.mes_add1(stop_when_exhaustive=True))
    if rule == "mes-add1-early-greedy":
        outcome = tally.mes_add1(stop_when_exhaustive=True)
        return tally.result(rule, outcome.completed(tally.greedy(start=outcome.selected).selected))
    return tally.result(rule, tally.comparison(tally.mes_add1(stop_when_exhaustive=False)))


def _threshold(instance: Instance, threshold) -> int:
    if threshold is None:
        text = instance.meta.get("min_project_score_threshold")
        if text is None:
            raise TallyError(
                "greedy-threshold needs a threshold (META min_project_score_threshold is absent)"
            )
        try:
            # pabulib writes it as a number; the reference takes int(float(text))
            return math.floor(Fraction(str(text).strip()))
        except (ValueError, ZeroDivisionError):
            raise TallyError(
                f"META min_project_score_threshold is not a number: {text!r}"
            ) from None
    if isinstance(threshold, bool) or not isinstance(threshold, int):
        raise TallyError(f"threshold must be an integer, got {threshold!r}")
    return threshold


@dataclass
class _Outcome:
    """Selected ids (in selection order) plus MES payment details when there are any."""

    selected: list[str]
    payments: dict[str, tuple[Share, ...]] = field(default_factory=dict)
    voter_budget: Fraction | None = None
    prices: tuple[tuple[str, Fraction], ...] = ()
    increment: int | None = None

    def completed(self, extra: list[str]) -> _Outcome:
        """This outcome with greedy completion ``extra`` appended (MES payments kept)."""
        chosen = set(self.selected)
        more = [p for p in extra if p not in chosen]
        return _Outcome(
            self.selected + more,
            self.payments,
            self.voter_budget,
            self.prices,
            self.increment,
        )


class _Tally:
    """Per-instance precomputation shared by the rules."""

    def __init__(self, instance: Instance, progress):
        self.instance = instance
        self.progress = progress
        self.cost = {p.id: p.cost for p in instance.projects}
        self.approvals = Counter(pid for ballot in instance.ballots for pid in ballot)

    def result(self, rule: str, outcome: _Outcome) -> Result:
        total = sum((self.cost[p] for p in outcome.selected), 0)
        return Result(
            rule=rule,
            selected=tuple(sorted(outcome.selected, key=id_key)),
            total_cost=total,
            budget=self.instance.budget,
            payments=outcome.payments,
            voter_budget=outcome.voter_budget,
            prices=outcome.prices,
            increment=outcome.increment,
        )

    # ------------------------------------------------------------- greedy
    def greedy(self, threshold: int | None = None, start: Iterable[str] = ()) -> _Outcome:
        """Greedy by approvals; ties and zero-cost projects as pabutools orders them.

        pabutools sorts by satisfaction density total_sat/cost; with Cost_Sat that
        is the approval count for a positive cost and 0 for a zero cost (its
        total satisfaction is 0), then by id string.
        """
        chosen = list(start)
        left = self.instance.budget - sum((self.cost[p] for p in chosen), 0)
        taken = set(chosen)
        candidates = [
            p
            for p in self.instance.projects
            if p.id not in taken and (threshold is None or self.approvals[p.id] >= threshold)
        ]
        candidates.sort(key=lambda p: (-(self.approvals[p.id] if p.cost > 0 else 0), p.id))
        for project in candidates:
            if project.cost <= left:
                chosen.append(project.id)
                left -= project.cost
        return _Outcome(chosen)

    # ------------------------------------------------------------- MES
    def mes_engine(self) -> _MES:
        if not hasattr(self, "_mes"):
            self._mes = _MES(self.instance)
        return self._mes

    def mes_plain(self) -> _Outcome:
        engine = self.mes_engine()
        if engine.n == 0:
            return _Outcome([])
        return engine.run(0).outcome()

    def mes_add1(self, stop_when_exhaustive: bool) -> _Outcome:
        """MES at per-voter budget B/n + k for k = 0, 1, ... (see module docstring).

        Without the early stop, pabutools' exhaustion_by_budget_increase stops
        when the outcome no longer fits (keeping the previous one) or when
        B + k*n exceeds B*(n+1), i.e. after k = floor(B).
        """
        engine = self.mes_engine()
        if engine.n == 0:
            return _Outcome([])  # pabutools: MES with no ballots selects nothing
        budget = self.instance.budget
        last_k = math.floor(budget)
        previous = None
        for k in range(last_k + 1):
            current = engine.run(k)
            if current.cost > budget:
                return previous.outcome() if previous else _Outcome([])
            if stop_when_exhaustive and engine.is_exhaustive(current.selected, current.cost):
                return current.outcome()
            if self.progress and budget:
                self.progress(float(current.cost / budget))
            previous = current
        return previous.outcome()

    # ------------------------------------------------------------- comparison
    def comparison(self, mes: _Outcome) -> _Outcome:
        """Keep ``mes`` unless strictly more voters approve more greedy winners."""
        greedy = self.greedy()
        mes_set, greedy_set = set(mes.selected), set(greedy.selected)
        if mes_set == greedy_set:
            return mes
        prefer_greedy = prefer_mes = 0
        for ballot in self.instance.ballots:
            in_mes, in_greedy = len(ballot & mes_set), len(ballot & greedy_set)
            prefer_greedy += in_greedy > in_mes
            prefer_mes += in_mes > in_greedy
        return greedy if prefer_greedy > prefer_mes else mes


# ----------------------------------------------------------------- exact MES
class _Run:
    """One MES run at per-voter budget B/n + k, in integers over a common denominator.

    Every budget class holds an integer numerator; the real (scaled) budget is
    ``numerator / den``. A price that does not divide evenly multiplies all
    numerators and ``den`` by the missing factor, so arithmetic stays exact
    without creating a Fraction per voter. Prices per unit of utility (what
    MES minimises) are compared as Fractions, a handful per round.
    """

    def __init__(self, engine: _MES, k: int):
        self.e = engine
        self.k = k
        self.den = 1
        self.class_of = [0] * engine.group_count
        self.budget = [engine.base + k * engine.step]  # class id -> numerator
        self.class_id = {self.budget[0]: 0}
        self.selected: list[str] = []
        self.cost: Money = 0
        self.raw_shares: list[tuple[str, int, int, list[tuple[int, int]]]] = []
        heap = list(engine.initial_heap)  # a sorted list is a valid heap
        while self._round(heap):
            pass

    def _round(self, heap) -> bool:
        """Select the project with the lowest price per unit of utility; False when none is left.

        Lazy evaluation: a stored price is a lower bound (budgets only shrink
        during a run), so only projects whose stored price could still win are
        re-evaluated. The heap is ordered by float copies of the exact prices,
        used only to skip work: a project is left unevaluated only when its
        float is above the best one by a margin (1e-9) millions of times any
        rounding error, which proves its exact price is higher. The winner is
        chosen by exact Fraction comparison, ties to the smaller id string.
        """
        best, best_float, evaluated = None, 0.0, []
        while heap and (best is None or heap[0][0] <= best_float):
            _, name, p = heapq.heappop(heap)
            price = self._price(p)
            if price is None:
                continue  # unaffordable now, hence for the rest of the run
            candidate = (price[0], name, p, price)
            evaluated.append(candidate)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
                best_float = float(best[0]) * (1 + 1e-9)
        for candidate in evaluated:
            if candidate is not best:
                heapq.heappush(heap, (float(candidate[0]), candidate[1], candidate[2]))
        if best is None:
            return False
        self._pay(best[2], best[3])
        return True

    def _price(self, p: int):
        """Price of ``p`` per unit of utility, with what is needed to charge it; None if unaffordable.

        Supporters are taken by budget class from the poorest: a class pays its
        whole budget while that is less than the equal share of what remains.
        """
        e, budget = self.e, self.budget
        cost = e.cost[p] * self.den
        counts = self._count(p)
        if sum(budget[c] * w for c, w in counts.items()) < cost:
            return None
        rich, remaining = e.weight[p], cost
        poor = []
        for c in sorted(counts, key=budget.__getitem__):
            if remaining <= budget[c] * rich:
                break  # the equal share remaining/rich fits this class and all richer ones
            poor.append(c)
            remaining -= budget[c] * counts[c]
            rich -= counts[c]
        # share per rich supporter: remaining / rich; per unit of utility: / cost
        return Fraction(remaining, rich * cost), remaining, rich, counts, poor

    def _count(self, p: int) -> Counter:
        """Supporters of ``p`` per budget class (voters, not ballots)."""
        class_of, e = self.class_of, self.e
        if e.supporter_voters[p] is not None:
            return Counter(map(class_of.__getitem__, e.supporter_voters[p]))  # C speed
        counts = Counter()
        for g, w in zip(e.supporter_groups[p], e.supporter_weights[p]):
            counts[class_of[g]] += w
        return counts

    def _pay(self, p: int, price) -> None:
        """Charge the supporters of ``p`` and move them to their new budget classes."""
        _, remaining, rich, counts, poor = price
        factor = rich // math.gcd(remaining, rich)
        if factor > 1:
            self._rescale(factor)
            remaining *= factor
        share = remaining // rich
        e, budget = self.e, self.budget
        moved, shares = {}, []
        poor = set(poor)
        for c, w in counts.items():
            if c in poor:
                shares.append((budget[c], w))
                moved[c] = self._intern(0)
            else:
                shares.append((share, w))
                moved[c] = self._intern(budget[c] - share)
        class_of = self.class_of
        for g in e.supporter_groups[p]:
            class_of[g] = moved[class_of[g]]
        pid = e.ids[p]
        self.selected.append(pid)
        self.cost += e.real_cost[pid]
        self.raw_shares.append((pid, share, self.den, shares))

    def _rescale(self, factor: int) -> None:
        self.den *= factor
        self.budget = [b * factor for b in self.budget]
        self.class_id = {b: c for c, b in enumerate(self.budget)}

    def _intern(self, numerator: int) -> int:
        found = self.class_id.get(numerator)
        if found is None:
            found = self.class_id[numerator] = len(self.budget)
            self.budget.append(numerator)
        return found

    def outcome(self) -> _Outcome:
        """The selection with payments in real money."""
        scale = self.e.scale
        payments, prices = {}, []
        for pid, share, den, shares in self.raw_shares:
            merged = Counter()
            for numerator, voters in shares:  # same denominator: merge as integers
                merged[numerator] += voters
            payments[pid] = tuple(
                Share(Fraction(a, den * scale), v) for a, v in sorted(merged.items(), reverse=True)
            )
            prices.append((pid, Fraction(share, den * scale)))
        start = Fraction(self.e.base + self.k * self.e.step, scale)
        return _Outcome(list(self.selected), payments, start, tuple(prices), self.k)


class _MES:
    """Method of Equal Shares with cost utilities on grouped ballots.

    Money is scaled by ``scale = n * D`` (D: common denominator of budget and
    costs) so that the starting per-voter budget B/n and every cost are integers.
    """

    def __init__(self, instance: Instance):
        self.instance = instance
        self.n = len(instance.ballots)
        denominators = [Fraction(instance.budget).denominator]
        denominators += [Fraction(p.cost).denominator for p in instance.projects]
        self.scale = max(self.n, 1) * math.lcm(*denominators)
        self.base = int(instance.budget * self.scale) // max(self.n, 1)  # B/n, scaled
        self.step = self.scale  # one unit of money per voter
        self.real_cost = {p.id: p.cost for p in instance.projects}
        approvals = Counter(pid for ballot in instance.ballots for pid in ballot)
        # pabutools' MES ignores projects nobody approves and zero-cost ones
        # (with Cost_Sat their satisfaction is 0)
        self.ids = sorted(p.id for p in instance.projects if p.cost > 0 and approvals[p.id] > 0)
        self.cost = [int(self.real_cost[pid] * self.scale) for pid in self.ids]
        self._group_ballots(instance)

    def _group_ballots(self, instance: Instance) -> None:
        index = {pid: i for i, pid in enumerate(self.ids)}
        groups = Counter(
            frozenset(index[pid] for pid in ballot if pid in index) for ballot in instance.ballots
        )
        groups.pop(frozenset(), None)
        self.group_count = len(groups)
        self.supporter_groups: list[list[int]] = [[] for _ in self.ids]
        self.supporter_weights: list[list[int]] = [[] for _ in self.ids]
        for g, (ballot, weight) in enumerate(groups.items()):
            for p in ballot:
                self.supporter_groups[p].append(g)
                self.supporter_weights[p].append(weight)
        self.weight = [sum(w) for w in self.supporter_weights]
        # Counting classes over a list with one entry per voter runs at C speed;
        # a Python loop over weighted ballots wins only when ballots repeat a lot.
        self.supporter_voters: list[list[int] | None] = [
            [g for g, w in zip(gs, ws) for _ in range(w)] if total < 4 * len(gs) else None
            for gs, ws, total in zip(self.supporter_groups, self.supporter_weights, self.weight)
        ]
        # stored prices start at the all-pay-equally lower bound cost/(W*cost) = 1/W
        self.initial_heap = sorted((1 / w, self.ids[p], p) for p, w in enumerate(self.weight))

    def is_exhaustive(self, selected: list[str], cost: Money) -> bool:
        """pabutools' test for the early stop: no unselected MES project still fits."""
        chosen = set(selected)
        left = self.instance.budget - cost
        return all(pid in chosen or self.real_cost[pid] > left for pid in self.ids)

    def run(self, k: int) -> _Run:
        return _Run(self, k)
