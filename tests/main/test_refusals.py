"""Refusals say why and what to do next, in the reader's language, instead of a bare 403."""

import sys
from pathlib import Path

from helpers import make_user, post_form

sys.path.insert(0, str(Path(__file__).parent.parent / "budgeting"))
import budget_fixtures  # noqa: E402

from portal.budgeting import integrity  # noqa: E402
from portal.budgeting.models import Ballot  # noqa: E402


def _voter_key(cycle_id, user_id):
    from flask import current_app

    return integrity.voter_key(integrity.ballot_key(current_app.config), cycle_id, user_id)


make_project = budget_fixtures.make_project


def test_unverified_resident_is_told_how_to_get_verified(as_role, new_cycle):
    cycle = new_cycle("voting")
    client = as_role("resident", verified=False)
    response = client.get(f"/budget/{cycle.id}/ballot")
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Your residence is not verified yet" in html
    assert 'href="/verification"' in html and "How to get verified" in html
    assert "sign in with another account" not in html
    assert client.get("/verification").status_code == 200


def test_refusal_is_translated(as_role, new_cycle):
    cycle = new_cycle("voting")
    client = as_role("resident", verified=False)
    client.set_cookie("lang", "kk")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "kk"
    html = client.get(f"/budget/{cycle.id}/proposals/new").get_data(as_text=True)
    assert "Your residence is not verified yet" not in html
    assert 'href="/verification"' in html
    assert "расталмаған" in html


def test_resident_of_another_region_is_sent_to_their_own(as_role, new_cycle):
    cycle = new_cycle("voting", region="KZ-71")
    client = as_role("resident")
    html = client.get(f"/budget/{cycle.id}/ballot").get_data(as_text=True)
    assert "This cycle is for residents of" in html
    assert 'href="/?region=KZ-75"' in html


def test_resident_opening_staff_page_learns_who_it_is_for(as_role):
    client = as_role("resident")
    response = client.get("/staff/")
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "This page is for akimat staff" in html and 'href="/profile"' in html


def test_staff_of_another_region_is_told_which_region(as_role, new_cycle):
    cycle = new_cycle("review", region="KZ-71")
    client = as_role("staff")
    html = client.get(f"/budget/{cycle.id}/review").get_data(as_text=True)
    assert "your account works for" in html and 'href="/?region=KZ-75"' in html


def test_receipt_of_another_voter_points_to_lookup(as_role, db, new_cycle):
    cycle = new_cycle("voting")
    owner = make_user()
    ballot = Ballot(cycle_id=cycle.id, voter_key=_voter_key(cycle.id, owner.id), receipt="a" * 16)
    db.session.add(ballot)
    db.session.commit()
    html = as_role("resident").get(f"/budget/{cycle.id}/ballot/{ballot.id}/receipt")
    assert ballot and "belongs to another voter" in html.get_data(as_text=True)
    assert 'href="/budget/receipt"' in html.get_data(as_text=True)


def test_online_vote_after_paper_ballot_says_paper_counts(as_role, db, new_cycle, make_project):
    cycle = new_cycle("voting")
    project = make_project(cycle, 1000)
    client = as_role("resident")
    db.session.add(
        Ballot(
            cycle_id=cycle.id,
            voter_key=_voter_key(cycle.id, client.user.id),
            channel="paper",
            receipt="b" * 16,
        )
    )
    db.session.commit()
    url = f"/budget/{cycle.id}/ballot"
    response = post_form(client, url, {"project": [str(project.id)]}, token_from=url)
    assert response.status_code == 409
    assert "already voted on paper" in response.get_data(as_text=True)


def test_moderator_of_other_region_is_sent_to_own_queue(as_role, db):
    from consult_helpers import make_comment, make_draft

    draft = make_draft(region="KZ-71", staff=make_user(role="staff", region="KZ-71"))
    make_comment(draft, author=make_user(region="KZ-71"))
    client = as_role("moderator")
    html = client.get(f"/moderation/drafts/{draft.id}/campaigns").get_data(as_text=True)
    assert "moderated by the moderators of its region" in html
    assert 'href="/moderation/"' in html
