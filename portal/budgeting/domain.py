"""Pure rules of participatory budgeting. No Flask, no database.

* Phases: proposals → review → voting → results → implementation, computed from the cycle's
  dates (naive UTC) or set by hand; local dates (Asia/Almaty) convert to and from UTC here.
* Ballot rules: knapsack (total cost within the budget), k-approval (at most k projects,
  cost ignored) and single (exactly one project).
* Costs: whole tenge, > 0, at most the per-project cap and a sane upper bound.
* Receipt codes: a SHA-256 digest prefix over the stored ballot and a server secret.
"""

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

from portal import timezones

# "draft" is before proposals open; the other five are the cycle's working phases.
PHASES = ("draft", "proposals", "review", "voting", "results", "implementation")
# The date that opens each phase, in order.
PHASE_STARTS = (
    ("proposals", "proposals_open_at"),
    ("review", "review_open_at"),
    ("voting", "voting_open_at"),
    ("results", "voting_close_at"),
    ("implementation", "implementation_at"),
)
BALLOT_RULES = ("knapsack", "k_approval", "single")
WINNER_RULES = ("greedy", "mes")
CATEGORIES = (
    "yards",
    "lighting",
    "roads",
    "greenery",
    "sports",
    "accessibility",
    "culture",
    "other",
)
PROPOSAL_STATUSES = ("submitted", "feasible", "infeasible", "withdrawn")
IMPLEMENTATION_STATUSES = ("planned", "in_progress", "done", "cancelled")
# "imported": anonymised ballots of a past vote loaded from a pabulib file (no voter account).
CHANNELS = ("online", "paper", "imported")
# One trillion tenge is far beyond any city budget; bigger numbers are typos or attacks.
MAX_TENGE = 10**12
DEFAULT_TZ = timezones.KAZAKHSTAN
RECEIPT_LENGTH = 16


class BudgetRuleError(ValueError):
    """A broken rule; `code` is stable so views can translate it, `details` fill the message."""

    def __init__(self, code, **details):
        super().__init__(code)
        self.code = code
        self.details = details


class BudgetError(BudgetRuleError):
    """A refused budgeting action (the same shape as the pure rule errors)."""


# ------------------------------------------------------------------ time and phases
def local_to_utc(value, tz=DEFAULT_TZ):
    """A naive local wall-clock time in `tz` -> naive UTC (as stored)."""
    if value is None:
        return None
    aware = value.replace(tzinfo=timezones.zone(tz))
    return aware.astimezone(dt.UTC).replace(tzinfo=None)


def utc_to_local(value, tz=DEFAULT_TZ):
    """A naive UTC time (as stored) -> naive local wall-clock time in `tz`."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC).astimezone(timezones.zone(tz)).replace(tzinfo=None)


@dataclass(frozen=True)
class Schedule:
    """The dates that open each phase, naive UTC; voting_close_at also opens the results."""

    proposals_open_at: dt.datetime
    review_open_at: dt.datetime
    voting_open_at: dt.datetime
    voting_close_at: dt.datetime
    implementation_at: dt.datetime | None = None

    def problems(self):
        """Codes for dates out of order (each phase must start after the previous one)."""
        dates = [getattr(self, attr) for _phase, attr in PHASE_STARTS]
        found = []
        for (phase, _attr), earlier, later in zip(PHASE_STARTS[1:], dates, dates[1:]):
            if later is not None and earlier is not None and later <= earlier:
                found.append(phase)
        return found


def phase_at(schedule, now):
    """The phase the dates give at `now` (naive UTC). A phase starts at its date, inclusive."""
    phase = "draft"
    for name, attr in PHASE_STARTS:
        start = getattr(schedule, attr)
        if start is not None and now >= start:
            phase = name
    return phase


def effective_phase(schedule, now, override=None):
    """A phase set by hand wins over the dates until staff clear it."""
    return override if override in PHASES else phase_at(schedule, now)


# ------------------------------------------------------------------ money
_INTEGER_RE = re.compile(r"^[0-9]+$")


def parse_tenge(text, *, cap=None, allow_zero=False):
    """Parse a whole-tenge amount typed by a person; raise BudgetRuleError otherwise.

    Spaces (also non-breaking) between thousands are allowed: "1 500 000". Anything else that
    is not plain digits — signs, decimals, exponents, NaN, infinity — is refused.
    """
    if isinstance(text, bool):
        raise BudgetRuleError("cost_not_number")
    if isinstance(text, int):
        value = text
    else:
        cleaned = re.sub(r"[\s\u00a0\u202f]", "", str(text or ""))
        if not cleaned:
            raise BudgetRuleError("cost_missing")
        if not _INTEGER_RE.match(cleaned):
            if re.match(r"^-[0-9]+$", cleaned):
                raise BudgetRuleError("cost_not_positive")
            if re.match(r"^-?[0-9]*[.,][0-9]+$", cleaned):
                raise BudgetRuleError("cost_fraction")
            raise BudgetRuleError("cost_not_number")
        if len(cleaned) > 16:
            raise BudgetRuleError("cost_too_large", maximum=MAX_TENGE)
        value = int(cleaned)
    if value < 0 or (value == 0 and not allow_zero):
        raise BudgetRuleError("cost_not_positive")
    if value > MAX_TENGE:
        raise BudgetRuleError("cost_too_large", maximum=MAX_TENGE)
    if cap is not None and value > cap:
        raise BudgetRuleError("cost_over_cap", cap=cap)
    return value


# ------------------------------------------------------------------ ballots
@dataclass(frozen=True)
class BallotRule:
    """How a cycle's ballot is filled in."""

    kind: str  # one of BALLOT_RULES
    budget: int
    max_choices: int | None = None  # k for k-approval

    def describe_limit(self):
        if self.kind == "knapsack":
            return ("budget", self.budget)
        if self.kind == "k_approval":
            return ("choices", self.max_choices)
        return ("choices", 1)


