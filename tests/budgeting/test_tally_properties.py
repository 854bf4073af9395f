"""Invariants of the tally rules on random small instances (Hypothesis)."""

import random
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.budgeting.tally import RULES, Instance, Project, run

MES_RULES = ("mes", "mes-add1", "mes-add1-early")


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
