"""The compiled MES rounds (portal/budgeting/mes_kernels.py, numba) against the numpy path.

Both must take exactly the same decisions: the floats only find prices, and
every decision they cannot prove goes to exact arithmetic, so the whole
``Result`` (winners, payments, prices, increment) must be equal.
"""

import random
import sys
from contextlib import contextmanager
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.budgeting import tally
from portal.budgeting.tally import Instance, Project, _run
from tests.budgeting.test_tally_properties import (
    ADD1_RULES,
    big_budget_instances,
    instances,
    tied_instances,
)

MES_RULES = ("mes", *ADD1_RULES)


@pytest.fixture(autouse=True)
def compiled_at_once(monkeypatch):
    # no numpy runs first (by default a tally switches after 0.5 s of them)
    monkeypatch.setattr(tally, "_SWITCH_AFTER", 0.0)


@contextmanager
def numpy_only():
    tally._COMPILED = False
    try:
        yield
    finally:
        tally._COMPILED = True


def both(instance, rule, **options):
    compiled = _run(instance, rule, single_steps=False, **options)
    with numpy_only():
        plain = _run(instance, rule, single_steps=False, **options)
    return compiled, plain


def test_the_compiled_path_is_the_one_used():
    instance = Instance(10, (Project("1", 4),), (frozenset({"1"}),))
    engine = tally._MES(instance)
    engine.run(0)
    assert engine.kernels is not None
    with numpy_only():
        engine = tally._MES(instance)
        engine.run(0)
        assert engine.kernels is None


def test_a_small_tally_stays_on_numpy_until_it_has_taken_a_while(monkeypatch):
    monkeypatch.setattr(tally, "_SWITCH_AFTER", 3600.0)
    monkeypatch.delitem(sys.modules, "portal.budgeting.mes_kernels", raising=False)
    instance = Instance(10, (Project("1", 4),), (frozenset({"1"}),))
    engine = tally._MES(instance)
    engine.run(0)
    assert engine.kernels is None
    monkeypatch.setattr(tally, "_SWITCH_AFTER", 0.0)
    engine.run(1)
    assert engine.kernels is not None


@settings(max_examples=80, deadline=None)
@given(
    st.one_of(instances(), tied_instances(), big_budget_instances()),
    st.sampled_from(MES_RULES),
    st.sampled_from([None, True]),
)
def test_compiled_rounds_give_the_numpy_result(instance, rule, bracket):
    compiled, plain = both(instance, rule, bracket=bracket)
    assert compiled == plain


def test_a_tie_is_handed_to_exact_arithmetic(monkeypatch):
    # equal prices per unit of utility: only an exact comparison (then the smaller id) decides
    calls = []
    python_round = tally._Run._round

    def spy(self, heap):
        calls.append(len(self.order))
        return python_round(self, heap)

    monkeypatch.setattr(tally._Run, "_round", spy)
    projects = (Project("2", 4), Project("1", 4), Project("3", 6))
    instance = Instance(8, projects, (frozenset("12"),) * 2)
    compiled, plain = both(instance, "mes")
    assert compiled == plain
    assert compiled.prices == (("1", Fraction(2)), ("2", Fraction(2)))
    assert 0 in calls  # round 0 went back to Python


def test_resyncing_every_round_changes_nothing(monkeypatch):
    rng = random.Random(3)
    ids = [str(i) for i in range(1, 16)]
    projects = tuple(Project(i, rng.randint(5, 60) * 1000) for i in ids)
    ballots = tuple(frozenset(rng.sample(ids, rng.randint(1, 5))) for _ in range(400))
    instance = Instance(200_000, projects, ballots)
    expected = _run(instance, "mes-add1", single_steps=False)
    resyncs = []
    resync = tally._Run._resync

    def spy(self):
        resyncs.append(self.k)
        return resync(self)

    monkeypatch.setattr(tally._Run, "_resync", spy)
    monkeypatch.setattr(tally, "_RESYNC", 2.0**-52)  # past the bound after every payment
    compiled, plain = both(instance, "mes-add1")
    assert compiled == plain == expected
    assert resyncs


@pytest.mark.parametrize("rule", MES_RULES)
def test_a_larger_electorate_gives_the_numpy_result(rule):
    # thousands of supporter groups per project: the compiled loops' long sums
    rng = random.Random(11)
    ids = [str(i) for i in range(1, 41)]
    weights = [rng.paretovariate(1.2) for _ in ids]
    projects = tuple(Project(i, rng.randint(20, 400) * 1000) for i in ids)
    ballots = tuple(
        frozenset(rng.choices(ids, weights=weights, k=rng.randint(1, 6))) for _ in range(6000)
    )
    instance = Instance(sum(p.cost for p in projects) // 4, projects, ballots)
    compiled, plain = both(instance, rule)
    assert compiled == plain
