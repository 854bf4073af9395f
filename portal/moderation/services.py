"""Moderation services: the region queue, publish/reject/restore (one, bulk, a campaign),
topics, and clustering of near-duplicate comments into campaigns.

Each function takes the session and the acting moderator, checks every target before it
changes anything (so a refused bulk action writes nothing), and only flushes. No Flask imports.
"""

from dataclasses import dataclass

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import joinedload

from portal.accounts.models import utcnow
from portal.accounts.notify import notify, titles
from portal.audit import code_of, record
from portal.consultations import domain
from portal.consultations.models import STANCES, Campaign, Comment, Draft
from portal.consultations.services import (
    ConsultationError,
    can_moderate,
    comment_state,
    plain,
    write_comment_state,
)
from portal.moderation.models import ModerationAction
from portal.textcheck import has_bad_characters

MAX_PAGE = 100
# The queue counts matching comments up to this many, then says "more than": the count
# reads at most COUNT_CAP + 1 entries of an index however large the draft, and a moderator
# needs "more than a thousand" no more exactly than "more than ten thousand".
COUNT_CAP = 1_000
MAX_BULK = 500
QUEUE_STATUSES = ("pending", "published", "hidden", "rejected")
MAX_TOPIC = 60


class ModerationError(ConsultationError):
    """A refused moderation action (codes shared with ConsultationError)."""


@dataclass
class QueueFilters:
    """What the moderator asked for; every value already validated by the form."""

    draft_id: int | None = None
    article_id: int | None = None
    status: str | None = "pending"
    stance: str | None = None
    reported: bool = False
    campaign_id: int | None = None
    newest_first: bool = False
    after: int | None = None  # keyset cursor: the id of the last row on the previous page
    per_page: int = 50


def region_drafts(region_id):
    """Drafts of a region's queue; region_id None is the national queue."""
    if region_id is None:
        return select(Draft.id).where(Draft.region_id.is_(None))
    return select(Draft.id).where(Draft.region_id == region_id)


def queue(session, user, region_id, filters, *, count_cap=None):
    """One page of the region's queue: (comments, next_cursor, total matching).

    The total is counted up to `count_cap` + 1 rows only: a total above `count_cap` means
    "more than count_cap". A full COUNT(*) would read every matching index entry on every
    page (80,000 on a 100,000-comment draft); the capped one stops after COUNT_CAP + 1, and
    pages come by keyset (`after`), so no page costs more than the first one.
    """
    if not can_moderate(user, region_id) and not (region_id is None and user.is_admin):
        raise ModerationError("forbidden")
    conditions = []
    if filters.draft_id is not None:
        draft = session.get(Draft, filters.draft_id)
        if draft is None or draft.region_id != region_id:
            raise ModerationError("forbidden")
        conditions.append(Comment.draft_id == filters.draft_id)
    else:
        conditions.append(Comment.draft_id.in_(region_drafts(region_id)))
    if filters.article_id is not None:
        conditions.append(Comment.article_id == filters.article_id)
    if filters.status:
        conditions.append(Comment.status == filters.status)
    if filters.stance:
        conditions.append(Comment.stance == filters.stance)
    if filters.reported:
        conditions.append(Comment.report_count > 0)
    if filters.campaign_id is not None:
        conditions.append(Comment.campaign_id == filters.campaign_id)
    count_cap = COUNT_CAP if count_cap is None else count_cap
    matching = select(Comment.id).where(*conditions).limit(count_cap + 1).subquery()
    total = session.scalar(select(func.count()).select_from(matching))
    per_page = max(1, min(filters.per_page, MAX_PAGE))
    statement = select(Comment).where(*conditions)
    if filters.after is not None:
        cursor = Comment.id < filters.after if filters.newest_first else Comment.id > filters.after
        statement = statement.where(cursor)
    order = Comment.id.desc() if filters.newest_first else Comment.id.asc()
    # The page's articles and drafts come with it: no query per row.
    statement = statement.options(joinedload(Comment.article), joinedload(Comment.draft))
    rows = session.scalars(statement.order_by(order).limit(per_page + 1)).all()
    next_cursor = rows[per_page - 1].id if len(rows) > per_page else None
    return rows[:per_page], next_cursor, total


def _check(user, comments):
    for comment in comments:
        if not can_moderate(user, comment.draft):
            raise ModerationError("forbidden")


def _transition(comment, action, reason):
    state = comment_state(comment)
    try:
        if action == "publish":
            return domain.publish(state)
        if action == "reject":
            return domain.reject(state, reason or "")
        if action == "restore":
            return domain.restore(state)
    except domain.TransitionError as error:
        code = "bad_reason" if "reason" in str(error) else "bad_transition"
        raise ModerationError(code, comment_id=comment.id, message=str(error)) from None
    raise ModerationError("bad_action")


