"""The IIN rules: check digit (both passes), date, century digit, ASCII only."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.accounts.domain import IINError, check_digit, parse_iin


@pytest.mark.parametrize(
    ("iin", "birth", "sex"),
    [
        ("871008401427", dt.date(1987, 10, 8), "F"),
        ("760212350620", dt.date(1976, 2, 12), "M"),
        ("800416300257", dt.date(1980, 4, 16), "M"),
        ("061211600012", dt.date(2006, 12, 11), "F"),
    ],
)
def test_valid_examples_give_birth_date_and_sex(iin, birth, sex):
    info = parse_iin(iin)
    assert info.birth_date == birth
    assert info.sex == sex


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("123456789012", "century"),  # the brief's invalid example; digit 7 is 7
        ("871008401428", "check_digit"),
        ("87100840142", "length"),
        ("8710084014270", "length"),
        ("８７１００８４０１４２７", "not_digits"),  # full-width digits
        ("٨٧١٠٠٨٤٠١٤٢٧", "not_digits"),  # Arabic-Indic digits
        ("87100840142a", "not_digits"),
        ("871308401427", "date"),  # month 13
        ("870230401427", "date"),  # 30 February
        ("871008701427", "century"),
        ("871008001427", "century"),
        ("", "empty"),
    ],
)
def test_invalid_iins_say_what_is_wrong(value, code):
    with pytest.raises(IINError) as caught:
        parse_iin(value)
    assert caught.value.code == code


def test_second_pass_weights_are_used_when_first_gives_ten():
    # Find a body whose first pass gives 10, then check the documented second-pass weights.
    bodies = (f"9001013{n:04d}" for n in range(10000))
    body = next(b for b in bodies if sum(int(c) * w for c, w in zip(b, range(1, 12))) % 11 == 10)
    digits = [int(c) for c in body]
    second = sum(d * w for d, w in zip(digits, (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2))) % 11
    assert check_digit(digits) == (None if second == 10 else second)


@given(
    st.integers(min_value=0, max_value=9999), st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31))
)
def test_any_generated_iin_round_trips(serial, birth):
    century = 3 if birth.year < 2000 else 5
    body = f"{birth:%y%m%d}{century}{serial:04d}"
    digit = check_digit([int(c) for c in body])
    if digit is None:
        with pytest.raises(IINError):
            parse_iin(body + "0")
        return
    assert parse_iin(body + str(digit)).birth_date == birth
    wrong = (digit + 1) % 10
    with pytest.raises(IINError):
        parse_iin(body + str(wrong))
