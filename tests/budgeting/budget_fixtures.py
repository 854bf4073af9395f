"""Fixtures for budgeting tests (imported by the test modules; a conftest.py here would shadow
tests/browser/conftest.py for `from conftest import ...` when both folders run together)."""

import pytest
from budget_schedule import schedule_for
from helpers import make_user

from portal.budgeting.models import BudgetCycle, Proposal
from portal.regions.services import region_by_code


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
