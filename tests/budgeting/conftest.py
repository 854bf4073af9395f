"""Fixtures for budgeting tests: cycles in a chosen phase and feasible projects."""

import datetime as dt

import pytest
from helpers import make_user

from portal.accounts.models import utcnow
from portal.budgeting.models import BudgetCycle, Proposal
from portal.regions.services import region_by_code

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


@pytest.fixture
def make_cycle(db):
    def make(phase="proposals", region="KZ-75", **values):
        region_obj = region_by_code(db.session, region)
        fields = {
            "title_kk": "Халық бюджеті",
            "title_ru": "Народный бюджет",
            "title_en": "People's budget",
            "budget": 1_000_000,
            "ballot_rule": "knapsack",
            "winner_rule": "greedy",
        }
        fields.update(schedule_for(phase))
        fields.update(values)
        cycle = BudgetCycle(region_id=region_obj.id, **fields)
        db.session.add(cycle)
        db.session.commit()
        return cycle

    return make


@pytest.fixture
def make_project(db):
    def make(cycle, cost, status="feasible", author=None, title="Project", **values):
        author = author or make_user()
        proposal = Proposal(
            cycle_id=cycle.id,
            author_id=author.id,
            title=title,
            description_html="<p>Text</p>",
            category=values.pop("category", "yards"),
            estimated_cost=cost,
            status=status,
            **values,
        )
        db.session.add(proposal)
        db.session.commit()
        return proposal

    return make
