"""The draft's support and oppose marks come from a counter kept by triggers on draft_vote:
it equals a recount after marks are added, changed and deleted, by any path."""

from consult_helpers import make_draft
from helpers import make_user
from sqlalchemy import delete, update

from portal.consultations import services
from portal.consultations.models import DraftVote


def _agree(db, draft):
    stored = services.vote_counts(db.session, draft)
    assert stored == services.recount_votes(db.session, draft)
    return stored


def test_vote_counter_equals_a_recount(db):
    draft, other = make_draft(), make_draft()
    assert _agree(db, draft) == {"support": 0, "oppose": 0}
    marks = [
        services.vote(db.session, make_user(), draft, supports=supports)
        for supports in (True, True, False)
    ]
    services.vote(db.session, make_user(), other, supports=False)
    db.session.commit()
    assert _agree(db, draft) == {"support": 2, "oppose": 1}
    db.session.execute(update(DraftVote).where(DraftVote.id == marks[0].id).values(supports=False))
    db.session.commit()
    assert _agree(db, draft) == {"support": 1, "oppose": 2}
    db.session.execute(delete(DraftVote).where(DraftVote.id == marks[2].id))
    db.session.commit()
    assert _agree(db, draft) == {"support": 1, "oppose": 1}
    assert _agree(db, other) == {"support": 0, "oppose": 1}


def test_draft_page_shows_the_counted_marks(db, client):
    draft = make_draft()
    services.vote(db.session, make_user(), draft, supports=False)
    db.session.commit()
    page = client.get(f"/consultations/{draft.id}").get_data(as_text=True)
    assert "Support: 0 · Do not support: 1" in page
