"""Exact tally of approval-ballot participatory budgeting: greedy and Method of Equal Shares.

No Flask, no database, no pabutools (numpy, and numba when installed). Every rule gives
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

Results are exact: money is scaled to integers (times the number of voters
and the common denominator of budget and costs), and every price MES charges
is an exact rational (integer numerators over one common denominator,
multiplied up only when a price does not divide evenly). Floats are used to
*find* answers fast, never to *decide* them: see below.

How MES is made fast (pure Python plus numpy; no Flask, no database):

* Voters with identical ballots are one weighted group; the budgets of all
  groups are one float64 array, so a project's price is computed over its
  supporter groups with a handful of vectorised passes.
* Exactness with floats: a living group's exact budget is ``B0`` minus the
  exact prices of the winners it approves, a group that paid all it had holds
  exactly 0, and the float budgets carry a proven error bound. Winners are
  charged their float price (whose split into poor and rich supporters is
  proven) and the bound grows by that price's error; exact prices are
  computed only when something needs them (an exact decision, the outcome),
  and the float budgets are recomputed from them when the bound would exceed
  ``_RESYNC`` of a budget (never on Warsaw 2026, in one run in five on Mokotów). Each
  decision -- is a project affordable, which supporters pay all they have,
  which project is cheapest -- is taken in floats only when its margin
  exceeds the error bound; otherwise (ties, a budget equal to a price) it is
  taken in exact integer/Fraction arithmetic. Ties go to the smaller id.
* A run's rounds run in compiled code (numba, :mod:`portal.budgeting.mes_kernels`:
  the same heap, float formulas and bounds as :meth:`_Run._round`), which hands
  every round needing exact arithmetic back to the numpy/Fraction code here;
  a tally switches to it after ``_SWITCH_AFTER`` seconds of numpy runs, and
  stays on numpy if numba is missing. Results are the same either way.
* Prices are re-evaluated lazily (the equalshares.net trick): within one run a
  project's price per unit of utility never goes down, so a stale price is a
  lower bound and only projects whose stale price could still win are redone;
  a project's last price also seeds the poor/rich iteration for its next one.
* The add1 rules run MES once per increment k = 0, 1, ..., each from scratch
  (pabutools' order of checks, so the stopping increment is the same), but
  skip increments at which the selection provably cannot change -- the
  stopping checks depend on the selection only, and the run returned is
  redone at the increment the one-by-one loop stops at, so results are
  identical to trying every increment. Two proofs:

  - small electorates (groups * projects <= ``_JUMP_LIMIT``): after the run
    at k, an exact replay finds the first k' at which any comparison the run
    made (affordability, poor/rich split, cheapest project) could change its
    outcome, all of them being affine in k' until then
    (:meth:`_MES.stable_for`);
  - any electorate: budgets grow with k, so prices fall with k as long as
    the winners so far agree. Two runs at k1 < k2 that select the same order,
    where in every round each other project at k2 costs more than the winner
    at k1, bracket every increment in between (:meth:`_MES.bracketed`).
    The run at k2 evaluates every project that might cost less than k1's
    winner of that round; windows double after a proof and are halved
    (recursively, using every run made) after a failure.

  On the large real files the selection changes at one increment in two or
  three (Warsaw 2026: the order of winners changes at 66 of 185 increments) and some
  project's price is nearly always within one increment of a winner's, so
  neither proof skips much there; they matter when a budget is large per
  voter (many increments, few changes), at any size.

Complexity. With ``n`` voters, ``g <= n`` distinct ballots, ``m`` projects,
``A`` approvals and ``r <= m`` rounds per run: building the groups costs
``O(n)`` hashing of whole ballots plus ``O(A_g + g*m)`` for the approvals
``A_g`` of the distinct ballots; one MES run costs ``O(g + r*m*log m + E)`` numpy element
operations, where ``E`` is the total number of supporter groups of the
projects evaluated (a few per round thanks to laziness, each evaluation a
small constant number of passes), plus ``O(r^2)`` big-integer operations for
the exact prices and exact work proportional to the (rare) close decisions.
The add1 rules cost one run per increment, ``O(K * run)`` for ``K``
increments (150-250 on the real files). A few voters with a large budget
mean millions of increments (K is about the per-voter cost of the winners);
there the skips make it one run (plus one ``O(r*m*g)`` exact replay) per
*change* of the selection, a few hundred at most in practice: 6 projects,
12 voters and a budget of 60,000,000 take well under a second instead of
tens of minutes. Replays are timed against runs and tried less often while
they save too little, so instances with many changes are not slowed down.
On larger electorates bracketing costs O(log) runs per stretch of equal
selections plus the projects evaluated up to the ceiling; after failures it
pauses for 1, 3, 7, ... plain runs: 300 voters and a budget of 60,000,000
(155,000 increments) take about 500 runs instead of one per increment.
Greedy is ``O(A + m log m)``.
"""

from __future__ import annotations

import heapq
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from numbers import Rational

import numpy as np

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
    return _run(instance, rule, threshold, progress, single_steps=False)


