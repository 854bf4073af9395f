"""`flask demo load --scale small|city`: the city-sized data in one command, idempotent.

The small scale has the city's shapes (a published cycle, imported ballots, a draft with
campaigns); the pages over it answer and the receipts of the bulk-inserted ballots verify.
"""

import datetime as dt

from sqlalchemy import func, select

from portal import demo_city
from portal.budgeting import publishing
from portal.budgeting import services as budget
from portal.budgeting.models import Ballot, Proposal
from portal.consultations import services as consult
from portal.consultations.models import Campaign, Comment
from portal.keys import receipt_key


def _count(db, model, **where):
    statement = select(func.count()).select_from(model)
    for name, value in where.items():
        statement = statement.where(getattr(model, name) == value)
    return db.session.scalar(statement)


def test_demo_load_scale_small_is_idempotent(app, db, client, new_cycle):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load", "--scale", "small"])
    assert result.exit_code == 0, result.output
    assert "small-scale data is loaded" in result.output
    scale = demo_city.SCALES["small"]
    cycle, draft = demo_city.find(db.session, scale)
    assert _count(db, Proposal, cycle_id=cycle.id) == scale.proposals
    assert _count(db, Ballot, cycle_id=cycle.id) == scale.ballots
    assert _count(db, Comment, draft_id=draft.id) == scale.comments
    assert _count(db, Campaign, draft_id=draft.id) == scale.campaigns
    # The bulk-inserted comments went through the dashboard counters' triggers.
    tally = consult.comment_tally(db.session, [draft.id])
    assert tally == consult.recount_tally(db.session, [draft.id])
    assert sum(row[-1] for row in tally) == scale.comments
    assert publishing.published_result(db.session, cycle) is not None
    ballot = db.session.scalar(select(Ballot).where(Ballot.cycle_id == cycle.id).limit(1))
    with app.app_context():
        assert budget.receipt_is_current(ballot, receipt_key())

    # Explicit ids moved PostgreSQL's sequences along: ordinary inserts still work (in a new
    # cycle: the city cycle's rules are frozen since its vote opened).
    later = new_cycle(
        region_id=cycle.region_id,
        title_en="Next",
        proposals_open_at=cycle.implementation_at,
        review_open_at=cycle.implementation_at + dt.timedelta(days=30),
        voting_open_at=cycle.implementation_at + dt.timedelta(days=60),
        voting_close_at=cycle.implementation_at + dt.timedelta(days=90),
        implementation_at=cycle.implementation_at + dt.timedelta(days=120),
        commit=False,
    )
    db.session.add(
        Proposal(
            cycle_id=later.id,
            title="After the city",
            description_html="<p>x</p>",
            category="yards",
            estimated_cost=1000,
        )
    )
    db.session.flush()

    again = runner.invoke(args=["demo", "load", "--scale", "small"])
    assert again.exit_code == 0 and "already loaded" in again.output
    assert _count(db, Proposal, cycle_id=cycle.id) == scale.proposals
    assert _count(db, Proposal, cycle_id=later.id) == 1

    for url in (
        f"/budget/{cycle.id}/results",
        f"/budget/{cycle.id}/proposals?page=3",
        f"/consultations/{draft.id}",
        f"/api/v1/drafts/{draft.id}/comments?per_page=100",
    ):
        assert client.get(url).status_code == 200, url
