"""The demo loader: open and closed Almaty drafts, a national one, a campaign and answers."""

from sqlalchemy import func, select

from portal import demo
from portal.consultations.models import Campaign, Comment, Draft


def test_demo_loads_consultations_once(db):
    demo.load_all(db.session)
    demo.load_all(db.session)  # idempotent
    drafts = db.session.scalars(select(Draft).order_by(Draft.id)).all()
    assert len(drafts) == 3
    assert [d.region.code if d.region else None for d in drafts] == ["KZ-75", "KZ-75", None]
    assert {d.status for d in drafts} == {"open", "closed"}
    assert all(d.title_kk and d.title_ru and d.title_en for d in drafts)
    assert db.session.scalar(select(func.max(Campaign.size))) == 6
    answered = db.session.scalar(
        select(func.count(Comment.id)).where(Comment.decision.is_not(None))
    )
    assert answered == 3
