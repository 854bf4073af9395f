"""Only verified residents comment on drafts and give their view (issue 11)."""

import pytest
from consult_helpers import make_draft
from helpers import make_user, post_form, translate
from sqlalchemy import func, select

from portal.consultations import services
from portal.consultations.models import Comment, DraftVote
from portal.consultations.services import ConsultationError


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    "who", [dict(verified=False), dict(region="KZ-71")], ids=["unverified", "other-region"]
)
def test_services_refuse_comments_and_votes(db, who):
    draft = make_draft()
    user = make_user(**who)
    with pytest.raises(ConsultationError, match="not_verified"):
        services.add_comment(db.session, user, draft, stance="support", text="Иә")
    with pytest.raises(ConsultationError, match="not_verified"):
        services.vote(db.session, user, draft, supports=True)
    assert _count(db, Comment) == 0 and _count(db, DraftVote) == 0


def test_national_draft_takes_any_verified_resident_but_not_unverified(db):
    draft = make_draft(region=None)
    services.vote(db.session, make_user(region="KZ-71"), draft, supports=True)
    services.add_comment(db.session, make_user(region="KZ-11"), draft, stance="support", text="Иә")
    with pytest.raises(ConsultationError, match="not_verified"):
        services.vote(db.session, make_user(verified=False), draft, supports=False)
    assert _count(db, DraftVote) == 1 and _count(db, Comment) == 1


def test_views_refuse_unverified_with_a_message_how_to_get_verified(as_role, db):
    draft = make_draft()
    unverified = as_role("resident", verified=False)
    page = unverified.get(f"/consultations/{draft.id}", headers={"Accept-Language": "kk"})
    text = page.get_data(as_text=True)
    message = translate(
        "kk",
        "Only verified residents of the draft's region can comment on it and give their "
        "view (any verified resident for a national draft). To get verified, ask your "
        "akimat's staff to confirm your residence (bring your ID card), then come back.",
    )
    assert message in text
    assert f'action="/consultations/{draft.id}/vote"' not in text
    for url, data in (
        (f"/consultations/{draft.id}/vote", {"supports": "yes"}),
        (
            f"/consultations/{draft.id}/comments",
            {"stance": "support", "text": "Қолдаймын", "article_id": str(draft.articles[0].id)},
        ),
    ):
        response = post_form(unverified, url, data)
        assert response.status_code == 303
        followed = unverified.get(response.headers["Location"])
        assert "akimat&#39;s staff" in followed.get_data(as_text=True)
    assert _count(db, Comment) == 0 and _count(db, DraftVote) == 0
    # A verified resident of the region still takes part.
    verified = as_role("resident")
    assert (
        post_form(verified, f"/consultations/{draft.id}/vote", {"supports": "yes"}).status_code
        == 302
    )
    assert _count(db, DraftVote) == 1