def _run(
    instance,
    rule,
    threshold=None,
    progress=None,
    *,
    single_steps: bool,
    bracket: bool | None = None,
) -> Result:
    """:func:`run`; ``single_steps`` makes the add1 rules try every increment (tests' oracle).

    ``bracket`` forces (True) or forbids (False) the bracketing skips of the add1
    rules (:meth:`_MES.bracketed`); by default they serve the electorates too
    large for :meth:`_MES.stable_for`.
    """
    if not isinstance(instance, Instance):
        raise TallyError("run() needs an Instance")
    if rule not in RULES:
        raise TallyError(f"unknown rule {rule!r}; choose one of: {', '.join(RULES)}")
    tally = _Tally(instance, progress, single_steps, bracket)
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

    def __init__(self, instance: Instance, progress, single_steps=False, bracket=None):
        self.instance = instance
        self.progress = progress
        self.single_steps = single_steps
        self.bracket = bracket
        self.cost = {p.id: p.cost for p in instance.projects}
        self.table = _ballot_table(instance)
        self.ballots = self.table.distinct
        self.approvals = self.table.approvals

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
            self._mes = _MES(self.instance, self.table)
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

        On small electorates the increments in which the selection provably
        cannot change are skipped (:meth:`_MES.stable_for`); the stopping
        checks depend on the selection only, and the run returned is redone at
        the exact increment the one-by-one loop would return, so the result is
        the same. ``self.single_steps`` forces the one-by-one loop (the tests' oracle).
        """
        engine = self.mes_engine()
        if engine.n == 0:
            return _Outcome([])  # pabutools: MES with no ballots selects nothing
        budget = self.instance.budget
        last_k = math.floor(budget)
        previous = None
        for current in self._runs(engine, last_k):
            k = current.k
            if current.cost > budget:
                if previous is None:
                    return _Outcome([])
                if previous.k != k - 1:  # same selection all the way to k - 1
                    previous = engine.run(k - 1)
                return previous.outcome()
            if stop_when_exhaustive and engine.is_exhaustive(current.selected, current.cost):
                return current.outcome()
            if self.progress and budget:
                self.progress(float(current.cost / budget))
            previous = current
        if previous.k != last_k:  # same selection all the way to last_k
            previous = engine.run(last_k)
        return previous.outcome()

    def _runs(self, engine: _MES, last_k: int):
        """MES runs at increasing k from 0 to at most ``last_k``; each k left out selects
        exactly what the run before it selects."""
        if self.single_steps:
            return (engine.run(k) for k in range(last_k + 1))
        bracket = self.bracket if self.bracket is not None else not engine.can_jump
        if bracket:
            return self._bracketed_runs(engine, last_k)
        return self._jumping_runs(engine, last_k)

    def _jumping_runs(self, engine: _MES, last_k: int):
        """Small electorates: skip the increments :meth:`_MES.stable_for` proves idle."""
        k = wait = misses = 0
        while k <= last_k:
            started = time.perf_counter()
            current = engine.run(k)
            run_time = time.perf_counter() - started
            yield current
            jump = 1
            if wait:
                wait -= 1
            else:
                started = time.perf_counter()
                jump = engine.stable_for(k, current.order)
                cost = (time.perf_counter() - started) / max(run_time, 1e-9)
                # A look costs ``cost`` runs. When it saves fewer (the
                # selection keeps changing), look less and less often:
                # the overhead stays O(cost * log K) runs. Timing only
                # decides when to look, never the result.
                if jump - 1 >= cost:
                    misses = 0
                else:
                    misses = min(2 * misses + 1, 1024)
                    wait = max(misses, math.ceil(cost))
            k = last_k + 1 if jump is math.inf else k + jump

    def _bracketed_runs(self, engine: _MES, last_k: int):
        """Any electorate: skip the increments between two runs that bracket them.

        From the run at ``low``, the run ``width`` increments further is made
        against ``low`` (:meth:`_MES.bracketed`); if the two do not prove that
        nothing changes in between, the window is halved recursively (every
        run made is used, in order, unless the loop stops inside the window).
        The window doubles after a proof and shrinks ``_SHRINK`` times after a
        failure (a change of the selection rarely means the next stretch is
        short). After a failure plain runs follow,
        more of them after each further failure (up to ``_BRACKET_PAUSE``):
        where the selection changes at nearly every increment (large
        electorates, where some price is always within an increment of
        another) trying costs little.
        """
        low = engine.run(0)
        yield low
        width, wait, misses = 2, 0, 0
        while low.k < last_k:
            if wait:
                wait -= 1
                low = engine.run(low.k + 1)
                yield low
                continue
            high = engine.run(min(low.k + width, last_k), low)
            if engine.bracketed(low, high):
                width, misses = min(2 * width, _BRACKET_MOST), 0
            else:
                width, misses = max(2, width // _SHRINK), min(2 * misses + 1, _BRACKET_PAUSE)
                wait = misses
            yield from self._between(engine, low, high)
            low = high

    def _between(self, engine: _MES, low: _Run, high: _Run):
        """The runs needed after ``low`` up to ``high`` (included), in order.

        The middle run is made against ``low``, the closest run below it: the
        nearer the reference, the less its winners' prices exceed those at
        ``mid``, and the more often ``(low, mid)`` is proven (a reference at the
        window's start made a realistic tenge-sized heading take 8 times more runs).
        """
        if high.k - low.k > 1 and not engine.bracketed(low, high):
            mid = engine.run((low.k + high.k) // 2, low)
            yield from self._between(engine, low, mid)
            yield from self._between(engine, mid, high)
        else:
            yield high

    # ------------------------------------------------------------- comparison
    def comparison(self, mes: _Outcome) -> _Outcome:
        """Keep ``mes`` unless strictly more voters approve more greedy winners."""
        greedy = self.greedy()
        mes_set, greedy_set = set(mes.selected), set(greedy.selected)
        if mes_set == greedy_set:
            return mes
        prefer_greedy = prefer_mes = 0
        for ballot, voters in self.ballots.items():
            in_mes, in_greedy = len(ballot & mes_set), len(ballot & greedy_set)
            prefer_greedy += voters * (in_greedy > in_mes)
            prefer_mes += voters * (in_mes > in_greedy)
        return greedy if prefer_greedy > prefer_mes else mes


def _distinct_ballots(instance: Instance) -> Counter:
    """Each distinct ballot (a frozenset) and how many voters cast it: hashing whole
    ballots once is much cheaper than visiting every approval of every voter."""
    try:
        return Counter(instance.ballots)
    except TypeError:  # plain sets are allowed too
        return Counter(frozenset(ballot) for ballot in instance.ballots)


@dataclass
class _Ballots:
    """The distinct ballots as a table: ``member[i, j]`` says whether distinct ballot i
    approves the j-th project (instance order), ``voters[i]`` how many cast it."""

    distinct: Counter
    member: np.ndarray
    voters: np.ndarray
    approvals: dict[str, int]


def _ballot_table(instance: Instance) -> _Ballots:
    distinct = _distinct_ballots(instance)
    index = {p.id: j for j, p in enumerate(instance.projects)}
    cols = [index[pid] for ballot in distinct for pid in ballot]
    lens = [len(ballot) for ballot in distinct]
    voters = np.fromiter(distinct.values(), dtype=np.int64, count=len(distinct))
    member = np.zeros((len(distinct), len(index)), dtype=bool)
    member[np.repeat(np.arange(len(distinct)), lens), cols] = True
    # float64 sums of voter counts are exact (far below 2**53)
    counts = np.bincount(cols, weights=np.repeat(voters, lens), minlength=len(index))
    approvals = {p.id: int(c) for p, c in zip(instance.projects, counts.tolist())}
    return _Ballots(distinct, member, voters, approvals)


# ----------------------------------------------------------------- exact MES
_U = 2.0**-53  # unit roundoff of float64: every float operation errs by at most this, relatively
_ALIVE = np.iinfo(np.int32).max  # "round of death" of a voter group that still has money
_JUMP_LIMIT = 2048  # groups * projects up to which the add1 loops look for increments to skip
_BRACKET_MOST = 1024  # widest window of increments bracketed at once
_BRACKET_PAUSE = 63  # most plain runs between two failed brackets
_SHRINK = 4  # after a failed bracket the next window is this many times narrower
_RESYNC = 2.0**-11  # error bound (relative to a budget) past which float budgets are redone


class _Price:
    """What one evaluation of a project's price found.

    ``rho`` (price per unit of utility, a float) is within ``err`` of the exact
    value. ``poor`` marks the supporters (of ``e.sup[p]``) who pay all they
    have, None when nobody does; ``rich`` counts the voters who pay the full
    price. ``exact`` is the exact price per rich supporter once computed;
    ``dying`` (living groups that pay all they have) is set when the split
    was decided in exact arithmetic.
    """

    __slots__ = ("p", "rho", "err", "poor", "exact", "dying", "rich", "s", "err_s", "b", "few")

    def __init__(
        self,
        p,
        rho,
        err,
        poor,
        exact=None,
        dying=None,
        rich=None,
        s=0.0,
        err_s=0.0,
        b=None,
        few=None,
    ):
        self.p, self.rho, self.err, self.poor = p, rho, err, poor
        self.exact, self.dying, self.rich = exact, dying, rich
        # float price per rich supporter; the bound on its error, but for the errors
        # of the living poor supporters' budgets when there are some (see _Run._pay)
        self.s, self.err_s = s, err_s
        # the supporters' float budgets the price was found from (current until the
        # round's winner is paid) and the positions of the poor among them
        self.b, self.few = b, few


_UNSURE = object()
_sum, _min, _max = np.add.reduce, np.minimum.reduce, np.maximum.reduce
# No BLAS calls (``@``, ``np.dot``) below: on a busy machine waking OpenBLAS's
# threads for each small product costs milliseconds; ufunc loops and einsum
# stay on the calling thread.


class _Run:
    """One MES run at per-voter budget B/n + k.

    Budgets are float64 arrays (one entry per distinct ballot) with a proven
    bound ``errb`` on their error. Every decision -- is a project affordable,
    who pays all they have, which project is cheapest -- is taken in floats
    only when the float margin exceeds the error bound; otherwise it is
    decided in exact arithmetic. A winner is charged its float price, its
    split (who pays all they have) being proven; its exact price
    (``num[j] / den``) follows from that split and is computed when needed
    (:meth:`_exact_prices`): a living group's budget is exactly
    ``B0 - (sum of the prices of the winners it approves)`` and a group that
    paid all it had holds exactly 0.
    """

    def __init__(self, engine: _MES, k: int, ref: _Run | None = None):
        e = self.e = engine
        self.k = k
        # ``ref``, a run at a smaller k: in each round, every project that might
        # cost less than ref's winner of that round is evaluated, and
        # ``beaten[j]`` says whether each project left in round j provably costs
        # more than ref's winner j (or as much, with a larger id).
        self.ref = ref
        self.ceiling = ref.ceilings() if ref is not None else []
        self.floor = ref.floors() if ref is not None else []
        self.beaten: list[bool] = []
        # bounds on each winner's exact price per unit of utility (ceilings, floors)
        self.highs: list[float] = []
        self.lows: list[float] = []
        self.B0 = e.base + k * e.step  # exact, scaled
        self.B0f = float(self.B0)
        self.bud = e.fresh_budgets(self.B0f)
        self.died = np.full(e.group_count, _ALIVE, dtype=np.int32)
        self.errb = 4 * _U * self.B0f
        self.order: list[int] = []  # winner of each round (project index)
        self.dying: list[np.ndarray] = []  # groups that paid all they had, per round
        self.rich: list[int] = []  # voters who paid the full price, per round
        self.den = 1  # exact prices are num[j] / den (scaled money)
        self.num: list[int] = []
        self.selected: list[str] = []
        self.cost: Money = 0
        self.s_low = np.zeros(len(e.ids))  # lower bounds on current prices
        self.money = self.B0 * e.n  # all voters' money left (exact, scaled)
        if e.kernels is None:
            heap = list(engine.initial_heap)  # a sorted list is a valid heap
            while self._round(heap):
                pass
        else:
            self._compiled_rounds()
        # keep only what :meth:`_MES.bracketed` reads, not a chain of whole runs
        self.ref_k, self.ref_order = (ref.k, ref.order) if ref is not None else (None, None)
        self.ref = None

    def _compiled_rounds(self) -> None:
        """All rounds, in compiled code (:func:`mes_kernels.rounds`) but for those that need
        exact arithmetic, which :meth:`_round` does."""
        e, k = self.e, self.e.kernels
        keys, ps, size = e.heap_keys.copy(), e.heap_ps.copy(), len(e.heap_ps)
        m = len(e.ids)
        order = np.empty(m, dtype=np.int64)
        rich = np.empty(m)
        highs = np.empty(m)
        lows = np.empty(m)
        beaten = np.full(m, -1, dtype=np.int8)
        ceiling = np.array(self.ceiling, dtype=np.float64)
        floor = np.array(self.floor, dtype=np.float64)
        ref_order = np.array(self.ref.order if self.ref is not None else [], dtype=np.int64)
        tracking = True
        while True:
            r = len(self.order)
            tracking = tracking and len(self.beaten) == r and all(self.beaten)
            try:  # an upper bound on the money left, for a filter only
                money_high = float(self.money) * (1 + 4 * _U)
            except OverflowError:
                money_high = math.inf
            status, end, size, self.errb, _, _ = k.rounds(
                self.bud, self.died, self.s_low, e.ptr, e.idx, e.wsup_all, e.w,
                e.cost_a, e.weight_a, keys, ps, size, order, rich, highs, lows, beaten, r,
                self.errb, self.B0f, money_high, _RESYNC * self.B0f,
                ceiling, floor, ref_order, tracking,
            )  # fmt: skip
            won = order[r:end].tolist()
            self.order += won
            self.dying += [None] * len(won)  # from ``died`` when needed (_dying)
            self.rich += [int(x) for x in rich[r:end].tolist()]
            self.highs += highs[r:end].tolist()
            self.lows += lows[r:end].tolist()
            pids = [e.ids[p] for p in won]
            self.selected += pids
            self.cost += sum(e.real_cost[pid] for pid in pids)
            self.money -= sum(e.cost[p] for p in won)
            self.beaten += [x == 1 for x in beaten[r:end].tolist() if x >= 0]
            if status == k.DONE:
                return
            if status == k.RESYNC:
                self._resync()
                continue
            heap = [(key, e.ids[p], p) for key, p in zip(keys[:size].tolist(), ps[:size].tolist())]
            heapq.heapify(heap)
            if not self._round(heap):
                return
            size = len(heap)
            keys[:size] = [entry[0] for entry in heap]
            ps[:size] = [entry[2] for entry in heap]

    def _dying(self, j: int) -> np.ndarray:
        """The living groups that paid all they had in round ``j``."""
        if self.dying[j] is None:
            sup = self.e.sup[self.order[j]]
            self.dying[j] = sup[self.died.take(sup) == j]
        return self.dying[j]

    # ---------------------------------------------------------- one round
    def _round(self, heap) -> bool:
        """Select the project with the lowest price per unit of utility; False when none is left.

        Lazy evaluation: within a run budgets only shrink, so a price found
        earlier is a lower bound. Projects are popped while their lower bound
        does not exceed the best upper bound found so far; the rest are
        provably dearer. Among the evaluated projects whose float intervals
        overlap the best one, the winner is chosen by exact Fraction
        comparison, ties to the smaller id string (pabutools' default).
        """
        found, best_high, popped, totals = [], math.inf, 0, None
        e = self.e
        r = len(self.order)
        # while the proof against ``ref`` still stands, projects never popped
        # cost more than the ceiling
        tracking = r < len(self.ceiling) and len(self.beaten) == r and all(self.beaten)
        ceiling = self.ceiling[r] if tracking else -math.inf
        while heap and heap[0][0] <= max(best_high, ceiling):
            _, name, p = heapq.heappop(heap)
            if e.cost[p] > self.money:
                continue  # not even all the money left would pay for it
            popped += 1
            if popped > 4 and e.small:
                # many candidates (typically the last round, when none is
                # affordable): one product gives every project's supporters' money
                if totals is None:
                    totals = np.einsum("i,ij->j", self.bud * e.w_f, e.member_f)
                    slack = (e.group_count + 4) * _U
                if totals[p] * (1 + slack) + e.weight[p] * self.errb < e.cost_f[p] * (1 - _U):
                    continue
            price = self._estimate(p)
            if price is _UNSURE:
                price = self._exact_estimate(p)
            if price is None:
                continue  # unaffordable now, hence for the rest of the run
            found.append((name, price))
            best_high = min(best_high, price.rho + price.err)
        if not found:
            return False
        close = [(name, c) for name, c in found if c.rho - c.err <= best_high]
        if len(close) == 1:
            winner = close[0][1]
        else:
            winner = min((self._exact_rho(c), name, c) for name, c in close)[2]
        for name, c in found:
            if c is not winner:
                heapq.heappush(heap, ((c.rho - c.err) * (1 - 4 * _U), name, c.p))
        if tracking:
            self.beaten.append(
                winner.p == self.ref.order[r]
                and all(self._beats_ref(r, name, c) for name, c in found if c is not winner)
            )
        self._pay(winner)
        return True

    def _beats_ref(self, r: int, name: str, price: _Price) -> bool:
        """Does ``price.p`` lose round ``r`` against ``self.ref``'s winner at its price there?"""
        if price.rho - price.err > self.ceiling[r]:
            return True
        if price.rho + price.err < self.floor[r]:
            return False  # provably cheaper: no exact prices needed
        ref = self.ref
        ref._exact_prices()
        p = ref.order[r]
        theirs = Fraction(ref.num[r], ref.den * self.e.cost[p])
        ours = self._exact_rho(price)
        return ours > theirs or (ours == theirs and self.e.ids[p] < name)

    def _estimate(self, p: int):
        """Float price of ``p`` with a proven error bound (None: unaffordable, _UNSURE: undecided).

        The price s solves sum(min(budget, s)) = cost over the supporters.
        Float budgets are within ``errb`` of the exact ones; the split into
        poor (pay all they have) and rich (pay s) supporters is accepted only
        when every supporter's budget is farther from s than the combined
        error, which proves both the split and the bound on s.
        """
        e = self.e
        b = self.bud.take(e.sup[p])  # take: faster than indexing, same values
        w = e.wsup_f[p]
        cost = e.cost_f[p]
        weight = e.weight[p]
        errb = self.errb
        bw = b * w
        total = _sum(bw)
        err_total = (len(b) + 4) * _U * abs(total) + weight * errb + _U * cost
        if total + err_total < cost:
            return None
        if total - err_total < cost and not self._affordable_exactly(p):
            return None
        s = cost / weight
        # Start from the last price found in this run, a lower bound: who is
        # poor at it is poor now, and the poor/rich iteration only adds more.
        # The split is the one s was computed from, certified below.
        new = b < max(s, self.s_low[p])
        few = new.nonzero()[0]  # the poor: usually a small share of the supporters
        if not len(few):  # everybody can pay an equal share
            low = _min(b)
            err_s = 4 * _U * s
            if low - errb <= s + err_s:
                return _UNSURE
            rho = s / cost
            return _Price(p, rho, err_s / cost + 4 * _U * rho, None, s=s, err_s=err_s, b=b)
        for _ in range(8):
            poor = new
            paid = _sum(bw[few])
            rich = weight - _sum(w[few])
            if rich <= 0:
                return _UNSURE
            s = (cost - paid) / rich
            new = b < s
            count = np.count_nonzero(new)
            if count == len(few):  # in exact arithmetic the set only grows
                break
            few = new.nonzero()[0]
        else:
            return _UNSURE  # slow convergence: let exact arithmetic sort it out
        err_paid = (count + 4) * _U * abs(paid) + (weight - rich) * errb
        err_s = 2 * ((err_paid + _U * cost + _U * abs(cost - paid)) / rich + _U * s)
        if s - err_s <= 0 or (len(few) and _max(b[few]) + errb >= s - err_s):
            return _UNSURE
        # every poor budget is below ``above``, so no rich one is at most ``above``
        # when as many budgets as there are poor are (1 + 4U covers the roundings)
        above = (s + err_s + errb) * (1 + 4 * _U)
        if np.count_nonzero(b <= above) != len(few):
            return _UNSURE
        self.s_low[p] = s - err_s
        rho = s / cost
        # what paying s adds to the budgets' error: as err_s, but the supporters who
        # paid all they had before (budget exactly 0) bring no error to ``paid``
        err_pay = err_s - 2 * (weight - rich) * errb / rich
        err = err_s / cost + 4 * _U * rho
        return _Price(p, rho, err, poor, rich=int(rich), s=s, err_s=err_pay, b=b, few=few)

    # ---------------------------------------------------------- exact side
    def _exact_money(self, groups: np.ndarray, upto: int | None = None) -> int:
        """Exact total budget of ``groups``, living before round ``upto`` (default: now),
        as a numerator over ``den``; the exact prices of the rounds before must be known.

        A living group's budget is B0 minus the prices of the winners it approves.
        """
        if not len(groups):
            return 0
        e = self.e
        total = self.B0 * self.den * int(_sum(e.w[groups]))
        order = self.order if upto is None else self.order[:upto]
        if not order:
            return total
        # voters per winner among the groups: integers <= n, exact in member_c's type
        w = e.w_c[groups]
        counts = np.einsum("i,ij->j", w, e.member_c[groups])[order]
        return total - sum(a * int(c) for a, c in zip(self.num, counts.tolist()) if c)

    def _exact_prices(self) -> None:
        """Compute the exact prices (``num[j] / den``) of the rounds paid in floats so far.

        Round j's price is (cost - exact money of the groups that paid all they had) / rich,
        the split having been proven when the winner was chosen.
        """
        e = self.e
        for j in range(len(self.num), len(self.order)):
            p, rich = self.order[j], self.rich[j]
            remaining = e.cost[p] * self.den - self._exact_money(self._dying(j), j)
            # numerator over den, den grown so that it divides
            g = math.gcd(remaining, rich)
            factor = rich // g
            if factor > 1:
                self.den *= factor
                self.num = [a * factor for a in self.num]
            self.num.append(remaining // g)

    def _resync(self) -> None:
        """Recompute the float budgets from the exact prices (correctly rounded): the error
        bound, which grows with each price paid in floats, is back to a few ulps per round."""
        self._exact_prices()
        e = self.e
        bud = np.full(e.group_count, self.B0f)
        for j, p in enumerate(self.order):
            sup = e.sup[p]
            bud[sup[self.died[sup] > j]] -= float(Fraction(self.num[j], self.den))
        bud[self.died != _ALIVE] = 0.0
        self.bud = bud
        self.errb = 4 * _U * self.B0f * (len(self.order) + 1)

    def _affordable_exactly(self, p: int) -> bool:
        self._exact_prices()
        e = self.e
        sup = e.sup[p]
        alive = sup[self.died[sup] == _ALIVE]
        return self._exact_money(alive) >= e.cost[p] * self.den

    def _split(self, price: _Price) -> tuple[np.ndarray, int]:
        """Living supporters who pay all they have, and the number of rich voters."""
        if price.dying is not None:
            return price.dying, price.rich
        e, p = self.e, price.p
        if price.poor is None:
            return e.sup[p][:0], e.weight[p]
        poor = e.sup[p].take(price.few)
        return poor[self.died.take(poor) == _ALIVE], price.rich

    def _exact_rho(self, price: _Price) -> Fraction:
        """Exact price per unit of utility (from a split proven right)."""
        if price.exact is None:
            self._exact_prices()
            dying, rich = self._split(price)
            remaining = self.e.cost[price.p] * self.den - self._exact_money(dying)
            price.exact = Fraction(remaining, self.den * rich)
        return price.exact / self.e.cost[price.p]

    def _budgets(self, groups: np.ndarray, upto: int):
        """Exact budgets (numerators over ``den``) of living ``groups`` before round ``upto``.

        Returns the distinct budgets and, for each group, the index of its
        budget; computed once per distinct set of approved winners.
        """
        start = self.B0 * self.den
        if not len(groups):
            return [], np.zeros(0, dtype=np.intp)
        if not upto:
            return [start], np.zeros(len(groups), dtype=np.intp)
        rows = self.e.member[np.ix_(groups, self.order[:upto])]
        unique, inverse = np.unique(rows, axis=0, return_inverse=True)
        prices = self.num[:upto]
        budgets = [start - sum(a for a, x in zip(prices, row) if x) for row in unique.tolist()]
        return budgets, inverse.reshape(-1)

    def _exact_estimate(self, p: int):
        """Exact price of ``p`` by pabutools' poor/rich loop; None if unaffordable."""
        self._exact_prices()
        e = self.e
        sup = e.sup[p]
        alive_mask = self.died[sup] == _ALIVE
        alive = sup[alive_mask]
        budgets, inverse = self._budgets(alive, len(self.order))
        voters = np.bincount(inverse, weights=e.wsup_f[p][alive_mask], minlength=len(budgets))
        pool = Counter()
        for budget, v in zip(budgets, voters.tolist()):
            pool[budget] += int(v)
        weight, cost = e.weight[p], e.cost[p] * self.den
        pool[0] += weight - int(e.wsup[p][alive_mask].sum())
        if sum(b * v for b, v in pool.items()) < cost:
            return None
        rich, remaining = weight, cost
        for budget in sorted(pool):
            if remaining <= budget * rich:
                break
            remaining -= budget * pool[budget]
            rich -= pool[budget]
        # poor: budget/den < remaining/(den*rich)
        poor_classes = np.array([b * rich < remaining for b in budgets], dtype=bool)
        dying = alive[poor_classes[inverse]]
        s = Fraction(remaining, self.den * rich)
        rho = float(s / e.cost[p])
        return _Price(p, rho, 4 * _U * rho, None, s, dying, rich)

    # ---------------------------------------------------------- paying
    def _pay(self, price: _Price) -> None:
        """Charge the supporters of the winner at its float price; record the round.

        The exact price is computed later, when something needs it
        (:meth:`_exact_prices`); the error bound of the float budgets grows by
        the price's own, and they are recomputed from exact prices when it
        would grow past ``_RESYNC`` of a budget.
        """
        e, p, r = self.e, price.p, len(self.order)
        sup = e.sup[p]
        dying, rich = self._split(price)
        if price.exact is not None:
            s = float(price.exact)  # correctly rounded
            err_s = _U * s
        else:
            # the living supporters who pay all they have: errb each in ``paid``
            s = price.s
            err_s = price.err_s + 2 * int(_sum(e.w[dying])) * self.errb / rich
        if price.b is not None:
            # the same b - s for the rich and 0 for the poor, without selecting either
            paid = price.b - s
            if price.few is not None:
                paid[price.few] = 0.0
            self.bud[sup] = paid
        else:
            payers = sup[(self.died[sup] == _ALIVE) & ~np.isin(sup, dying)]
            self.bud[dying] = 0.0
            self.bud[payers] -= s
        self.died[dying] = r
        # a payer's b - s: b's error, s's, and one rounding of a result below B0
        self.errb += err_s + 4 * _U * self.B0f
        self.order.append(p)
        self.dying.append(dying)
        self.rich.append(rich)
        self.highs.append((price.rho + price.err) * (1 + 4 * _U))
        self.lows.append((price.rho - price.err) * (1 - 4 * _U))
        pid = e.ids[p]
        self.selected.append(pid)
        self.cost += e.real_cost[pid]
        self.money -= e.cost[p]
        if self.errb > _RESYNC * self.B0f:
            self._resync()

    def ceilings(self) -> list[float]:
        """Float upper bounds on each winner's exact price per unit of utility, by round:
        its float price plus the proven error (no exact arithmetic; exact prices made
        reference runs cost more than the runs they served)."""
        return self.highs

    def floors(self) -> list[float]:
        """Float lower bounds on the same (a rival below one provably wins that round)."""
        return self.lows

    def outcome(self) -> _Outcome:
        """The selection with exact payments in real money."""
        self._exact_prices()
        e = self.e
        den = self.den * e.scale
        payments, prices = {}, []
        for j, p in enumerate(self.order):
            share, dying = self.num[j], self._dying(j)
            merged = Counter({share: self.rich[j]})
            others = e.weight[p] - self.rich[j]
            if len(dying):
                budgets, inverse = self._budgets(dying, j)
                voters = np.bincount(
                    inverse,
                    weights=e.w[dying].astype(np.float64),
                    minlength=len(budgets),
                )
                for budget, v in zip(budgets, voters.tolist()):
                    merged[budget] += int(v)
                    others -= int(v)
            if others:
                merged[0] += others  # had nothing left
            pid = e.ids[p]
            payments[pid] = tuple(
                Share(Fraction(a, den), v) for a, v in sorted(merged.items(), reverse=True)
            )
            prices.append((pid, Fraction(share, den)))
        start = Fraction(self.B0, e.scale)
        return _Outcome(list(self.selected), payments, start, tuple(prices), self.k)


def _kernels():
    """The compiled rounds (:mod:`portal.budgeting.mes_kernels`), or None without numba."""
    try:
        from portal.budgeting import mes_kernels
    except ImportError:  # numba missing: the numpy path gives the same results, slower
        return None
    return mes_kernels


_COMPILED = True  # tests switch the compiled path off to compare it with numpy's
# Importing numba and loading the compiled code costs ~0.5 s once per process
# (more under load). A tally switches to it once its numpy runs have taken as
# long (or at once if the process already loaded it): like renting skis until
# the rent would have paid for them, it never costs more than twice the better
# choice, and a one-shot CLI tally of a small file never pays it. Timing only
# chooses the path, never the result.
_SWITCH_AFTER = 0.5  # seconds


class _MES:
    """Method of Equal Shares with cost utilities on grouped ballots.

    Money is scaled by ``scale = n * D`` (D: common denominator of budget and
    costs) so that the starting per-voter budget B/n, the +1 increment and
    every cost are integers.
    """

    def __init__(self, instance: Instance, table: _Ballots | None = None):
        self.instance = instance
        self.n = len(instance.ballots)
        if table is None:
            table = _ballot_table(instance)
        denominators = [Fraction(instance.budget).denominator]
        denominators += [Fraction(p.cost).denominator for p in instance.projects]
        self.scale = max(self.n, 1) * math.lcm(*denominators)
        self.base = int(instance.budget * self.scale) // max(self.n, 1)  # B/n, scaled
        self.step = self.scale  # one unit of money per voter
        self.real_cost = {p.id: p.cost for p in instance.projects}
        # pabutools' MES ignores projects nobody approves and zero-cost ones
        # (with Cost_Sat their satisfaction is 0)
        self.ids = sorted(
            p.id for p in instance.projects if p.cost > 0 and table.approvals[p.id] > 0
        )
        self.cost = [int(self.real_cost[pid] * self.scale) for pid in self.ids]
        self.cost_f = [float(c) for c in self.cost]
        self._group_ballots(table)

    def _group_ballots(self, table: _Ballots) -> None:
        """One group per distinct set of approved MES projects, in an order independent
        of the ballots' order (rows sorted by their packed bits)."""
        column = {p.id: j for j, p in enumerate(self.instance.projects)}
        m = len(self.ids)
        member = table.member[:, [column[pid] for pid in self.ids]]
        voters = table.voters
        if m and len(member):
            packed = np.ascontiguousarray(np.packbits(member, axis=1))
            keys = packed.view(np.dtype((np.void, packed.shape[1]))).reshape(-1)
            unique, inverse = np.unique(keys, return_inverse=True)
            counts = np.bincount(inverse.reshape(-1), weights=voters, minlength=len(unique))
            rows = unique.view(np.uint8).reshape(len(unique), -1)
            member = np.unpackbits(rows, axis=1, count=m).astype(bool)
            keep = member.any(axis=1)  # nobody approves none of the MES projects
            member, voters = member[keep], counts[keep].astype(np.int64)
        else:
            member, voters = np.zeros((0, m), dtype=bool), np.zeros(0, dtype=np.int64)
        self.group_count = len(member)
        self.w = voters
        self.member = member
        self.w_f = self.w.astype(np.float64)
        self.small = member.size <= 250_000  # a product over all groups is cheap
        if self.small:
            self.member_f = member.astype(np.float64)
        # counting voters: float32 sums of integers stay exact below 2**24
        count_type = np.float32 if self.n < 2**24 else np.float64
        self.member_c = member.astype(count_type)
        self.w_c = self.w.astype(count_type)
        self.sup = [np.flatnonzero(column) for column in np.ascontiguousarray(member.T)]
        self.wsup = [self.w[s] for s in self.sup]
        self.wsup_f = [w.astype(np.float64) for w in self.wsup]
        self.weight = [int(w.sum()) for w in self.wsup]
        self.weight_f = [float(w) for w in self.weight]
        # stored lower bounds start at the all-pay-equally price cost/(W*cost) = 1/W
        self.initial_heap = sorted(
            ((1 / w) * (1 - 4 * _U), self.ids[p], p) for p, w in enumerate(self.weight)
        )
        self.kernels = None
        self._numpy_seconds = 0.0
        self._budgets = None

    def _compile(self) -> None:
        """Switch to the compiled rounds when they pay (see ``_SWITCH_AFTER``)."""
        if "portal.budgeting.mes_kernels" in sys.modules or self._numpy_seconds >= _SWITCH_AFTER:
            self.kernels = _kernels()
            self._numpy_seconds = -math.inf  # decided: never look again
            if self.kernels is not None:
                self._flatten()

    def _flatten(self) -> None:
        """The supporter lists end to end, and the first heap, as the compiled rounds read them."""
        m = len(self.ids)
        self.ptr = np.zeros(m + 1, dtype=np.int64)
        self.ptr[1:] = np.cumsum([len(s) for s in self.sup])
        self.idx = np.concatenate(self.sup or [np.zeros(0, dtype=np.int64)]).astype(np.int64)
        self.wsup_all = np.concatenate(self.wsup_f or [np.zeros(0)])
        self.cost_a = np.array(self.cost_f, dtype=np.float64)
        self.weight_a = np.array(self.weight_f, dtype=np.float64)
        self.heap_keys = np.array([key for key, _, _ in self.initial_heap], dtype=np.float64)
        self.heap_ps = np.array([p for _, _, p in self.initial_heap], dtype=np.int64)

    def fresh_budgets(self, value: float) -> np.ndarray:
        """Every group's float budget set to ``value``, in an array reused by run after run
        (runs never overlap, and none reads its budgets once done): allocating ~400 KB
        per run cost Warsaw 2026 a fifth of its run time in page faults."""
        if self._budgets is None:
            self._budgets = np.empty(self.group_count)
        self._budgets.fill(value)
        return self._budgets

    def is_exhaustive(self, selected: list[str], cost: Money) -> bool:
        """pabutools' test for the early stop: no unselected MES project still fits."""
        chosen = set(selected)
        left = self.instance.budget - cost
        return all(pid in chosen or self.real_cost[pid] > left for pid in self.ids)

    def run(self, k: int, ref: _Run | None = None) -> _Run:
        if self.kernels is None and self._numpy_seconds >= 0 and _COMPILED:
            self._compile()
        if self.kernels is not None:
            return _Run(self, k, ref)
        started = time.perf_counter()
        result = _Run(self, k, ref)
        self._numpy_seconds += time.perf_counter() - started
        return result

    @staticmethod
    def bracketed(low: _Run, high: _Run) -> bool:
        """Proof that MES selects ``low.order`` at every increment between ``low.k`` and ``high.k``.

        ``high`` must have been run against a reference run ``ref`` (see
        :class:`_Run`) at an increment <= ``low.k``. Claim: if ``ref``,
        ``low`` and ``high`` select the same projects in the same order, and
        in every round j of ``high`` every project left loses against
        ``ref``'s winner of round j at ``ref``'s price, then every k between
        ``low.k`` and ``high.k`` selects that order too.

        Monotonicity: if two increments k1 < k2 pick the same winners up to
        round j, every voter's budget at the start of round j is at least as
        large at k2 (budgets start at B/n + k; a price is non-increasing in
        its supporters' budgets; a voter keeps max(budget - price, 0), which
        grows with the budget and shrinks with the price), so every
        project's price per unit of utility at round j is at most as large
        at k2, and every project affordable at k1 is affordable at k2.

        By induction on the rounds, assuming the winners before round j agree
        at every k in [ref.k, high.k]: round j's winner w costs at k at most
        its price at ``ref.k`` and is affordable (it was at ``ref.k``); any
        other project is either unaffordable at k (it was at ``high.k``) or
        costs at least its price at ``high.k``, which exceeds w's price at
        ``ref.k`` (or equals it, with a larger id): w wins round j at k.
        After the last round nothing is affordable at ``high.k``, hence at k.
        The selection, the only input of the add1 stopping checks, is
        therefore the same at every k in between.
        """
        return (
            high.ref_k is not None
            and high.ref_k <= low.k
            and high.ref_order == low.order == high.order
            and len(high.beaten) == len(high.order)
            and all(high.beaten)
        )

    @property
    def can_jump(self) -> bool:
        """Small enough for :meth:`stable_for` (pure-Fraction work, O(rounds * m * g))."""
        return self.group_count * len(self.ids) <= _JUMP_LIMIT

    def stable_for(self, k: int, order: list[int]) -> int | float:
        """A number d >= 1 of increments such that MES selects ``order`` at every k' in [k, k+d).

        ``order`` is what the run at ``k`` selected (math.inf: at every k' >= k).
        The run at ``k`` is replayed in exact arithmetic (every candidate in
        every round, as the definition of MES reads) carrying, next to each
        quantity's value at ``k``, its slope per increment. As long as every
        comparison the run makes keeps its outcome, every quantity stays
        affine in k' with that slope (by induction on the rounds: budgets
        start at B0 + k'*step, a price is (cost - money of the poor) / rich
        for a fixed split, and paying is subtracting prices or zeroing), so
        each comparison is between affine functions of k' and its last safe
        k' is exact. The comparisons: affordability of each candidate in
        each round (total money >= cost, or < cost when it drops out), the
        poor/rich split of each affordable candidate (budget < price, or >=),
        and the winner against each other affordable candidate (rho smaller,
        or equal with the smaller id). If the replay disagrees with
        ``order`` (it cannot; this is a guard), the answer is 1.
        """
        step = self.step
        budgets = [(Fraction(self.base + k * step), Fraction(step))] * self.group_count
        bound = math.inf  # largest safe d - 1 so far

        def keep(value, slope, strict):
            # value + slope*d must stay > 0 (strict) or >= 0 for d = 0 .. bound
            nonlocal bound
            if slope >= 0:
                return
            limit = value / -slope
            bound = min(bound, math.ceil(limit) - 1 if strict else math.floor(limit))

        active = list(range(len(self.ids)))
        chosen = []
        while True:
            offers = []
            for c in list(active):
                cost = self.cost[c]
                groups = self.sup[c].tolist()
                weights = self.wsup[c].tolist()
                total = sum(w * budgets[g][0] for g, w in zip(groups, weights))
                total_slope = sum(w * budgets[g][1] for g, w in zip(groups, weights))
                if total < cost:
                    keep(cost - total, -total_slope, True)
                    active.remove(c)
                    continue
                keep(total - cost, total_slope, False)
                # exact price: pabutools' poor/rich loop over ascending budgets
                remaining, rich = Fraction(cost), self.weight[c]
                for b, w in sorted((budgets[g][0], w) for g, w in zip(groups, weights)):
                    if remaining <= b * rich:
                        break
                    remaining -= b * w
                    rich -= w
                price = remaining / rich
                poor = [budgets[g][0] < price for g in groups]
                slope = (
                    -sum(w * budgets[g][1] for g, w, x in zip(groups, weights, poor) if x) / rich
                )
                for g, x in zip(groups, poor):
                    b, a = budgets[g]
                    if x:
                        keep(price - b, slope - a, True)
                    else:
                        keep(b - price, a - slope, False)
                offers.append((price / cost, self.ids[c], c, slope / cost, poor))
            if not offers:
                break
            rho, name, w, rho_slope, poor = min(offers, key=lambda o: o[:2])
            for other_rho, other_name, _, other_slope, _ in offers:
                if other_name != name:
                    keep(other_rho - rho, other_slope - rho_slope, other_name < name)
            price, slope = rho * self.cost[w], rho_slope * self.cost[w]
            for g, x in zip(self.sup[w].tolist(), poor):
                b, a = budgets[g]
                budgets[g] = (Fraction(0), Fraction(0)) if x else (b - price, a - slope)
            active.remove(w)
            chosen.append(w)
        if chosen != list(order):
            return 1
        return bound + 1
