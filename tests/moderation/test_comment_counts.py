"""The published-comment counters (kept by triggers) equal a recount after every change
moderation can make: publish, reject, hide by reports, restore, campaign actions, a comment
moved to another article, bulk updates and deletes."""

from consult_helpers import exact_copies, make_comment, make_draft, publish
from helpers import make_user
from sqlalchemy import delete, select, update

from portal.consultations import services as consult
from portal.consultations.domain import REPORTS_TO_HIDE
from portal.consultations.models import Campaign, Comment
from portal.moderation import services


def _agree(db, draft, expected_total):
    db.session.expire_all()
    stored = consult.article_counts(db.session, draft)
    assert stored == consult.recount_articles(db.session, draft)
    assert sum(entry["total"] for entry in stored.values()) == expected_total
    return stored


def test_counters_equal_a_recount_through_moderation(db, as_role):
    draft = make_draft()
    other = make_draft()  # its comments must never count for the first draft
    moderator = make_user(role="moderator")
    first, second = draft.articles[0].id, draft.articles[1].id
    comments = [
        make_comment(draft, stance="object"),
        make_comment(draft, stance="support"),
        make_comment(draft, stance="support", article=2),
        make_comment(draft, stance="reword", article=2, proposed_wording="Новая редакция."),
        make_comment(draft, stance="object", article=None),
        make_comment(other, stance="support"),
    ]
    _agree(db, draft, 0)  # pending comments are not counted
    services.moderate(db.session, moderator, comments, "publish")
    db.session.commit()
    stored = _agree(db, draft, 5)
    assert stored[first] == {"support": 1, "object": 1, "reword": 0, "total": 2}
    assert stored[None]["object"] == 1 and stored[second]["reword"] == 1
    assert consult.article_counts(db.session, draft, [None]) == {None: stored[None]}

    # Reported until hidden, then restored by a moderator.
    target = comments[1]
    for _ in range(REPORTS_TO_HIDE):
        consult.report_comment(db.session, make_user(), target)
    db.session.commit()
    assert target.status == "hidden"
    assert _agree(db, draft, 4)[first]["support"] == 0
    services.moderate(db.session, moderator, [target], "restore")
    db.session.commit()
    assert _agree(db, draft, 5)[first]["support"] == 1

    # Moved to another article (one UPDATE of article_id), then a bulk update of stances.
    db.session.execute(update(Comment).where(Comment.id == target.id).values(article_id=second))
    db.session.commit()
    assert _agree(db, draft, 5)[second]["support"] == 2
    db.session.execute(update(Comment).where(Comment.draft_id == draft.id).values(stance="object"))
    db.session.commit()
    assert _agree(db, draft, 5)[second] == {"support": 0, "object": 3, "reword": 0, "total": 3}

    # Published by a plain attribute change (the ORM), then deleted: counted, then not.
    extra = publish(make_comment(draft, stance="support"))
    assert _agree(db, draft, 6)[first]["support"] == 1
    db.session.execute(delete(Comment).where(Comment.id == extra.id))
    db.session.commit()
    _agree(db, draft, 5)


def test_campaign_actions_update_the_counters(db):
    draft = make_draft()
    moderator = make_user(role="moderator")
    for _ in range(4):
        make_comment(draft, text="Одинаковый текст кампании.", stance="object")
    make_comment(draft, text="Отдельное мнение.", stance="support", article=2)
    services.cluster_draft(db.session, moderator, draft, cluster_fn=exact_copies)
    db.session.commit()
    campaign = db.session.scalars(select(Campaign).where(Campaign.draft_id == draft.id)).one()
    assert services.moderate_campaign(db.session, moderator, campaign, "publish") == 4
    db.session.commit()
    assert _agree(db, draft, 4)[draft.articles[0].id]["object"] == 4
