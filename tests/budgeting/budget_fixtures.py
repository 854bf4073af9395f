"""Fixtures for budgeting tests (imported by the test modules; a conftest.py here would shadow
tests/browser/conftest.py for `from conftest import ...` when both folders run together)."""

import pytest
from helpers import make_user

from portal.budgeting.models import Proposal


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
