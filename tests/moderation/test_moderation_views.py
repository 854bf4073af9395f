"""The queue page: filters, bulk and campaign actions over HTTP, JSON for keyboard triage."""

from consult_helpers import exact_copies, make_comment, make_draft
from helpers import csrf_token, post_form
from sqlalchemy import select

from portal.consultations.models import Comment
from portal.extensions import db
from portal.moderation import services


def _status(comment_id):
    db.session.expire_all()
    return db.session.get(Comment, comment_id).status


def test_queue_page_filters_and_has_keyboard_script(as_role, db):
    draft = make_draft()
    make_comment(draft, text="Против застройки", stance="object")
    make_comment(draft, text="За проект", stance="support")
    moderator = as_role("moderator")
    page = moderator.get(f"/moderation/?draft={draft.id}&stance=support&status=pending")
    html = page.get_data(as_text=True)
    assert "За проект" in html and "Против застройки" not in html
    assert "js/moderation.js" in html and "style=" not in html
    assert moderator.get("/moderation/?draft=abc").status_code == 400
    assert moderator.get("/moderation/?status=nonsense").status_code == 400


def test_keyboard_triage_gets_json_and_stays_on_the_page(as_role, db):
    comment = make_comment(make_draft())
    moderator = as_role("moderator")
    token = csrf_token(moderator, "/moderation/")
    response = moderator.post(
        f"/moderation/comments/{comment.id}/reject",
        data={"csrf_token": token, "reason": ""},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 422 and response.json["ok"] is False
    assert _status(comment.id) == "pending"
    response = moderator.post(
        f"/moderation/comments/{comment.id}/reject",
        data={"csrf_token": token, "reason": "abuse"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200 and response.json["ok"] is True
    assert _status(comment.id) == "rejected"


def test_bulk_publish_over_http(as_role, db):
    draft = make_draft()
    comments = [make_comment(draft, text=f"Мнение {i}") for i in range(3)]
    moderator = as_role("moderator")
    response = post_form(
        moderator,
        "/moderation/bulk",
        {"action": "publish", "ids": [str(c.id) for c in comments[:2]]},
        token_from="/moderation/",
    )
    assert response.status_code == 302
    assert [_status(c.id) for c in comments] == ["published", "published", "pending"]


def test_campaign_reject_over_http(as_role, db):
    draft = make_draft()
    copies = [make_comment(draft, text="Одинаковый текст") for _ in range(3)]
    (campaign,) = services.cluster_draft(db.session, None, draft, cluster_fn=exact_copies)
    db.session.commit()
    moderator = as_role("moderator")
    page = f"/moderation/drafts/{draft.id}/campaigns"
    assert "Одинаковый текст" in moderator.get(page).get_data(as_text=True)
    post_form(
        moderator,
        f"/moderation/campaigns/{campaign.id}/reject",
        {"reason": "spam"},
        token_from=page,
    )
    statuses = db.session.scalars(
        select(Comment.reject_reason).where(Comment.id.in_([c.id for c in copies]))
    ).all()
    assert statuses == ["spam"] * 3


def test_queue_says_more_than_the_cap_instead_of_counting_everything(as_role, db, monkeypatch):
    draft = make_draft()
    for n in range(3):
        make_comment(draft, text=f"Комментарий {n}")
    moderator = as_role("moderator")
    url = f"/moderation/?draft={draft.id}"
    assert "3 comments match." in moderator.get(url).get_data(as_text=True)
    monkeypatch.setattr(services, "COUNT_CAP", 2)
    html = moderator.get(url).get_data(as_text=True)
    assert "More than 2 comments match." in html and "3 comments match" not in html
