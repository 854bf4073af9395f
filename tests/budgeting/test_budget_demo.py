"""`flask demo load` gives one Almaty budget cycle in each phase, with results to show."""

from sqlalchemy import select

from portal import demo
from portal.budgeting.demo import load_budgeting
from portal.budgeting.models import BudgetCycle, CycleResult


def test_demo_has_a_cycle_in_every_phase_and_is_idempotent(db, client):
    demo.load_accounts(db.session)
    load_budgeting(db.session)
    load_budgeting(db.session)
    db.session.commit()
    cycles = db.session.scalars(select(BudgetCycle).order_by(BudgetCycle.id)).all()
    demo_cycles = [c for c in cycles if c.region.code == "KZ-75" and c.created_by_id]
    phases = [c.phase() for c in demo_cycles]
    assert phases[-5:] == ["proposals", "review", "voting", "results", "implementation"]
    assert all(c.title_kk and c.title_ru and c.title_en for c in demo_cycles)
    published = db.session.scalars(
        select(CycleResult).where(CycleResult.published_at.is_not(None))
    ).all()
    assert {r.cycle.phase() for r in published} >= {"results", "implementation"}
    results_cycle = demo_cycles[-2]
    page = client.get(f"/budget/{results_cycle.id}/results", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "<svg" in page.get_data(as_text=True)
