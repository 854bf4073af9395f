"""Proposals in Kazakh and Russian besides the original: each reader sees their language,
falling back to the original; search finds any of them; the demo has all three."""

import budget_fixtures
from helpers import post_form
from sqlalchemy import select

from portal import demo
from portal.budgeting.demo import load_budgeting
from portal.budgeting.models import BudgetCycle, Proposal

make_project = budget_fixtures.make_project


def _page(client, url, lang):
    client.set_cookie("lang", lang)
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_proposal_in_three_languages_is_shown_in_the_readers(db, as_role, new_cycle):
    cycle = new_cycle("proposals")
    resident = as_role("resident")
    url = f"/budget/{cycle.id}/proposals/new"
    data = {
        "title": "Benches in the park",
        "description": "<p>Ten benches</p>",
        "title_kk": "Саябақтағы орындықтар",
        "description_kk": "<p>Он орындық</p><script>alert(1)</script>",
        "title_ru": "Скамейки в парке",
        "description_ru": "",
        "category": "greenery",
        "district_id": 0,
        "address": "Central park",
        "estimated_cost": "1 200 000",
    }
    response = post_form(resident, url, data, token_from=url)
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    proposal = db.session.scalar(select(Proposal).where(Proposal.cycle_id == cycle.id))
    assert proposal.title_kk == "Саябақтағы орындықтар" and proposal.title_ru == "Скамейки в парке"
    assert "<script>" not in proposal.description_html_kk
    assert proposal.description_html_ru is None  # empty: the original is shown

    reader = as_role("anonymous")
    page = _page(reader, f"/budget/proposals/{proposal.id}", "kk")
    assert "<h1>Саябақтағы орындықтар</h1>" in page and "Он орындық" in page
    page = _page(reader, f"/budget/proposals/{proposal.id}", "ru")
    assert "<h1>Скамейки в парке</h1>" in page and "Ten benches" in page  # no Russian text
    page = _page(reader, f"/budget/proposals/{proposal.id}", "en")
    assert "<h1>Benches in the park</h1>" in page and "Ten benches" in page
    listing = _page(reader, f"/budget/{cycle.id}/proposals", "kk")
    assert "Саябақтағы орындықтар" in listing and "Benches in the park" not in listing
    # Search finds a proposal by its title in either state language.
    found = _page(reader, f"/budget/{cycle.id}/proposals?q=Скамейки", "ru")
    assert "Скамейки в парке" in found

    mine = _page(resident, "/budget/my/proposals", "ru")
    assert "Скамейки в парке" in mine and "Benches in the park" not in mine

    # The author's edit form shows the translations to change them.
    edit = f"/budget/proposals/{proposal.id}/edit"
    form = _page(resident, edit, "en")
    assert "Саябақтағы орындықтар" in form and "Он орындық" in form


def test_a_proposal_without_translations_shows_its_original(db, as_role, new_cycle, make_project):
    cycle = new_cycle("voting")
    proposal = make_project(cycle, 100, title="Lights on the square")
    page = _page(as_role("anonymous"), f"/budget/proposals/{proposal.id}", "kk")
    assert "<h1>Lights on the square</h1>" in page


def test_demo_projects_have_kazakh_russian_and_english_titles(db, as_role):
    demo.load_accounts(db.session)
    load_budgeting(db.session)
    db.session.commit()
    cycle = db.session.scalars(
        select(BudgetCycle).where(BudgetCycle.created_by_id.is_not(None)).order_by(BudgetCycle.id)
    ).all()[-3]  # the one in voting
    projects = cycle.proposals.all()
    assert projects and all(p.title and p.title_kk and p.title_ru for p in projects)
    assert all(p.description_html_kk and p.description_html_ru for p in projects)
    assert len({p.title_kk for p in projects}) == len(projects)
    ballot = _page(as_role("anonymous"), f"/budget/{cycle.id}/proposals", "ru")
    assert "Детская площадка во дворе Абая 150" in ballot
