"""The pure rules: phases from dates, local time, costs, ballot rules, receipts, sanitising."""

import datetime as dt

import pytest

from portal.budgeting import domain, richtext
from portal.budgeting.domain import BallotRule, BudgetRuleError, Schedule

T0 = dt.datetime(2026, 3, 1, 4, 0)  # 09:00 in Almaty
SCHEDULE = Schedule(
    T0, T0 + dt.timedelta(days=30), T0 + dt.timedelta(days=45), T0 + dt.timedelta(days=60)
)
COSTS = {1: 400, 2: 300, 3: 300, 4: 1}


@pytest.mark.parametrize(
    ("offset", "phase"),
    [
        (dt.timedelta(seconds=-1), "draft"),
        (dt.timedelta(0), "proposals"),
        (dt.timedelta(days=30, seconds=-1), "proposals"),
        (dt.timedelta(days=30), "review"),
        (dt.timedelta(days=45, seconds=-1), "review"),
        (dt.timedelta(days=45), "voting"),
        (dt.timedelta(days=60, seconds=-1), "voting"),
        (dt.timedelta(days=60), "results"),
        (dt.timedelta(days=900), "results"),
    ],
)
def test_phase_follows_the_dates_to_the_second(offset, phase):
    assert domain.phase_at(SCHEDULE, T0 + offset) == phase


def test_implementation_date_opens_the_last_phase_and_override_wins():
    schedule = Schedule(*list(SCHEDULE.__dict__.values())[:4], T0 + dt.timedelta(days=90))
    assert domain.phase_at(schedule, T0 + dt.timedelta(days=90)) == "implementation"
    assert domain.effective_phase(schedule, T0, override="voting") == "voting"
    assert domain.effective_phase(schedule, T0, override=None) == "proposals"


def test_dates_out_of_order_are_reported():
    bad = Schedule(T0, T0, T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=2))
    assert bad.problems() == ["review"]
    assert SCHEDULE.problems() == []


def test_almaty_is_utc_plus_five():
    local = dt.datetime(2026, 5, 1, 9, 0)
    assert domain.local_to_utc(local) == dt.datetime(2026, 5, 1, 4, 0)
    assert domain.utc_to_local(dt.datetime(2026, 5, 1, 4, 0)) == local


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("0", "cost_not_positive"),
        ("-5", "cost_not_positive"),
        ("12.5", "cost_fraction"),
        ("12,50", "cost_fraction"),
        ("NaN", "cost_not_number"),
        ("nan", "cost_not_number"),
        ("inf", "cost_not_number"),
        ("1e9", "cost_not_number"),
        ("", "cost_missing"),
        ("99999999999999999999999", "cost_too_large"),
        (str(domain.MAX_TENGE + 1), "cost_too_large"),
        ("١٢٣", "cost_not_number"),
    ],
)
def test_bad_costs_are_refused(text, code):
    with pytest.raises(BudgetRuleError) as caught:
        domain.parse_tenge(text)
    assert caught.value.code == code


def test_cost_parsing_accepts_thousand_separators_and_checks_the_cap():
    assert domain.parse_tenge("1 500 000") == 1_500_000
    assert domain.parse_tenge("1\u00a0500") == 1500
    assert domain.parse_tenge("100", cap=100) == 100
    with pytest.raises(BudgetRuleError) as caught:
        domain.parse_tenge("101", cap=100)
    assert caught.value.code == "cost_over_cap"


def test_knapsack_allows_exactly_the_budget_and_refuses_one_tenge_more():
    rule = BallotRule("knapsack", 700)
    assert domain.validate_ballot(rule, [2, 1], COSTS) == (1, 2)
    with pytest.raises(BudgetRuleError) as caught:
        domain.validate_ballot(rule, [1, 2, 4], COSTS)
    assert caught.value.code == "over_budget" and caught.value.details["total"] == 701


@pytest.mark.parametrize(
    ("rule", "choices", "code"),
    [
        (BallotRule("knapsack", 10_000), [], "empty"),
        (BallotRule("knapsack", 10_000), [1, 1], "duplicate"),
        (BallotRule("knapsack", 10_000), [1, 99], "unknown"),
        (BallotRule("k_approval", 0, 2), [1, 2, 3], "too_many"),
        (BallotRule("single", 0), [1, 2], "single"),
    ],
)
def test_ballot_rule_violations(rule, choices, code):
    with pytest.raises(BudgetRuleError) as caught:
        domain.validate_ballot(rule, choices, COSTS)
    assert caught.value.code == code


def test_k_approval_ignores_cost_and_single_takes_one():
    assert domain.validate_ballot(BallotRule("k_approval", 1, 2), [1, 2], COSTS) == (1, 2)
    assert domain.validate_ballot(BallotRule("single", 1), [3], COSTS) == (3,)


def test_receipt_depends_on_every_part_and_the_secret():
    base = domain.receipt_code(1, 2, [3, 4], "s")
    assert len(base) == 16 and all(c in "0123456789abcdef" for c in base)
    assert domain.receipt_code(1, 2, [4, 3], "s") == base  # order does not matter
    for other in (
        domain.receipt_code(9, 2, [3, 4], "s"),
        domain.receipt_code(1, 9, [3, 4], "s"),
        domain.receipt_code(1, 2, [3], "s"),
        domain.receipt_code(1, 2, [3, 4], "t"),
    ):
        assert other != base
    assert domain.normalise_receipt(domain.group_receipt(base).upper()) == base
    assert domain.normalise_receipt("xyz") is None


@pytest.mark.parametrize(
    ("payload", "forbidden"),
    [
        ('<img src=x onerror="alert(1)">', ["<img", "onerror"]),
        ('<a href="javascript:alert(1)">click</a>', ["javascript:"]),
        ('<svg onload="alert(1)"><circle/></svg>', ["<svg", "onload"]),
        ("<script>alert(1)</script>", ["<script"]),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', ["javascript", "JaVaScRiPt"]),
        ('<p style="color:red" onclick="x()">hi</p>', ["style", "onclick"]),
        ('<iframe src="https://evil.example"></iframe>', ["<iframe"]),
    ],
)
def test_sanitiser_removes_script_vectors(payload, forbidden):
    cleaned = richtext.sanitise(payload)
    for bad in forbidden:
        assert bad.lower() not in cleaned.lower()


def test_sanitiser_keeps_formatting_and_http_links():
    cleaned = richtext.sanitise(
        '<p><strong>New</strong> <a href="https://example.kz/a">map</a></p>'
    )
    assert "<strong>New</strong>" in cleaned
    assert 'href="https://example.kz/a"' in cleaned and "nofollow" in cleaned
    assert richtext.sanitise("one\n\ntwo & 3") == "<p>one</p><p>two &amp; 3</p>"


def test_progress_must_be_a_percentage():
    assert domain.parse_progress("40") == 40
    for bad in ("-1", "101", "4.5", "x"):
        with pytest.raises(BudgetRuleError):
            domain.parse_progress(bad)
