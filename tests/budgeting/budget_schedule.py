"""Dates that put a test cycle in a chosen phase (shared by conftest and the live tests)."""

import datetime as dt

from portal.accounts.models import utcnow

DAY = dt.timedelta(days=1)
# How far "now" is from the start of each phase when a cycle is built in that phase.
OFFSETS = {
    "draft": -1,
    "proposals": 0,
    "review": 1,
    "voting": 2,
    "results": 3,
    "implementation": 4,
}


def schedule_for(phase, now=None):
    """Dates (naive UTC) that put `now` in the middle of `phase`, one day per phase."""
    now = now or utcnow()
    start = now - DAY * OFFSETS[phase] - DAY / 2
    return {
        "proposals_open_at": start,
        "review_open_at": start + DAY,
        "voting_open_at": start + 2 * DAY,
        "voting_close_at": start + 3 * DAY,
        "implementation_at": start + 4 * DAY,
    }
