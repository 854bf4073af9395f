"""Pure rules for accounts: IIN validation and the password policy. No Flask here.

IIN (ЖСН/ИИН): 12 digits. 1–6 birth date YYMMDD; 7 century and sex (1/2 = 1800s,
3/4 = 1900s, 5/6 = 2000s; odd male, even female); 8–11 serial; 12 check digit computed
with weights 1..11, and if that gives 10, with weights 3..11,1,2; 10 again means invalid.
"""

import datetime as dt
import gzip
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

FIRST_WEIGHTS = tuple(range(1, 12))
SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
CENTURY_BY_DIGIT = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256


class IINError(ValueError):
    """Why an IIN is invalid; `code` is stable so forms can translate it."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class IINInfo:
    birth_date: dt.date
    sex: str  # "M" or "F"


def check_digit(digits):
    """Return the check digit for the first 11 digits, or None if the number cannot have one."""
    first = sum(d * w for d, w in zip(digits, FIRST_WEIGHTS)) % 11
    if first != 10:
        return first
    second = sum(d * w for d, w in zip(digits, SECOND_WEIGHTS)) % 11
    return None if second == 10 else second


def parse_iin(value):
    """Validate an IIN and return what it tells (birth date, sex); raise IINError otherwise."""
    text = (value or "").strip()
    if not text:
        raise IINError("empty")
    # str.isdigit accepts Arabic-Indic and other digits; an IIN is ASCII only.
    if not all("0" <= ch <= "9" for ch in text):
        raise IINError("not_digits")
    if len(text) != 12:
        raise IINError("length")
    digits = [int(ch) for ch in text]
    if digits[6] not in CENTURY_BY_DIGIT:
        raise IINError("century")
    year = CENTURY_BY_DIGIT[digits[6]] + int(text[0:2])
    try:
        birth_date = dt.date(year, int(text[2:4]), int(text[4:6]))
    except ValueError:
        raise IINError("date") from None
    expected = check_digit(digits[:11])
    if expected is None or expected != digits[11]:
        raise IINError("check_digit")
    return IINInfo(birth_date=birth_date, sex="M" if digits[6] % 2 else "F")


@lru_cache(maxsize=1)
def _common_passwords():
    path = Path(__file__).parent / "common-passwords.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle if line.strip())


def password_problem(password, *, email="", full_name=""):
    """Return a stable code for what is wrong with a new password, or None if it is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "long"
    lowered = password.lower()
    if lowered in _common_passwords():
        return "common"
    personal = {email.lower(), email.lower().split("@")[0], full_name.lower()} - {""}
    if lowered in personal:
        return "personal"
    return None
