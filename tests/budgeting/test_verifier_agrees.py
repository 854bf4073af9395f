"""The stand-alone verifier (static/verify/tynda_verify.py) recomputes the same winners as
the portal's engine (portal/budgeting/tally.py) on the shared pabulib instances."""

import importlib.util
import time
from pathlib import Path

import pytest

from portal.budgeting import pabulib, tally

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "pabulib"
FILES = sorted(p.name for p in DATA.glob("*.pb"))
# Pure-Python exact MES with +1 completion runs MES once per increment: Assen takes ~20 s,
# the others minutes (Warszawa Anin agrees too, checked by hand: 95 s on a loaded machine).
SMALL = ("Netherlands_Assen_2024.pb",)


def load_verifier():
    spec = importlib.util.spec_from_file_location(
        "tynda_verify", ROOT / "static/verify/tynda_verify.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


verifier = load_verifier()


def _instance(name):
    instance = pabulib.to_instance(pabulib.load(DATA / name))
    costs = {p.id: p.cost for p in instance.projects}
    return instance, costs, list(instance.ballots)


@pytest.mark.parametrize("name", FILES)
def test_greedy_agrees_on_every_shared_instance(name):
    instance, costs, ballots = _instance(name)
    expected = tally.run(instance, "greedy").selected
    assert sorted(verifier.greedy(costs, ballots, instance.budget)) == sorted(expected)


@pytest.mark.parametrize("name", FILES)
def test_plain_mes_agrees(name):
    instance, costs, ballots = _instance(name)
    if len(ballots) > 5000:
        pytest.skip("pure-Python exact MES: the two largest files take minutes")
    expected = tally.run(instance, "mes").selected
    assert sorted(verifier.mes(costs, ballots, instance.budget)) == sorted(expected)


@pytest.mark.parametrize("name", SMALL)
def test_mes_add1_agrees(name):
    instance, costs, ballots = _instance(name)
    started = time.monotonic()
    expected = tally.run(instance, "mes-add1").selected
    got = verifier.mes_add1(costs, ballots, instance.budget)
    assert sorted(got) == sorted(expected)
    assert time.monotonic() - started < 120
