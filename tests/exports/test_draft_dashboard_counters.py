"""The staff draft dashboard reads counters kept by triggers (comment_tally, comment_wait):
they equal a recount of the comments after every change moderation and answers can make,
and the page shows their figures."""

import datetime as dt
import statistics

from consult_helpers import make_comment, make_draft, publish
from helpers import make_user
from sqlalchemy import delete, update

from portal.accounts.models import utcnow
from portal.consultations import services as consult
from portal.consultations.models import Comment
from portal.exports import dashboards
from portal.moderation import services as moderation


def _agree(db, draft):
    db.session.expire_all()
    stored = consult.comment_tally(db.session, [draft.id])
    assert stored == consult.recount_tally(db.session, [draft.id])
    assert consult.answer_waits(db.session, draft) == consult.recount_waits(db.session, draft)
    return dashboards.draft_figures(db.session, draft)


def _answer(db, draft, comment, decision="accepted"):
    consult.answer_comment(
        db.session, draft.staff, comment, decision=decision,
        justification="Учтено.", new_wording="Новая редакция.",
    )  # fmt: skip
    db.session.commit()


def test_counters_equal_a_recount_through_moderation_and_answers(db):
    draft, other = make_draft(), make_draft()
    moderator = make_user(role="moderator")
    comments = [
        make_comment(draft, stance="object"),
        make_comment(draft, stance="support"),
        make_comment(draft, stance="support", article=2),
        make_comment(draft, stance="object", article=None),
        make_comment(draft, stance="object", article=3),
    ]
    make_comment(other, stance="support")  # never counted for the first draft
    f = _agree(db, draft)
    assert (f["received"], f["pending"], f["published"]) == (5, 5, 0)

    moderation.moderate(db.session, moderator, comments[:4], "publish")
    moderation.moderate(db.session, moderator, comments[4:], "reject", reason="spam")
    db.session.commit()
    f = _agree(db, draft)
    assert (f["received"], f["pending"], f["published"], f["rejected"]) == (5, 0, 4, 1)
    first = next(a for a in f["articles"] if a["id"] == draft.articles[0].id)
    assert (first["received"], first["published"], first["support"], first["object"]) == (
        2, 2, 1, 1,
    )  # fmt: skip

    # Answered a day and a half (and 2.25 days) after they were written.
    for comment, days in ((comments[0], 1.5), (comments[1], 2.25)):
        db.session.execute(
            update(Comment)
            .where(Comment.id == comment.id)
            .values(created_at=utcnow() - dt.timedelta(days=days))
        )
        db.session.commit()
        db.session.refresh(comment)
        _answer(db, draft, comment)
    f = _agree(db, draft)
    assert f["answered"] == 2 and f["decisions"] == {"accepted": 2}
    assert f["answer_days"]["max"] in (2.2, 2.3) and f["answer_days"]["median"] >= 1.5

    # Draft closed with its answers due: published and unanswered ones are overdue.
    draft.answer_due = utcnow() - dt.timedelta(hours=1)
    db.session.commit()
    assert _agree(db, draft)["overdue"] == 2
    assert dashboards.overdue_answers(db.session, draft.region_id) >= 2

    # Moved to another article, a bulk change of stances, republished, deleted.
    db.session.execute(update(Comment).where(Comment.id == comments[2].id).values(article_id=None))
    db.session.execute(update(Comment).where(Comment.draft_id == draft.id).values(stance="reword"))
    db.session.commit()
    _agree(db, draft)
    publish(comments[4])  # a rejection reversed by a plain change of status
    assert _agree(db, draft)["published"] == 5
    extra = publish(make_comment(draft, stance="support", article=2))
    assert _agree(db, draft)["overdue"] == 4
    db.session.execute(delete(Comment).where(Comment.id == extra.id))
    db.session.commit()
    f = _agree(db, draft)
    assert (f["received"], f["answered"], f["overdue"]) == (5, 2, 3)

    # An answer taken back (as a repair would): its wait is no longer counted.
    db.session.execute(
        update(Comment).where(Comment.id == comments[1].id).values(answered_at=None, decision=None)
    )
    db.session.commit()
    f = _agree(db, draft)
    assert f["answered"] == 1 and f["answer_days"] == {"median": 1.5, "p90": 1.5, "max": 1.5}


def test_plain_orm_publish_counts(db):
    draft = make_draft()
    publish(make_comment(draft, stance="support"))
    publish(make_comment(draft), status="hidden")
    f = _agree(db, draft)
    assert (f["published"], f["hidden"], f["received"]) == (1, 1, 2)


def test_wait_summary_matches_statistics_over_the_waits():
    waits = [0, 0, 3, 7, 7, 7, 12, 40, 41, 41, 250]
    histogram = sorted({w: waits.count(w) for w in waits}.items())
    days = [w / 10 for w in waits]
    assert dashboards.wait_summary(histogram) == {
        "median": round(statistics.median(days), 1),
        "p90": round(days[int(len(days) * 0.9)], 1),
        "max": 25.0,
    }
    even = histogram[:-1]
    assert dashboards.wait_summary(even)["median"] == round(statistics.median(days[:-1]), 1)
    assert dashboards.wait_summary([]) is None


def test_dashboard_page_shows_the_counted_figures(db, as_role):
    draft = make_draft()
    publish(make_comment(draft))
    make_comment(draft)
    page = as_role("staff").get(f"/staff/drafts/{draft.id}").get_data(as_text=True)
    assert '<span class="figure">2</span> comments received' in page
    assert '<span class="figure">1</span> awaiting moderation' in page
