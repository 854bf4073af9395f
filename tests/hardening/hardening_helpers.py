"""Helpers the hardening tests share: a project and row counts (cycles: helpers.new_cycle)."""

import sqlalchemy as sa
from helpers import make_user

from portal.budgeting.models import Proposal
from portal.extensions import db as _db


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
