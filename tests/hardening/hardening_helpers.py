"""Helpers the hardening tests share: a cycle in a phase, a project, and row counts."""

import datetime as dt

import sqlalchemy as sa
from helpers import make_user

from portal.accounts.models import utcnow
from portal.budgeting.models import BudgetCycle, Proposal
from portal.extensions import db as _db
from portal.regions.services import region_by_code


def row_counts():
    """Rows per table, in one query (cheap enough to run around every case)."""
    tables = [t for t in _db.metadata.sorted_tables if t.name != "alembic_version"]
    query = sa.union_all(
        *[
            sa.select(sa.literal(t.name).label("t"), sa.func.count().label("n")).select_from(t)
            for t in tables
        ]
    )
    return dict(_db.session.execute(query).all())


def new_cycle(phase):
    """A cycle of Almaty in `phase` now (one day per phase)."""
    day = dt.timedelta(days=1)
    offset = ["proposals", "review", "voting", "results", "implementation"].index(phase)
    start = utcnow() - day * offset - day / 2
    cycle = BudgetCycle(
        region_id=region_by_code(_db.session, "KZ-75").id,
        title_kk="Бюджет",
        title_ru="Бюджет",
        title_en="Budget",
        budget=1_000_000,
        ballot_rule="knapsack",
        winner_rule="greedy",
        proposals_open_at=start,
        review_open_at=start + day,
        voting_open_at=start + 2 * day,
        voting_close_at=start + 3 * day,
        implementation_at=start + 4 * day,
    )
    _db.session.add(cycle)
    _db.session.commit()
    return cycle


def new_project(cycle, cost, status="feasible", author=None, **values):
    proposal = Proposal(
        cycle_id=cycle.id,
        author_id=(author or make_user()).id,
        title="Project",
        description_html="<p>Text</p>",
        category="yards",
        estimated_cost=cost,
        status=status,
        **values,
    )
    _db.session.add(proposal)
    _db.session.commit()
    return proposal
