"""`flask demo load` gives one Almaty budget cycle in each phase, with results to show."""

import budget_fixtures
from sqlalchemy import select

from portal import demo
from portal.budgeting.demo import load_budgeting
from portal.budgeting.models import BudgetCycle, CycleResult

# Shared fixtures (a conftest.py here would shadow tests/browser/conftest.py).
make_project = budget_fixtures.make_project


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


def test_every_demo_screen_renders_in_three_languages(db, as_role):
    demo.load_accounts(db.session)
    load_budgeting(db.session)
    db.session.commit()
    cycles = db.session.scalars(
        select(BudgetCycle).where(BudgetCycle.created_by_id.is_not(None))
    ).all()[-5:]
    admin = as_role("admin")
    resident = as_role("resident")
    pages = ["/budget/", "/budget/receipt?code=abc", "/budget/notifications"]
    closed = {}
    for cycle in cycles:
        closed[f"/budget/{cycle.id}/counts"] = cycle.voting_closed()
        first = cycle.proposals.first()
        pages += [
            f"/budget/{cycle.id}",
            f"/budget/{cycle.id}/proposals?sort=cost",
            f"/budget/{cycle.id}/review",
            f"/budget/{cycle.id}/paper",
            f"/budget/{cycle.id}/results",
            f"/budget/{cycle.id}/implementation",
            f"/budget/{cycle.id}/counts",
            f"/budget/{cycle.id}/edit",
            f"/budget/proposals/{first.id}",
        ]
    for lang in ("kk", "ru", "en"):
        for url in pages:
            response = admin.get(url, headers={"Accept-Language": lang})
            body = response.get_data(as_text=True)
            # Counts of a cycle still voting are hidden from everyone, admins included.
            hidden = url.endswith("/counts") and not closed.get(url, True)
            expected = (403,) if hidden else (200, 404)
            assert response.status_code in expected, (url, lang, response.status_code)
            assert f'<html lang="{lang}">' in body
        for cycle in cycles:
            response = resident.get(f"/budget/{cycle.id}/ballot", headers={"Accept-Language": lang})
            assert response.status_code == 200
