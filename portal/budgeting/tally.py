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
of voters and the common denominator of budget and costs), payments are
``fractions.Fraction``; no float ever decides anything.

How MES is made fast (and why it stays exact):

* Voters are grouped by identical ballots, and at any moment voters holding the
  same budget form one *budget class*. A project's price per supporter is found
  from the classes of its supporters (a few dozen), not from every voter.
* Prices are re-evaluated lazily (the equalshares.net trick): within one run a
  project's price per unit of utility never goes down, so a stale price is a
  lower bound and only projects whose stale price could still win are redone.
* The add1 loops run MES at per-voter budgets ``B/n + k`` for ``k = 0, 1, ...``.
  Each run is computed *parametrically*: every budget is kept as an exact
  affine function ``value + slope * t`` of the extra per-voter budget ``t``, and
  every comparison the run makes records up to which ``t`` it keeps its answer.
  The outcome is therefore provably identical for all ``k`` up to that bound,
  and the loop jumps straight past it instead of re-running MES for each unit.

Complexity. With ``n`` voters, ``m`` projects, ``g <= n`` distinct ballots, ``A``
the number of approvals and ``r <= m`` selection rounds, one MES run costs
``O(r * (m + e * s))`` where ``e`` is the number of price re-evaluations per
round (small thanks to laziness) and ``s`` the supporters of the re-evaluated
project (counted at C speed) plus ``O(A)`` to move voters between classes;
Fraction work is per budget class, not per voter. Greedy is ``O(A + m log m)``.
The add1 loops need one MES run per distinct parametric segment crossed,
typically far fewer than the number of +1 increments.
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
                raise TallyError(
                    f"project id must be a non-empty string, got {project.id!r}"
                )
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
                raise TallyError(
                    f"ballot {index} approves unknown project {min(unknown)!r}"
                )


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
        return tally.result(
            rule, tally.greedy(threshold=_threshold(instance, threshold))
        )
    if rule == "mes":
        return tally.result(rule, tally.mes_plain())
    if rule == "mes-add1":
        return tally.result(rule, tally.mes_add1(stop_when_exhaustive=False))
    if rule == "mes-add1-early":
        return tally.result(rule, tally.mes_add1(stop_when_exhaustive=True))
    if rule == "mes-add1-early-greedy":
        outcome = tally.mes_add1(stop_when_exhaustive=True)
        return tally.result(
            rule, outcome.completed(tally.greedy(start=outcome.selected).selected)
        )
    return tally.result(
        rule, tally.comparison(tally.mes_add1(stop_when_exhaustive=False))
    )


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
    def greedy(
        self, threshold: int | None = None, start: Iterable[str] = ()
    ) -> _Outcome:
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
            if p.id not in taken
            and (threshold is None or self.approvals[p.id] >= threshold)
        ]
        candidates.sort(
            key=lambda p: (-(self.approvals[p.id] if p.cost > 0 else 0), p.id)
        )
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
        return engine.run(0).outcome(0)

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
        previous, k = None, 0
        while True:
            segment = engine.run(k)
            if segment.cost > budget:
                return previous.outcome(k - 1) if previous else _Outcome([])
            if stop_when_exhaustive and engine.is_exhaustive(
                segment.selected, segment.cost
            ):
                return segment.outcome(k)
            if self.progress and budget:
                self.progress(float(segment.cost / budget))
            following = segment.next_k(k)
            if stop_when_exhaustive and following is None:
                return segment.outcome(
                    k
                )  # constant from here on: pabutools would never stop
            if not stop_when_exhaustive and (following is None or following > last_k):
                return segment.outcome(last_k)  # same outcome up to the loop's last k
            previous, k = segment, following

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
def _lt_bound(low, high) -> Fraction | None:
    """For affine ``low < high`` (true at t=0): the t where it stops holding, or None if never."""
    slope = high[1] - low[1]
    if slope >= 0:
        return None
    return Fraction(high[0] - low[0]) / -slope


