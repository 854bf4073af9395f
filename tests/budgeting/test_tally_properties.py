"""Invariants of the tally rules on random small instances (Hypothesis)."""

import random
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.budgeting.tally import RULES, Instance, Project, _run, run

MES_RULES = ("mes", "mes-add1", "mes-add1-early")
ADD1_RULES = ("mes-add1", "mes-add1-early", "mes-add1-early-greedy", "mes-add1-comparison")


@st.composite
def instances(draw, max_projects=6, max_voters=12):
    count = draw(st.integers(1, max_projects))
    ids = [str(i) for i in draw(st.permutations(range(1, 20)))[:count]]
    costs = draw(st.lists(st.integers(1, 40), min_size=count, max_size=count))
    projects = tuple(Project(pid, cost) for pid, cost in zip(ids, costs))
    ballots = draw(st.lists(st.frozensets(st.sampled_from(ids)), max_size=max_voters))
    budget = draw(st.integers(0, 120))
    return Instance(budget, projects, tuple(ballots))


SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(instances(), st.sampled_from(RULES))
def test_winners_fit_the_budget(instance, rule):
    result = run(instance, rule, threshold=1)
    costs = {p.id: p.cost for p in instance.projects}
    assert len(set(result.selected)) == len(result.selected)
    assert result.total_cost == sum(costs[p] for p in result.selected)
    assert result.total_cost <= instance.budget


@SETTINGS
@given(instances())
def test_greedy_selects_everything_when_the_budget_allows(instance):
    total = sum(p.cost for p in instance.projects)
    rich = Instance(total + 1, instance.projects, instance.ballots)
    assert set(run(rich, "greedy").selected) == {p.id for p in instance.projects}


@SETTINGS
@given(instances(), st.sampled_from(MES_RULES))
def test_mes_never_charges_more_than_the_share_and_pays_exactly(instance, rule):
    result = run(instance, rule)
    costs = {p.id: p.cost for p in instance.projects}
    for project_id in result.selected:
        shares = result.payments[project_id]
        assert sum(s.amount * s.voters for s in shares) == costs[project_id]
    for ballot in instance.ballots:
        paid = result.payments_of(ballot)
        assert set(paid) <= ballot
        assert all(amount >= 0 for amount in paid.values())
        assert sum(paid.values(), Fraction(0)) <= result.voter_budget
    if instance.ballots:
        assert result.voter_budget >= Fraction(instance.budget, len(instance.ballots))


@SETTINGS
@given(instances(), st.sampled_from(RULES), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_ballot_order(instance, rule, rnd: random.Random):
    ballots = list(instance.ballots)
    rnd.shuffle(ballots)
    shuffled = Instance(instance.budget, instance.projects, tuple(ballots))
    first, second = run(instance, rule, threshold=2), run(shuffled, rule, threshold=2)
    assert first.selected == second.selected
    assert first.payments == second.payments


def naive_mes(instance, per_voter):
    """pabutools' MES with cost utilities, voter by voter, in Fractions (the reference)."""
    costs = {p.id: p.cost for p in instance.projects}
    ballots = instance.ballots
    budgets = [Fraction(per_voter)] * len(ballots)
    left = {p for p, c in costs.items() if c > 0 and any(p in b for b in ballots)}
    selected, prices = [], []
    while True:
        best = None
        for p in sorted(left):  # strict < keeps the smallest id string among ties
            supporters = [i for i, b in enumerate(ballots) if p in b]
            if sum(budgets[i] for i in supporters) < costs[p]:
                continue
            paid, rich = Fraction(0), len(supporters)
            for i in sorted(supporters, key=budgets.__getitem__):
                share = (costs[p] - paid) / rich
                if share <= budgets[i]:
                    break
                paid += budgets[i]
                rich -= 1
            if best is None or share / costs[p] < best[0]:
                best = (share / costs[p], p, share, supporters)
        if best is None:
            return selected, prices
        _, p, share, supporters = best
        for i in supporters:
            budgets[i] -= min(budgets[i], share)
        selected.append(p)
        prices.append((p, share))
        left.discard(p)


def naive_add1(instance, early):
    n, budget = len(instance.ballots), instance.budget
    costs = {p.id: p.cost for p in instance.projects}
    previous = ([], [])
    for k in range(int(budget) + 1):
        current = naive_mes(instance, Fraction(budget, n) + k)
        spent = sum(costs[p] for p in current[0])
        if spent > budget:
            return previous
        mes_ids = {p for p, c in costs.items() if c > 0}
        mes_ids &= {p for b in instance.ballots for p in b}
        if early and all(p in current[0] or costs[p] > budget - spent for p in mes_ids):
            return current
        previous = current
    return previous


@st.composite
def tied_instances(draw):
    # few distinct costs and ballots: equal prices, and budgets equal to prices, are common
    count = draw(st.integers(1, 7))
    ids = [str(i) for i in draw(st.permutations(range(1, 12)))[:count]]
    costs = draw(st.lists(st.sampled_from([2, 3, 4, 6, 12]), min_size=count, max_size=count))
    projects = tuple(Project(pid, cost) for pid, cost in zip(ids, costs))
    kinds = draw(st.lists(st.frozensets(st.sampled_from(ids)), min_size=1, max_size=4))
    ballots = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=14))
    budget = draw(st.sampled_from([0, 1, 4, 6, 12, 24, 36]))
    return Instance(budget, projects, tuple(ballots))


@settings(max_examples=150, deadline=None)
@given(tied_instances(), st.sampled_from(MES_RULES))
def test_mes_matches_a_naive_exact_implementation(instance, rule):
    result = run(instance, rule)
    if not instance.ballots:
        return
    if rule == "mes":
        selected, prices = naive_mes(instance, Fraction(instance.budget, len(instance.ballots)))
    else:
        selected, prices = naive_add1(instance, early=rule == "mes-add1-early")
    assert set(result.selected) == set(selected)
    assert list(result.prices) == prices


@st.composite
def big_budget_instances(draw):
    """Few voters, costs and budget scaled up: many increments, few outcome changes."""
    instance = draw(instances(max_projects=5, max_voters=8))
    factor = draw(st.sampled_from([1, 9, 40]))
    divisor = draw(st.sampled_from([1, 1, 3]))
    projects = tuple(Project(p.id, Fraction(p.cost * factor, divisor)) for p in instance.projects)
    return Instance(instance.budget * factor, projects, instance.ballots)


@settings(max_examples=40, deadline=None)
@given(big_budget_instances(), st.sampled_from(ADD1_RULES))
def test_skipping_increments_gives_the_one_by_one_result(instance, rule):
    assert _run(instance, rule, single_steps=False) == _run(instance, rule, single_steps=True)


@settings(max_examples=40, deadline=None)
@given(
    st.one_of(instances(), tied_instances(), big_budget_instances()),
    st.sampled_from(ADD1_RULES),
)
def test_bracketing_increments_gives_the_one_by_one_result(instance, rule):
    # forced on small electorates too, where the exact replay would otherwise serve
    bracketed = _run(instance, rule, single_steps=False, bracket=True)
    assert bracketed == _run(instance, rule, single_steps=True)