def validate_ballot(rule, choices, costs):
    """Check a ballot against the rule; return the chosen ids as a sorted tuple.

    choices: the project ids as submitted (a list; duplicates are an error, not ignored).
    costs: id -> cost of every project that may be chosen (feasible, of this cycle).
    Raises BudgetRuleError with codes: empty, duplicate, unknown, over_budget, too_many,
    single.
    """
    choices = list(choices)
    if not choices:
        raise BudgetRuleError("empty")
    if len(set(choices)) != len(choices):
        raise BudgetRuleError("duplicate")
    unknown = [c for c in choices if c not in costs]
    if unknown:
        raise BudgetRuleError("unknown")
    if rule.kind == "knapsack":
        total = sum(costs[c] for c in choices)
        if total > rule.budget:
            raise BudgetRuleError("over_budget", total=total, budget=rule.budget)
    elif rule.kind == "k_approval":
        if len(choices) > (rule.max_choices or 0):
            raise BudgetRuleError("too_many", k=rule.max_choices)
    elif rule.kind == "single":
        if len(choices) != 1:
            raise BudgetRuleError("single")
    else:
        raise BudgetRuleError("rule_unknown")
    return tuple(sorted(choices))


def ballot_total(choices, costs):
    return sum(costs.get(c, 0) for c in choices)


# ------------------------------------------------------------------ receipts
def receipt_code(cycle_id, ballot_id, project_ids, secret):
    """First 16 hex characters of an HMAC-SHA-256 over the stored ballot.

    The code changes when the ballot changes, and nobody without the server secret can
    compute a code for someone else's ballot.
    """
    ids = ",".join(str(p) for p in sorted(int(p) for p in project_ids))
    message = f"tynda-ballot|{cycle_id}|{ballot_id}|{ids}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return digest[:RECEIPT_LENGTH]


def normalise_receipt(text):
    """Accept a receipt as typed (spaces, dashes, capitals); return it or None if malformed."""
    cleaned = re.sub(r"[\s\-]", "", text or "").lower()
    if len(cleaned) == RECEIPT_LENGTH and all(ch in "0123456789abcdef" for ch in cleaned):
        return cleaned
    return None


def group_receipt(code):
    """abcd-ef01-2345-6789: easier to read aloud and copy."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


# ------------------------------------------------------------------ progress
def parse_progress(value):
    """A progress percentage 0–100 as an int, or BudgetRuleError("progress")."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise BudgetRuleError("progress") from None
    if not 0 <= number <= 100:
        raise BudgetRuleError("progress")
    return number