class _Segment:
    """One parametric MES run: the outcome, valid for every t in [0, limit)."""

    def __init__(self, engine: _MES, k: int):
        self.engine = engine
        self.k = k
        self.limit: Fraction | None = None  # None: valid for every t >= 0
        self.selected: list[str] = []
        self.prices: list[
            tuple[str, tuple]
        ] = []  # (id, affine price per rich supporter)
        self.shares: dict[str, list[tuple[tuple, int]]] = {}
        self.cost: Money = 0

    def keep(self, low, high) -> None:
        """Record that ``low(t) < high(t)`` (or <=) must keep holding for this outcome."""
        bound = _lt_bound(low, high)
        if bound is not None and (self.limit is None or bound < self.limit):
            self.limit = bound

    def next_k(self, k: int) -> int | None:
        """First k after this one whose outcome may differ, or None if none may."""
        if self.limit is None:
            return None
        steps = math.ceil(
            self.limit / self.engine.step
        )  # t = steps*step is no longer covered
        return k + max(1, steps)

    def outcome(self, k: int) -> _Outcome:
        """The outcome at increment ``k`` (inside this segment), payments in real money."""
        t = (k - self.k) * self.engine.step
        scale = self.engine.scale

        def money(affine) -> Fraction:
            return Fraction(affine[0] + affine[1] * t) / scale

        payments = {}
        for project_id, shares in self.shares.items():
            merged = Counter()
            for affine, voters in shares:
                merged[money(affine)] += voters
            payments[project_id] = tuple(
                Share(amount, voters)
                for amount, voters in sorted(merged.items(), reverse=True)
            )
        return _Outcome(
            list(self.selected),
            payments,
            voter_budget=money((self.engine.base + self.k * self.engine.step, 1)),
            prices=tuple((pid, money(price)) for pid, price in self.prices),
            increment=k,
        )


class _MES:
    """Method of Equal Shares with cost utilities on grouped ballots, exact and parametric.

    Money is scaled by ``scale = n * D`` (D: common denominator of budget and
    costs) so that the starting per-voter budget B/n and every cost are
    integers. A budget is an affine pair ``(value, slope)``: its amount when the
    per-voter budget is raised by ``t`` scaled units is ``value + slope * t``.
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
        self.ids = sorted(
            p.id for p in instance.projects if p.cost > 0 and approvals[p.id] > 0
        )
        self.cost = [int(self.real_cost[pid] * self.scale) for pid in self.ids]
        self._group_ballots(instance, approvals)

    def _group_ballots(self, instance: Instance, approvals) -> None:
        index = {pid: i for i, pid in enumerate(self.ids)}
        groups = Counter(
            frozenset(index[pid] for pid in ballot if pid in index)
            for ballot in instance.ballots
        )
        groups.pop(frozenset(), None)
        self.group_count = len(groups)
        self.supporter_groups: list[list[int]] = [[] for _ in self.ids]
        self.supporter_voters: list[list[int]] = [
            [] for _ in self.ids
        ]  # group index per voter
        for g, (ballot, weight) in enumerate(groups.items()):
            for p in ballot:
                self.supporter_groups[p].append(g)
                self.supporter_voters[p].extend([g] * weight)
        self.weight = [len(v) for v in self.supporter_voters]

    def is_exhaustive(self, selected: list[str], cost: Money) -> bool:
        """pabutools' test for the early stop: no unselected MES project still fits."""
        chosen = set(selected)
        left = self.instance.budget - cost
        return all(pid in chosen or self.real_cost[pid] > left for pid in self.ids)

    def run(self, k: int) -> _Segment:
        return _Run(self, k).segment