def moderate(session, user, comments, action, reason=None):
    """Publish, reject (with a reason) or restore every comment, or none of them."""
    comments = list(comments)
    if has_bad_characters(reason, multiline=True):
        raise ModerationError("control_chars")
    if len(comments) > MAX_BULK:
        raise ModerationError("too_many", limit=MAX_BULK)
    if not comments:
        raise ModerationError("nothing_selected")
    _check(user, comments)
    states = [_transition(comment, action, reason) for comment in comments]
    now = utcnow()
    for comment, state in zip(comments, states):
        write_comment_state(comment, state)
        comment.moderated_at, comment.moderated_by_id = now, user.id
        _tell_author(session, comment, state)
        session.add(
            ModerationAction(
                comment_id=comment.id,
                draft_id=comment.draft_id,
                moderator_id=user.id,
                action=action,
                detail=state.reject_reason.value if state.reject_reason else "",
                at=now,
            )
        )
    for draft_id in sorted({c.draft_id for c in comments}):
        ids = [c.id for c in comments if c.draft_id == draft_id]
        record(
            session,
            user,
            f"moderation.{action}",
            target=f"draft:{draft_id}",
            details={"comments": ids, "reason": reason or ""},
            region_code=code_of(next(c for c in comments if c.draft_id == draft_id).draft.region),
        )
    session.flush()
    return comments


def _tell_author(session, comment, state):
    if state.status.value == "published":
        kind, params = "comment_published", {}
    elif state.status.value == "rejected":
        kind, params = "comment_rejected", {"reason": _reason_labels(state.reject_reason)}
    else:
        return
    params["title"] = titles(comment.draft)
    link = f"/consultations/{comment.draft_id}"
    if comment.article_id:
        link += f"/articles/{comment.article_id}"
    notify(session, comment.author, kind, params=params, link=link)


def _reason_labels(reason):
    """The rejection reason in each language, so the mail can be in the author's."""
    from flask_babel import force_locale

    from portal.consultations.forms import reason_choices

    labels = {}
    for lang in ("kk", "ru", "en"):
        with force_locale(lang):
            labels[lang] = str(dict(reason_choices()).get(getattr(reason, "value", reason), ""))
    return labels


def comments_by_ids(session, ids):
    ids = sorted({int(i) for i in ids})[: MAX_BULK + 1]
    found = session.scalars(select(Comment).where(Comment.id.in_(ids))).all()
    if len(found) != len(ids):
        raise ModerationError("not_found")
    return found


def moderate_campaign(session, user, campaign, action, reason=None):
    """Act on every member of a campaign that the action applies to (pending for
    publish/reject, hidden for restore). Members in other states are left as they are."""
    if not can_moderate(user, session.get(Draft, campaign.draft_id)):
        raise ModerationError("forbidden")
    wanted = {"publish": "pending", "reject": "pending", "restore": "hidden"}.get(action)
    if wanted is None:
        raise ModerationError("bad_action")
    members = session.scalars(
        select(Comment).where(Comment.campaign_id == campaign.id, Comment.status == wanted)
    ).all()
    if not members:
        raise ModerationError("nothing_selected")
    # A campaign may be large: check the rule once, then update in one statement.
    _transition(members[0], action, reason)
    now = utcnow()
    values = {
        "status": {"publish": "published", "reject": "rejected", "restore": "published"}[action]
    }
    if action == "reject":
        values["reject_reason"] = domain.RejectReason(reason).value
    if action == "restore":
        values["report_count"] = 0
    session.execute(
        update(Comment)
        .where(Comment.campaign_id == campaign.id, Comment.status == wanted)
        .values(moderated_at=now, moderated_by_id=user.id, **values)
        .execution_options(synchronize_session="fetch")
    )
    session.add(
        ModerationAction(
            draft_id=campaign.draft_id,
            moderator_id=user.id,
            action=action,
            detail=f"campaign {campaign.id}: {len(members)} comments",
            at=now,
        )
    )
    record(
        session,
        user,
        f"moderation.campaign_{action}",
        target=f"campaign:{campaign.id}",
        details={"draft": campaign.draft_id, "comments": len(members), "reason": reason or ""},
        region_code=code_of(session.get(Draft, campaign.draft_id).region),
    )
    session.flush()
    return len(members)


def set_topic(session, user, comment, topic):
    _check(user, [comment])
    topic = (topic or "").strip()
    if len(topic) > MAX_TOPIC or has_bad_characters(topic):
        raise ModerationError("bad_topic")
    comment.topic = topic or None
    session.add(
        ModerationAction(
            comment_id=comment.id,
            draft_id=comment.draft_id,
            moderator_id=user.id,
            action="topic",
            detail=topic,
        )
    )
    session.flush()
    return comment


# Campaigns --------------------------------------------------------------------------------


