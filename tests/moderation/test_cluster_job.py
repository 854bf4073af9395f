"""Finding campaigns runs as a background job queued from the campaigns page."""

from consult_helpers import exact_copies, make_comment, make_draft
from helpers import post_form
from sqlalchemy import select

from portal.consultations.models import Campaign
from portal.jobs.models import Job


def test_clustering_runs_as_a_job(db, as_role, monkeypatch):
    from portal.moderation import clustering

    monkeypatch.setattr(clustering, "cluster", exact_copies)
    draft = make_draft()
    for _ in range(3):
        make_comment(draft, text="Одинаковый текст")
    make_comment(draft, text="Другое мнение")
    moderator = as_role("moderator")
    page = f"/moderation/drafts/{draft.id}/campaigns"
    response = post_form(moderator, f"/moderation/drafts/{draft.id}/cluster", {}, token_from=page)
    assert response.status_code == 302 and "/jobs/" in response.location
    db.session.expire_all()
    row = db.session.get(Job, int(response.location.rsplit("/", 1)[1]))
    assert row.status == "done" and row.result == {"draft_id": draft.id, "campaigns": 1}
    (campaign,) = db.session.scalars(select(Campaign).where(Campaign.draft_id == draft.id))
    assert campaign.size == 3
    assert "Finding campaigns" in moderator.get(response.location).get_data(as_text=True)