class _Run:
    """A single MES run at per-voter budget B/n + k, tracking how far it stays valid."""

    def __init__(self, engine: _MES, k: int):
        self.e = engine
        self.segment = _Segment(engine, k)
        start = (engine.base + k * engine.step, 1)
        self.class_of = [0] * engine.group_count
        self.classes: list[tuple] = [start]  # class id -> affine budget
        self.class_id = {start: 0}
        self.heap = [
            (Fraction(1, w), engine.ids[p], p, (Fraction(1, w), 0))
            for p, w in enumerate(engine.weight)
        ]
        heapq.heapify(self.heap)
        while self.heap:
            self._round()

    def _intern(self, budget: tuple) -> int:
        found = self.class_id.get(budget)
        if found is None:
            found = self.class_id[budget] = len(self.classes)
            self.classes.append(budget)
        return found

    def _round(self) -> None:
        """Select the project with the lowest price per unit of utility, if any is affordable."""
        best, tied, evaluated = None, [], []
        while self.heap and (best is None or self.heap[0][0] <= best[0][0]):
            _, name, p, _ = heapq.heappop(self.heap)
            price = self._price(p)
            if price is None:
                continue  # unaffordable now, and budgets only shrink within a run
            afford = price[0]
            evaluated.append((afford, name, p, price))
            if best is None or afford[0] < best[0][0]:
                best, tied = (afford, price), [(name, p, price)]
            elif afford[0] == best[0][0]:
                tied.append((name, p, price))
        if best is None:
            return
        name, winner, price = min(tied)
        afford = best[0]
        for other_afford, other_name, p, other_price in evaluated:
            if p != winner:
                self._keep_order(afford, name, other_afford, other_name)
                heapq.heappush(
                    self.heap, (other_afford[0], other_name, p, other_afford)
                )
        for other_afford0, other_name, p, other_afford in self.heap:
            self._keep_order(afford, name, other_afford, other_name)
        self._pay(winner, price)

    def _keep_order(self, afford, name, other, other_name) -> None:
        """The winner must keep beating ``other`` (ties go to the smaller id string)."""
        if afford[0] == other[0] and afford[1] == other[1]:
            if other_name < name:
                raise AssertionError(
                    "tie broken against the smaller id"
                )  # cannot happen
            return
        self.segment.keep(afford, other)

    def _price(self, p: int):
        """Exact price per rich supporter of project ``p`` (affine), or None if unaffordable.

        Supporters are taken by budget class from the poorest: a class pays its
        whole budget while that is less than the equal share of what remains.
        Returns (afford, q, class counts, poor classes) where afford = q / cost
        is what MES minimises. For other t the same poor/rich split gives a
        lower bound on the true price (the poor cannot pay more than their
        budget, the rich no more than q), so only the winner's split needs to
        be recorded as a condition (in ``_pay``); an unaffordable verdict is.
        """
        e, segment, classes = self.e, self.segment, self.classes
        cost = e.cost[p]
        counts = Counter(map(self.class_of.__getitem__, e.supporter_voters[p]))
        budgets = sorted(
            ((classes[c], c, w) for c, w in counts.items()), key=lambda x: x[0][0]
        )
        total = (
            sum(b[0] * w for b, _, w in budgets),
            sum(b[1] * w for b, _, w in budgets),
        )
        if total[0] < cost:
            segment.keep(total, (cost, 0))
            return None
        rich, paid0, paid1 = e.weight[p], 0, 0
        poor = set()
        for budget, c, w in budgets:
            q = (Fraction(cost - paid0, rich), Fraction(-paid1, rich))
            if q[0] <= budget[0]:
                break
            poor.add(c)
            paid0 += budget[0] * w
            paid1 += budget[1] * w
            rich -= w
        return (q[0] / cost, q[1] / cost), q, counts, poor

    def _pay(self, p: int, price) -> None:
        """Charge the supporters of ``p`` and move them to their new budget classes."""
        _, q, counts, poor = price
        e, segment = self.e, self.segment
        pid = e.ids[p]
        zero = self._intern((0, 0))
        moved, shares = {}, []
        for c, w in counts.items():
            budget = self.classes[c]
            if c in poor:
                segment.keep(budget, q)  # stays poor: budget < q
                moved[c] = zero
                shares.append((budget, w))
            else:
                segment.keep(q, budget)  # stays rich: q <= budget
                moved[c] = self._intern((budget[0] - q[0], budget[1] - q[1]))
                shares.append((q, w))
        class_of = self.class_of
        for g in e.supporter_groups[p]:
            class_of[g] = moved[class_of[g]]
        segment.selected.append(pid)
        segment.prices.append((pid, q))
        segment.shares[pid] = shares
        segment.cost += e.real_cost[pid]