def cluster_draft(session, user, draft, *, threshold=None, cluster_fn=None):
    """Recompute the draft's campaigns from all its comments; store groups of 2 or more.

    `user` None is the CLI (an operator). `cluster_fn(items, threshold)` defaults to the pure
    `portal.moderation.clustering.cluster`; it returns objects with `ids` and
    `representative_id`. Returns the list of Campaign rows.
    """
    groups, count = find_campaigns(session, user, draft, threshold=threshold, cluster_fn=cluster_fn)
    return store_campaigns(session, user, draft, groups, count)


def find_campaigns(session, user, draft, *, threshold=None, cluster_fn=None):
    """Read the draft's comments and cluster them; writes nothing (a read snapshot will do).

    Returns ([(sorted member ids, representative id)], number of comments read)."""
    if user is not None and not can_moderate(user, draft):
        raise ModerationError("forbidden")
    if cluster_fn is None:
        from portal.moderation.clustering import cluster as cluster_fn
    rows = session.execute(
        select(Comment.id, Comment.text).where(Comment.draft_id == draft.id).order_by(Comment.id)
    ).all()
    items = [(row.id, plain(row.text)) for row in rows]
    kwargs = {"threshold": threshold} if threshold is not None else {}
    groups = [(sorted(found.ids), found.representative_id) for found in cluster_fn(items, **kwargs)]
    return groups, len(rows)


def store_campaigns(session, user, draft, groups, count):
    """Replace the draft's campaigns by `groups` from `find_campaigns` (flush only)."""
    if user is not None and not can_moderate(user, draft):
        raise ModerationError("forbidden")
    session.execute(
        update(Comment)
        .where(Comment.draft_id == draft.id, Comment.campaign_id.is_not(None))
        .values(campaign_id=None)
        .execution_options(synchronize_session=False)
    )
    old = session.scalars(select(Campaign).where(Campaign.draft_id == draft.id)).all()
    for campaign in old:
        session.delete(campaign)
    session.flush()
    # Few statements whatever the number of campaigns: one multi-row INSERT for the campaigns,
    # then one UPDATE … FROM (VALUES …) per 500 members (SQLite ≥ 3.33 and PostgreSQL). A
    # flush and an UPDATE per campaign took 3,271 × 2 round trips on 100,000 comments, and
    # an executemany or a CASE expression built by SQLAlchemy was slower still.
    groups = [(members, rep) for members, rep in groups if len(members) >= 2]
    campaigns = [
        Campaign(draft_id=draft.id, size=len(members), representative_id=rep)
        for members, rep in groups
    ]
    session.add_all(campaigns)
    session.flush()
    assignments = [
        (comment_id, campaign.id)
        for campaign, (members, _rep) in zip(campaigns, groups, strict=True)
        for comment_id in members
    ]
    for start in range(0, len(assignments), 500):
        _assign_campaigns(session, assignments[start : start + 500])
    session.add(
        ModerationAction(
            draft_id=draft.id,
            moderator_id=user.id if user is not None else None,
            action="cluster",
            detail=f"{len(campaigns)} campaigns from {count} comments",
        )
    )
    session.flush()
    session.expire_all()
    return campaigns


def _assign_campaigns(session, pairs):
    """Set campaign_id for (comment_id, campaign_id) pairs in one statement."""
    rows = ", ".join(f"(:i{n}, :c{n})" for n in range(len(pairs)))
    params = {}
    for n, (comment_id, campaign_id) in enumerate(pairs):
        params[f"i{n}"], params[f"c{n}"] = int(comment_id), int(campaign_id)
    # Only generated placeholder names are interpolated; every value is a bound parameter.
    statement = text(
        # VALUES columns are column1, column2 in both SQLite and PostgreSQL.
        "UPDATE comment SET campaign_id = v.column2 "  # noqa: S608
        f"FROM (VALUES {rows}) AS v WHERE comment.id = v.column1"
    )
    session.execute(statement, params)


def campaigns_of(session, draft):
    """The draft's campaigns, biggest first: a select to paginate."""
    return (
        select(Campaign)
        .where(Campaign.draft_id == draft.id)
        .order_by(Campaign.size.desc(), Campaign.id.desc())
    )


def campaign_rows(session, campaigns):
    """(campaign, example comment, {status: n}) for a page of campaigns, in three queries
    whatever the page size."""
    ids = [c.id for c in campaigns]
    examples = {
        c.id: c
        for c in session.scalars(
            select(Comment).where(
                Comment.id.in_([c.representative_id for c in campaigns if c.representative_id])
            )
        )
    }
    states = {i: {} for i in ids}
    for campaign_id, status, n in session.execute(
        select(Comment.campaign_id, Comment.status, func.count())
        .where(Comment.campaign_id.in_(ids))
        .group_by(Comment.campaign_id, Comment.status)
    ):
        states[campaign_id][status] = n
    return [(c, examples.get(c.representative_id), states[c.id]) for c in campaigns]


def campaign_status_counts(session, campaign):
    return campaign_rows(session, [campaign])[0][2]


STANCE_CHOICES = STANCES
