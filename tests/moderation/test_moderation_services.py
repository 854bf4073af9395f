"""Moderation services: queue filters and keyset pages, all-or-nothing bulk, campaigns."""

import pytest
from consult_helpers import exact_copies, make_comment, make_draft, publish
from helpers import make_user
from sqlalchemy import select

from portal.consultations.models import Campaign, Comment
from portal.moderation import services
from portal.moderation.models import ModerationAction
from portal.moderation.services import ModerationError, QueueFilters


def test_queue_filters_and_keyset_pages(db):
    draft = make_draft()
    moderator = make_user(role="moderator")
    pending = [make_comment(draft, stance="object") for _ in range(5)]
    support = make_comment(draft, stance="support", article=2)
    published = publish(make_comment(draft))
    published.report_count = 1
    db.session.commit()

    page, cursor, total = services.queue(
        db.session, moderator, draft.region_id, QueueFilters(per_page=4)
    )
    assert total == 6 and [c.id for c in page] == [c.id for c in pending[:4]]
    page2, cursor2, _ = services.queue(
        db.session, moderator, draft.region_id, QueueFilters(per_page=4, after=cursor)
    )
    assert [c.id for c in page2] == [pending[4].id, support.id] and cursor2 is None
    # The count stops just past the cap: 6 matching comments with a cap of 3 count as 4.
    capped_page, _, capped = services.queue(
        db.session, moderator, draft.region_id, QueueFilters(per_page=4), count_cap=3
    )
    assert capped == 4 and capped_page == page
    assert (
        services.queue(db.session, moderator, draft.region_id, QueueFilters(), count_cap=6)[2] == 6
    )

    only_support, _, _ = services.queue(
        db.session, moderator, draft.region_id, QueueFilters(stance="support")
    )
    assert only_support == [support]
    article2, _, _ = services.queue(
        db.session, moderator, draft.region_id,
        QueueFilters(article_id=draft.articles[1].id),
    )  # fmt: skip
    assert article2 == [support]
    reported, _, _ = services.queue(
        db.session, moderator, draft.region_id, QueueFilters(status=None, reported=True)
    )
    assert reported == [published]
    newest, _, _ = services.queue(
        db.session, moderator, draft.region_id, QueueFilters(newest_first=True, per_page=1)
    )
    assert newest == [support]


def test_moderator_of_another_region_sees_no_queue_and_cannot_act(db):
    draft = make_draft()
    comment = make_comment(draft)
    astana = make_user(role="moderator", region="KZ-71")
    with pytest.raises(ModerationError):
        services.queue(db.session, astana, draft.region_id, QueueFilters())
    with pytest.raises(ModerationError):
        services.queue(db.session, astana, astana.scope_region_id, QueueFilters(draft_id=draft.id))
    with pytest.raises(ModerationError) as caught:
        services.moderate(db.session, astana, [comment], "publish")
    assert caught.value.code == "forbidden" and comment.status == "pending"


def test_national_queue_belongs_to_admins(db):
    draft = make_draft(region=None)
    comment = make_comment(draft)
    with pytest.raises(ModerationError):
        services.moderate(db.session, make_user(role="moderator"), [comment], "publish")
    services.moderate(db.session, make_user(role="admin"), [comment], "publish")
    assert comment.status == "published"


def test_reject_needs_a_known_reason(db):
    comment = make_comment(make_draft())
    moderator = make_user(role="moderator")
    for reason in (None, "boring"):
        with pytest.raises(ModerationError) as caught:
            services.moderate(db.session, moderator, [comment], "reject", reason)
        assert caught.value.code == "bad_reason"
    services.moderate(db.session, moderator, [comment], "reject", "spam")
    assert (comment.status, comment.reject_reason) == ("rejected", "spam")
    log = db.session.scalar(
        select(ModerationAction).where(ModerationAction.comment_id == comment.id)
    )
    assert (log.action, log.detail, log.moderator_id) == ("reject", "spam", moderator.id)


def test_bulk_is_all_or_nothing(db):
    draft = make_draft()
    moderator = make_user(role="moderator")
    fresh = [make_comment(draft) for _ in range(3)]
    already = publish(make_comment(draft))
    with pytest.raises(ModerationError) as caught:
        services.moderate(db.session, moderator, [*fresh, already], "publish")
    assert caught.value.code == "bad_transition"
    assert [c.status for c in fresh] == ["pending"] * 3
    services.moderate(db.session, moderator, fresh, "publish")
    assert [c.status for c in fresh] == ["published"] * 3


def test_restore_a_hidden_comment_clears_reports(db):
    comment = publish(make_comment(make_draft()), status="hidden")
    comment.report_count = 3
    services.moderate(db.session, make_user(role="moderator"), [comment], "restore")
    assert (comment.status, comment.report_count) == ("published", 0)


def test_cluster_draft_stores_campaigns_and_acts_on_a_whole_campaign(db):
    draft = make_draft()
    moderator = make_user(role="moderator")
    copies = [make_comment(draft, text="Нет сносу парка!") for _ in range(4)]
    other = make_comment(draft, text="Нужно больше скамеек.")
    found = services.cluster_draft(db.session, moderator, draft, cluster_fn=exact_copies)
    assert [c.size for c in found] == [4]
    campaign = found[0]
    members = db.session.scalars(select(Comment.id).where(Comment.campaign_id == campaign.id))
    assert sorted(members) == sorted(c.id for c in copies)
    assert db.session.get(Comment, other.id).campaign_id is None
    # Recomputing replaces the old campaigns instead of piling up.
    services.cluster_draft(db.session, moderator, draft, cluster_fn=exact_copies)
    assert len(db.session.scalars(select(Campaign).where(Campaign.draft_id == draft.id)).all()) == 1

    campaign = db.session.scalar(select(Campaign).where(Campaign.draft_id == draft.id))
    assert services.moderate_campaign(db.session, moderator, campaign, "publish") == 4
    db.session.expire_all()
    assert {db.session.get(Comment, c.id).status for c in copies} == {"published"}
    assert db.session.get(Comment, other.id).status == "pending"


def test_campaign_action_by_another_region_is_refused(db):
    draft = make_draft()
    for _ in range(2):
        make_comment(draft, text="Копия")
    (campaign,) = services.cluster_draft(db.session, None, draft, cluster_fn=exact_copies)
    with pytest.raises(ModerationError):
        services.moderate_campaign(
            db.session, make_user(role="moderator", region="KZ-71"), campaign, "reject", "spam"
        )
    assert {c.status for c in db.session.scalars(select(Comment))} == {"pending"}


def test_cluster_draft_with_the_real_clustering_module(db):
    pytest.importorskip("numpy")
    pytest.importorskip("portal.moderation.clustering")
    draft = make_draft()
    base = "Прошу не вырубать деревья в сквере на улице Абая, это важно для жителей района."
    for variant in (base, base.upper(), base.replace("важно", "очень важно"), base + "!!"):
        make_comment(draft, text=variant)
    make_comment(draft, text="Совсем другое: нужен пешеходный переход у школы номер 12.")
    found = services.cluster_draft(db.session, None, draft)
    assert [c.size for c in found] == [4]


def test_topic_tag_is_plain_and_short(db):
    comment = make_comment(make_draft())
    moderator = make_user(role="moderator")
    services.set_topic(db.session, moderator, comment, "Парки")
    assert comment.topic == "Парки"
    with pytest.raises(ModerationError):
        services.set_topic(db.session, moderator, comment, "x" * 61)


def test_queue_query_uses_the_composite_index(db):
    """At 100,000 comments the queue must not scan: check SQLite's plan (skipped on others)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("query plan text is SQLite's")
    draft = make_draft()
    statement = (
        select(Comment.id)
        .where(Comment.draft_id == draft.id, Comment.status == "pending", Comment.id > 5)
        .order_by(Comment.id)
        .limit(51)
    )
    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    plan = " ".join(str(row) for row in db.session.execute(db.text("EXPLAIN QUERY PLAN " + sql)))
    assert "ix_comment_draft_status_id" in plan and "TEMP B-TREE" not in plan


def test_cluster_cli_stores_campaigns(app, db):
    draft = make_draft()
    for _ in range(3):
        make_comment(draft, text="Сохраните сквер у театра, пожалуйста, это наш дом.")
    make_comment(draft, text="Совсем другая тема про освещение улиц в микрорайоне.")
    result = app.test_cli_runner().invoke(args=["moderation", "cluster", str(draft.id)])
    assert result.exit_code == 0, result.output
    assert "1 campaign(s) covering 3 comment(s)" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(Campaign.size).where(Campaign.draft_id == draft.id)) == 3
    missing = app.test_cli_runner().invoke(args=["moderation", "cluster", "999999"])
    assert missing.exit_code != 0
