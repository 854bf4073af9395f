"""Consultation services: publish drafts, comment, vote, report, answer, summary table.

Each function takes the session and the acting user, checks the rules (via `domain`), changes
rows and only flushes; the caller commits. A refused action raises ConsultationError with a
stable code (the views translate it) and writes nothing. No Flask imports.
"""

import datetime as dt
import html

import bleach
from sqlalchemy import and_, case, func, select, true, union_all
from sqlalchemy.orm import aliased, joinedload

from portal import spreadsheets
from portal.accounts import services as accounts_services
from portal.accounts.models import User, utcnow
from portal.accounts.notify import notify, titles
from portal.audit import code_of, record
from portal.bilingual import STATE_LANGUAGES, in_state_language
from portal.consultations import calendar, domain
from portal.consultations.models import (
    DRAFT_KINDS,
    STANCES,
    Article,
    Comment,
    CommentCount,
    CommentReport,
    CommentTally,
    CommentWait,
    Draft,
    DraftExtension,
    DraftVote,
    DraftVoteCount,
    Paragraph,
)
from portal.consultations.splitter import SplitError, decode_upload, split_draft, split_pair
from portal.textcheck import bad_field, has_bad_characters

MAX_COMMENT_CHARS = 10_000
MAX_DRAFT_CHARS = 2_000_000


class ConsultationError(Exception):
    """A refused action; `code` is stable so views can translate it."""

    def __init__(self, code, **details):
        super().__init__(code)
        self.code = code
        self.details = details


def _check_characters(*, single=None, multi=None):
    """Refuse control characters in every text a service stores (forms are not the only way in)."""
    field = bad_field(single=single, multi=multi)
    if field is not None:
        raise ConsultationError("control_chars", field=field)


# Time: rows hold naive UTC, the pure rules want aware UTC.


def aware(value):
    return value.replace(tzinfo=dt.UTC) if value is not None else None


def naive(value):
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value is not None else None


def now_utc():
    return utcnow()


# Permissions -----------------------------------------------------------------------------


def can_manage(user, draft_or_region_id):
    """Agency staff of the draft's region (admins everywhere; national drafts: admins)."""
    region_id = getattr(draft_or_region_id, "region_id", draft_or_region_id)
    if user is None or not getattr(user, "is_authenticated", True):
        return False
    if user.is_admin:
        return True
    return user.role == "staff" and region_id is not None and user.scope_region_id == region_id


def can_moderate(user, draft_or_region_id):
    """Moderators of the draft's region; the national queue belongs to admins."""
    region_id = getattr(draft_or_region_id, "region_id", draft_or_region_id)
    if user is None or not getattr(user, "is_authenticated", True):
        return False
    if user.is_admin:
        return True
    return user.role == "moderator" and region_id is not None and user.scope_region_id == region_id


def _require_manage(user, draft):
    if not can_manage(user, draft):
        raise ConsultationError("forbidden")


def is_visible(draft, user):
    """Unpublished drafts are seen only by their staff."""
    return draft.status != "draft" or can_manage(user, draft)


# Drafts -----------------------------------------------------------------------------------


def draft_state(draft):
    extensions = tuple(
        domain.Extension(aware(e.old_end), aware(e.new_end), e.reason, aware(e.at))
        for e in draft.extensions
    )
    return domain.DraftState(
        domain.DraftStatus(draft.status),
        aware(draft.period_start),
        aware(draft.period_end),
        extensions,
    )


def effective_status(draft, now=None):
    return domain.effective_status(draft_state(draft), aware(now or now_utc())).value


def _decoded(data):
    text = decode_upload(data) if isinstance(data, bytes) else data
    if len(text) > MAX_DRAFT_CHARS:
        raise ConsultationError("draft_too_long")
    _check_characters(multi={"text": text.removeprefix("\ufeff")})
    return text


def parse_text(data):
    """Split uploaded bytes or pasted text into articles, or raise ConsultationError."""
    try:
        return split_draft(_decoded(data))
    except SplitError as error:
        raise ConsultationError(error.code, message=str(error), **error.details) from None


def parse_pair(first, second):
    """Split a draft's Kazakh and Russian texts (either order) and check they have the same
    articles; raise ConsultationError naming the article that differs."""
    try:
        return split_pair(_decoded(first), _decoded(second))
    except SplitError as error:
        raise ConsultationError(error.code, message=str(error), **error.details) from None


def create_draft(
    session,
    user,
    *,
    titles,
    agency,
    kind,
    region,
    text,
    summaries=None,
    explanatory_note="",
    second_text=None,
):
    """Create an unpublished draft with its articles split from `text` (str or bytes).

    `second_text`, when given, is the same draft in the other state language: both texts are
    split and must have the same articles; the second is kept in the _kk/_ru columns.
    """
    if not can_manage(user, region.id if region else None):
        raise ConsultationError("forbidden")
    if kind not in DRAFT_KINDS:
        raise ConsultationError("bad_kind")
    _check_characters(
        single={"agency": agency, **{f"title_{k}": v for k, v in titles.items()}},
        multi={
            "explanatory_note": explanatory_note,
            **{f"summary_{k}": v for k, v in (summaries or {}).items()},
        },
    )
    titles = {lang: (titles.get(lang) or "").strip() for lang in ("kk", "ru", "en")}
    if not any(titles.values()):
        raise ConsultationError("no_title")
    if second_text and (isinstance(second_text, bytes) or second_text.strip()):
        result, second = parse_pair(text, second_text)
    else:
        result, second = parse_text(text), None
    summaries = summaries or {}
    draft = Draft(
        agency=agency.strip(),
        kind=kind,
        region_id=region.id if region else None,
        explanatory_note=explanatory_note.strip(),
        preamble=result.preamble,
        status="draft",
        created_by_id=user.id,
        **{f"title_{lang}": value for lang, value in titles.items()},
        **{f"summary_{lang}": (summaries.get(lang) or "").strip() for lang in ("kk", "ru", "en")},
        text_language=result.language or None,
    )
    for position, article in enumerate(result.articles, start=1):
        row = Article(
            position=position,
            number=article.number,
            title=article.title,
            chapter=article.chapter,
            text=article.text,
        )
        for p_position, paragraph in enumerate(article.paragraphs, start=1):
            row.paragraphs.append(
                Paragraph(position=p_position, number=paragraph.number, text=paragraph.text)
            )
        draft.articles.append(row)
    if second is not None:
        _add_second_text(draft, second)
    session.add(draft)
    session.flush()
    return draft


def _add_second_text(draft, second):
    """Keep the second text (split_pair checked its articles and paragraphs match)."""
    lang = second.language
    draft.second_language = lang
    setattr(draft, f"preamble_{lang}", second.preamble)
    for row, article in zip(draft.articles, second.articles):
        for name in ("title", "chapter", "text"):
            setattr(row, f"{name}_{lang}", getattr(article, name))
        for paragraph_row, paragraph in zip(row.paragraphs, article.paragraphs):
            setattr(paragraph_row, f"text_{lang}", paragraph.text)


def correct_article(
    session, user, article, *, number, title, text, second_title=None, second_text=None
):
    """Staff correct an article of a draft that is not yet published (and its second text,
    for a draft in both state languages)."""
    _require_manage(user, article.draft)
    if article.draft.status != "draft":
        raise ConsultationError("already_published")
    _check_characters(
        single={"number": number, "title": title, "second_title": second_title or ""},
        multi={"text": text, "second_text": second_text or ""},
    )
    if not number.strip():
        raise ConsultationError("no_number")
    article.number, article.title, article.text = number.strip(), title.strip(), text.strip()
    lang = article.draft.second_language
    if lang:
        if second_title is not None:
            setattr(article, f"title_{lang}", second_title.strip())
        if second_text is not None:
            setattr(article, f"text_{lang}", second_text.strip())
    session.flush()
    return article


def open_draft(session, user, draft, *, working_days=None, now=None):
    """Publish the draft for discussion from `now` for `working_days` (default 10)."""
    _require_manage(user, draft)
    start = aware(now or now_utc())
    days = working_days or calendar.DEFAULT_DISCUSSION_WORKING_DAYS
    if not 1 <= days <= 60:
        raise ConsultationError("bad_days")
    try:
        state = domain.open_draft(draft_state(draft), start, calendar.discussion_end(start, days))
    except domain.TransitionError as error:
        raise ConsultationError("bad_transition", message=str(error)) from None
    _write_state(draft, state)
    _audit_draft(session, user, draft, "consultations.open", days=days)
    session.flush()
    return draft


def _audit_draft(session, user, draft, action, **details):
    record(
        session,
        user,
        action,
        target=f"draft:{draft.id}",
        details=details,
        region_code=code_of(draft.region),
    )


def extend_draft(session, user, draft, *, working_days, reason, now=None):
    _require_manage(user, draft)
    now = aware(now or now_utc())
    if not 1 <= (working_days or 0) <= 60:
        raise ConsultationError("bad_days")
    if draft.period_end is None:
        raise ConsultationError("bad_transition")
    _check_characters(multi={"reason": reason})
    new_end = calendar.extend_discussion(aware(draft.period_end), working_days)
    try:
        state = domain.extend_period(draft_state(draft), new_end, reason, now)
    except domain.TransitionError as error:
        code = "short_reason" if error.code == "short_reason" else "bad_transition"
        raise ConsultationError(code, message=str(error)) from None
    record = state.extensions[-1]
    session.add(
        DraftExtension(
            draft=draft,
            old_end=naive(record.old_end),
            new_end=naive(record.new_end),
            reason=record.reason,
            at=naive(record.at),
            by_id=user.id,
        )
    )
    _write_state(draft, state)
    _audit_draft(session, user, draft, "consultations.extend", days=working_days, reason=reason)
    session.flush()
    return draft


def close_draft(session, user, draft, *, now=None):
    """Close the discussion early (or formally after its end)."""
    _require_manage(user, draft)
    now = aware(now or now_utc())
    try:
        state = domain.close_draft(draft_state(draft))
    except domain.TransitionError as error:
        raise ConsultationError("bad_transition", message=str(error)) from None
    closed_at = min(now, aware(draft.period_end))
    draft.status = state.status.value
    draft.closed_at = naive(closed_at)
    draft.answer_due = naive(calendar.answer_deadline(closed_at))
    _audit_draft(session, user, draft, "consultations.close")
    session.flush()
    return draft


def publish_report(session, user, draft, *, now=None):
    _require_manage(user, draft)
    if effective_status(draft, now) == "closed" and draft.status == "open":
        close_draft(session, user, draft, now=now)
    try:
        state = domain.publish_report(draft_state(draft))
    except domain.TransitionError as error:
        raise ConsultationError("bad_transition", message=str(error)) from None
    draft.status = state.status.value
    _audit_draft(session, user, draft, "consultations.publish_report")
    session.flush()
    return draft


def _write_state(draft, state):
    draft.status = state.status.value
    draft.period_start = naive(state.period_start)
    draft.period_end = naive(state.period_end)
    if state.period_end is not None:
        draft.answer_due = naive(calendar.answer_deadline(state.period_end))


# Comments ---------------------------------------------------------------------------------


def sanitise(text):
    """Plain text in, safe HTML out: every tag stripped, bare http(s) links made links."""
    cleaned = bleach.clean(text, tags=set(), attributes={}, strip=True, strip_comments=True)
    return bleach.linkify(cleaned, parse_email=False)


def plain(text):
    """The stored (sanitised HTML) text as plain text, e.g. for CSV and clustering.

    Without a "<" there is no tag to strip, and unescaping (with the HTML parser's newline
    normalising) gives the same text: that skips bleach's parser (about 0.5 ms a comment,
    50 s for a 100,000-comment draft). tests/consultations: test_plain_fast_path_matches_bleach.
    """
    if "<" not in text and "\x00" not in text:
        return html.unescape(text.replace("\r\n", "\n").replace("\r", "\n"))
    return html.unescape(bleach.clean(text, tags=set(), strip=True))


def check_text(text, *, required=True):
    text = (text or "").strip()
    if required and not text:
        raise ConsultationError("empty_text")
    if len(text) > MAX_COMMENT_CHARS:
        raise ConsultationError("text_too_long", limit=MAX_COMMENT_CHARS)
    if "\ufffd" in text:
        # Werkzeug decodes form data with errors="replace": a U+FFFD means bytes were not UTF-8.
        raise ConsultationError("not_utf8")
    if has_bad_characters(text, multiline=True):
        raise ConsultationError("control_chars")
    return text


def may_take_part(user, draft):
    """Only verified residents comment and vote: of the draft's region, or any region for a
    national draft. Throwaway accounts must not stuff a draft's support or flood moderation."""
    if user is None or not getattr(user, "is_authenticated", True):
        return False
    verified = getattr(user, "verified_region_id", None)
    if verified is None:
        return False
    return draft.region_id is None or verified == draft.region_id


def _require_take_part(user, draft):
    if not may_take_part(user, draft):
        raise ConsultationError("not_verified", national=draft.region_id is None)


def add_comment(
    session,
    user,
    draft,
    *,
    stance,
    text,
    article_id=None,
    paragraph_id=None,
    proposed_wording="",
    text_language=None,
    now=None,
):
    """A resident comments on the draft, one of its articles or one paragraph: pending.

    `text_language` is the language of the draft's text the resident read; the comment belongs
    to the same article whichever it was, and keeps the language to show its wording change.
    """
    now = aware(now or now_utc())
    _require_take_part(user, draft)
    if stance not in STANCES:
        raise ConsultationError("bad_stance")
    text = check_text(text)
    proposed_wording = check_text(proposed_wording, required=False)
    try:
        domain.check_can_comment(draft_state(draft), now)
    except domain.TransitionError as error:
        not_yet = draft.status == "draft" or now < aware(draft.period_start)
        code = "not_open_yet" if not_yet else "closed"
        raise ConsultationError(code, last_day=_last_day(draft), message=str(error)) from None
    article = paragraph = None
    if article_id is not None:
        article = session.get(Article, article_id)
        if article is None or article.draft_id != draft.id:
            raise ConsultationError("article_not_in_draft")
    if paragraph_id is not None:
        paragraph = session.get(Paragraph, paragraph_id)
        if paragraph is None or article is None or paragraph.article_id != article.id:
            raise ConsultationError("paragraph_not_in_article")
    if proposed_wording and article is None:
        raise ConsultationError("wording_needs_article")
    comment = Comment(
        draft_id=draft.id,
        article_id=article.id if article else None,
        paragraph_id=paragraph.id if paragraph else None,
        author_id=user.id,
        stance=stance,
        text=sanitise(text),
        proposed_wording=plain(sanitise(proposed_wording)) if proposed_wording else "",
        text_language=text_language if text_language in draft.languages else None,
        status="pending",
        created_at=naive(now),
    )
    session.add(comment)
    session.flush()
    return comment


def _last_day(draft):
    return calendar.last_open_day(aware(draft.period_end)) if draft.period_end else None


def comment_state(comment):
    answer = None
    if comment.decision:
        answer = domain.Answer(
            domain.Decision(comment.decision), comment.justification, comment.new_wording
        )
    return domain.CommentState(
        domain.CommentStatus(comment.status),
        domain.RejectReason(comment.reject_reason) if comment.reject_reason else None,
        comment.report_count,
        answer,
    )


def write_comment_state(comment, state):
    comment.status = state.status.value
    comment.reject_reason = state.reject_reason.value if state.reject_reason else None
    comment.report_count = state.report_count
    if state.answer is not None:
        comment.decision = state.answer.decision.value
        comment.justification = state.answer.justification
        comment.new_wording = state.answer.new_wording


def report_comment(session, user, comment):
    """A resident reports a published comment once; the third report hides it."""
    if comment.author_id == user.id:
        raise ConsultationError("own_comment")
    exists = session.scalar(
        select(CommentReport.id).where(
            CommentReport.comment_id == comment.id, CommentReport.user_id == user.id
        )
    )
    if exists:
        raise ConsultationError("already_reported")
    try:
        state = domain.report(comment_state(comment))
    except domain.TransitionError as error:
        raise ConsultationError("bad_transition", message=str(error)) from None
    session.add(CommentReport(comment_id=comment.id, user_id=user.id))
    write_comment_state(comment, state)
    session.flush()
    return comment


def vote(session, user, draft, *, supports, now=None):
    """Mark the whole draft supported or not, once, while it is open."""
    _require_take_part(user, draft)
    try:
        domain.check_can_comment(draft_state(draft), aware(now or now_utc()))
    except domain.TransitionError as error:
        raise ConsultationError("closed", message=str(error)) from None
    existing = session.scalar(
        select(DraftVote).where(DraftVote.draft_id == draft.id, DraftVote.user_id == user.id)
    )
    if existing is not None:
        raise ConsultationError("already_voted")
    row = DraftVote(draft_id=draft.id, user_id=user.id, supports=bool(supports))
    session.add(row)
    session.flush()
    return row


# Answers ----------------------------------------------------------------------------------


def answer_comment(session, user, comment, *, decision, justification="", new_wording="", now=None):
    """Agency staff answer a published comment (and the rest of its campaign, if any)."""
    _require_manage(user, comment.draft)
    _check_characters(multi={"justification": justification, "new_wording": new_wording})
    targets = [comment]
    if comment.campaign_id is not None:
        targets = session.scalars(
            select(Comment).where(
                Comment.campaign_id == comment.campaign_id,
                Comment.status == "published",
                Comment.decision.is_(None),
            )
        ).all() or [comment]
        if comment not in targets:
            targets.append(comment)
    states = []
    for target in targets:
        try:
            states.append(
                domain.answer(comment_state(target), decision, justification, new_wording)
            )
        except domain.TransitionError as error:
            known = ("justification_required", "wording_rule", "already_answered")
            code = error.code if error.code in known else "not_published"
            raise ConsultationError(code, message=str(error)) from None
    at = naive(aware(now or now_utc()))
    for target, state in zip(targets, states):
        write_comment_state(target, state)
        target.answered_at, target.answered_by_id = at, user.id
        notify(
            session,
            target.author,
            "comment_answered",
            params={"title": titles(target.draft)},
            link=f"/consultations/{target.draft_id}/summary",
        )
    record(
        session,
        user,
        "consultations.answer",
        target=f"comment:{comment.id}",
        details={
            "decision": getattr(decision, "value", decision),
            "comments": [t.id for t in targets],
        },
        region_code=code_of(comment.draft.region),
    )
    session.flush()
    return targets


# Reading ----------------------------------------------------------------------------------


def article_counts(session, draft, article_ids=None):
    """{article_id or None: {"support": n, "object": n, "reword": n, "total": n}} (published).

    `article_ids` (e.g. [one id] or [None]) limits the answer to those articles. Read from
    the counters that triggers keep (CommentCount): a few rows per article, however many
    comments the draft has; `recount_articles` is the same figure counted from the comments.
    """
    statement = select(CommentCount.article_key, CommentCount.stance, CommentCount.published).where(
        CommentCount.draft_id == draft.id, CommentCount.published > 0
    )
    if article_ids is not None:
        statement = statement.where(CommentCount.article_key.in_([i or 0 for i in article_ids]))
    return _by_article((key or None, stance, n) for key, stance, n in session.execute(statement))


def recount_articles(session, draft):
    """`article_counts` counted from the published comments themselves (checks, repairs)."""
    rows = session.execute(
        select(Comment.article_id, Comment.stance, func.count())
        .where(Comment.draft_id == draft.id, Comment.status == "published")
        .group_by(Comment.article_id, Comment.stance)
    )
    return _by_article(rows)


def _by_article(rows):
    counts = {}
    for article_id, stance, n in rows:
        entry = counts.setdefault(article_id, {s: 0 for s in STANCES} | {"total": 0})
        entry[stance] += n
        entry["total"] += n
    return counts


def comment_tally(session, draft_ids):
    """[(draft_id, article_id or None, stance, status, decision or None, n)]: every comment of
    the drafts, from the counters that triggers keep (CommentTally), a few rows per article
    whatever the number of comments; `recount_tally` counts the same from the comments."""
    rows = session.execute(
        select(
            CommentTally.draft_id,
            CommentTally.article_key,
            CommentTally.stance,
            CommentTally.status,
            CommentTally.decision,
            CommentTally.comments,
        ).where(CommentTally.draft_id.in_(draft_ids), CommentTally.comments > 0)
    )
    return sorted(
        (
            (draft_id, key or None, stance, status, decision or None, n)
            for draft_id, key, stance, status, decision, n in rows
        ),
        key=_tally_order,
    )


def unanswered_count(session, draft):
    """Published comments of the draft without an answer, from the CommentTally counters."""
    return session.scalar(
        select(func.coalesce(func.sum(CommentTally.comments), 0)).where(
            CommentTally.draft_id == draft.id,
            CommentTally.status == "published",
            CommentTally.decision == "",
        )
    )


def recount_tally(session, draft_ids):
    """`comment_tally` counted from the comments themselves (checks, repairs)."""
    key = (Comment.draft_id, Comment.article_id, Comment.stance, Comment.status, Comment.decision)
    rows = session.execute(
        select(*key, func.count()).where(Comment.draft_id.in_(draft_ids)).group_by(*key)
    )
    return sorted((tuple(row) for row in rows), key=_tally_order)


def _tally_order(row):
    draft_id, article_id, stance, status, decision, _n = row
    return draft_id, article_id or 0, stance, status, decision or ""


def wait_tenths(created_at, answered_at):
    """An answer's wait in whole tenths of a day (of whole seconds), as the triggers count it."""
    seconds = answered_at.replace(microsecond=0) - created_at.replace(microsecond=0)
    return max(0, int(seconds.total_seconds()) // 8640)


def answer_waits(session, draft):
    """[(wait in tenths of a day, answered comments)] of the draft, shortest first (from the
    counters, CommentWait); `recount_waits` counts the same from the comments."""
    rows = session.execute(
        select(CommentWait.tenths, CommentWait.comments)
        .where(CommentWait.draft_id == draft.id, CommentWait.comments > 0)
        .order_by(CommentWait.tenths)
    )
    return [tuple(row) for row in rows]


def recount_waits(session, draft):
    counts = {}
    for created_at, answered_at in session.execute(
        select(Comment.created_at, Comment.answered_at).where(
            Comment.draft_id == draft.id, Comment.answered_at.is_not(None)
        )
    ):
        tenths = wait_tenths(created_at, answered_at)
        counts[tenths] = counts.get(tenths, 0) + 1
    return sorted(counts.items())


def vote_counts(session, draft):
    """{"support": n, "oppose": n}: one row of the counters triggers keep (DraftVoteCount),
    however many residents marked the draft; `recount_votes` counts the marks themselves."""
    row = session.get(DraftVoteCount, draft.id, populate_existing=True)
    return {"support": row.support, "oppose": row.oppose} if row else {"support": 0, "oppose": 0}


def recount_votes(session, draft):
    row = session.execute(
        select(
            func.count(case((DraftVote.supports.is_(True), 1))),
            func.count(case((DraftVote.supports.is_(False), 1))),
        ).where(DraftVote.draft_id == draft.id)
    ).one()
    return {"support": row[0], "oppose": row[1]}


def public_positions(session, draft, article_id, *, limit=50):
    """Published comments on an article, a campaign shown once with its count.

    Returns [(comment, campaign_count)], oldest first: the individual comments and, for each
    campaign, its first published comment on this article. Both queries read only this
    draft's and this article's rows (index ix_comment_positions), so other drafts never
    slow them down, and each stops after `limit` positions.
    """
    on_article = (
        Comment.article_id.is_(None) if article_id is None else Comment.article_id == article_id
    )
    here = (Comment.draft_id == draft.id, Comment.status == "published", on_article)
    # The same order as by id alone, spelled out as the index's columns: PostgreSQL does
    # not treat `IS NULL` as fixing a column, so ordered by id alone it walked the primary
    # key past every other comment (9 ms at 100,000) instead of this draft's index range.
    order = (Comment.id,) if article_id else (Comment.article_id, Comment.campaign_id, Comment.id)
    singles = session.scalars(
        select(Comment).where(*here, Comment.campaign_id.is_(None)).order_by(*order).limit(limit)
    ).all()
    first = func.min(Comment.id)
    campaigns = session.execute(
        select(first, func.count())
        .where(*here, Comment.campaign_id.is_not(None))
        .group_by(Comment.campaign_id)
        .order_by(first)
        .limit(limit)
    ).all()
    shown = sorted([(c.id, 1) for c in singles] + [tuple(row) for row in campaigns])[:limit]
    comments = {c.id: c for c in singles}
    wanted = [comment_id for comment_id, _size in shown if comment_id not in comments]
    # Run even when empty: the page's statements stay the same whatever the article holds.
    comments.update(
        (c.id, c) for c in session.scalars(select(Comment).where(Comment.id.in_(wanted)))
    )
    return [(comments[comment_id], size) for comment_id, size in shown]


def published_on(draft, article_id):
    """The draft's published comments on one article (None: on the whole draft)."""
    here = Comment.article_id.is_(None) if article_id is None else Comment.article_id == article_id
    return select(Comment).where(Comment.draft_id == draft.id, Comment.status == "published", here)


def summary_segments(session, draft):
    """(article id, position, number) in summary order: comments on no article first."""
    articles = session.execute(
        select(Article.id, Article.position, Article.number)
        .where(Article.draft_id == draft.id)
        .order_by(Article.position)
    ).all()
    return [(None, None, None)] + [tuple(a) for a in articles]


def summary_slice(session, draft, counts, offset, limit):
    """Rows offset+1 … offset+limit of the summary table: [(comment, article or None)].

    `counts` is `article_counts(session, draft)`. A sort of every published comment by
    article position (61 ms on PostgreSQL, 30 ms on SQLite at 100,000) is avoided: the
    counters say which articles the page falls in, and one UNION ALL reads each of those
    articles' slice by the index on (draft, status, article, id): two statements whatever
    the draft's size or the page.
    """
    parts = []
    for article_id, _position, _number in summary_segments(session, draft):
        size = counts.get(article_id, {}).get("total", 0)
        if offset >= size:
            offset -= size
            continue
        take = min(size - offset, limit)
        # By article, then id: the same order within one article, but PostgreSQL only sees
        # that ix_comment_summary yields it under `article_id IS NULL` when it is spelled out.
        inner = (
            published_on(draft, article_id)
            .order_by(Comment.article_id, Comment.id)
            .limit(take)
            .offset(offset)
        )
        parts.append((article_id, select(inner.subquery())))
        offset, limit = 0, limit - take
        if not limit:
            break
    if not parts:
        return []
    statement = parts[0][1] if len(parts) == 1 else union_all(*(p[1] for p in parts))
    shown = aliased(Comment, statement.subquery())
    rows = session.execute(
        select(shown, Article).outerjoin(Article, Article.id == shown.article_id)
    ).all()
    place = {article_id: n for n, (article_id, _statement) in enumerate(parts)}
    rows.sort(key=lambda row: (place[row[0].article_id], row[0].id))
    return [tuple(row) for row in rows]


def summary_rows(session, draft):
    """The summary table: published (and answered) comments with decisions, article order."""
    statement = (
        select(Comment, Article)
        .outerjoin(Article, Article.id == Comment.article_id)
        .where(Comment.draft_id == draft.id, Comment.status == "published")
        .order_by(Article.position.is_(None).desc(), Article.position, Comment.id)
    )
    return session.execute(statement).all()


SUMMARY_WIDTHS = (10, 60, 20, 20, 50, 40, 14, 40, 40)


def summary_table(session, draft, *, labels):
    """(header, rows) of the summary table for a download; rows is a generator.

    `labels` translates the header, stances and decisions: {"header": [...], "stances": {},
    "decisions": {}, "pending": str, "whole": str}. Dates are `datetime.date` values. The
    article's title in Kazakh and in Russian come last (empty where there is none), after
    the columns the table had before both texts existed.
    """
    original = draft.text_language
    statement = (
        select(Comment, Article)
        .outerjoin(Article, Article.id == Comment.article_id)
        .where(Comment.draft_id == draft.id, Comment.status == "published")
        .order_by(Article.position.is_(None).desc(), Article.position, Comment.id)
        .execution_options(yield_per=1000)
    )

    def rows():
        for comment, article in session.execute(statement):
            yield [
                article.number if article else labels["whole"],
                plain(comment.text),
                labels["stances"][comment.stance],
                labels["decisions"].get(comment.decision, labels["pending"]),
                comment.justification,
                comment.new_wording,
                comment.answered_at.date() if comment.answered_at else None,
                *(
                    in_state_language(article, "title", lang, original) if article else None
                    for lang in STATE_LANGUAGES
                ),
            ]

    return list(labels["header"]), rows()


def summary_csv(session, draft, *, labels):
    """CSV text of the summary table (UTF-8 BOM, formulas neutralised)."""
    return spreadsheets.csv_text(*summary_table(session, draft, labels=labels))


def summary_xlsx(session, draft, *, labels, sheet_title):
    """The summary table as .xlsx bytes: bold frozen header, dates as dates."""
    header, rows = summary_table(session, draft, labels=labels)
    return spreadsheets.xlsx_bytes(header, rows, sheet_title=sheet_title, widths=SUMMARY_WIDTHS)


def overdue_comments(session, *, region_id=None, national=False, now=None, limit=200):
    """Published comments without an answer whose draft's answer deadline has passed."""
    now = naive(aware(now or now_utc()))
    statement = (
        select(Comment)
        .join(Draft, Draft.id == Comment.draft_id)
        .where(
            Comment.status == "published",
            Comment.decision.is_(None),
            Draft.answer_due.is_not(None),
            Draft.answer_due <= now,
        )
        .order_by(Draft.answer_due, Comment.id)
        .limit(limit)
    )
    if national:
        statement = statement.where(Draft.region_id.is_(None))
    elif region_id is not None:
        statement = statement.where(Draft.region_id == region_id)
    return session.scalars(statement).all()


def is_overdue(comment, now=None):
    due = comment.draft.answer_due
    return (
        comment.status == "published"
        and comment.decision is None
        and due is not None
        and (now or now_utc()) >= due
    )


def drafts_for_list(session, user):
    visible = Draft.status != "draft"
    if user is not None and getattr(user, "is_authenticated", False):
        if user.is_admin:
            visible = true()
        elif user.role == "staff":
            visible = visible | and_(Draft.region_id == user.scope_region_id)
    return select(Draft).where(visible).order_by(Draft.created_at.desc(), Draft.id.desc())


def comments_of_query(user):
    """A user's comments, newest first, with their drafts and articles (for paging)."""
    return (
        select(Comment)
        .options(joinedload(Comment.draft), joinedload(Comment.article))
        .where(Comment.author_id == user.id)
        .order_by(Comment.id.desc())
    )


def comments_of(session, user, *, limit=100):
    return session.scalars(
        select(Comment).where(Comment.author_id == user.id).order_by(Comment.id.desc()).limit(limit)
    ).all()


def personal_comments(session, user):
    """The person's comments for their personal-data download (accounts calls this)."""
    rows = session.scalars(
        select(Comment).where(Comment.author_id == user.id).order_by(Comment.id).limit(10_000)
    )
    return [
        {
            "id": c.id,
            "draft_id": c.draft_id,
            "article_id": c.article_id,
            "stance": c.stance,
            "text": c.text,
            "proposed_wording": c.proposed_wording,
            "status": c.status,
            "created_at": c.created_at.isoformat() + "Z",
        }
        for c in rows
    ]


accounts_services.PERSONAL_DATA["comments"] = personal_comments


def remind_staff(session, *, now=None, days=3):
    """Notify the staff of each draft with unanswered published comments that are due within
    `days` working days or overdue (run daily). Returns how many notices were made."""
    now = aware(now or now_utc())
    soon = calendar.end_of_local_day(calendar.add_working_days(calendar.local_date(now), days))
    rows = session.execute(
        select(Draft, func.count(Comment.id))
        .join(Comment, Comment.draft_id == Draft.id)
        .where(
            Comment.status == "published",
            Comment.decision.is_(None),
            Draft.answer_due.is_not(None),
            Draft.answer_due <= naive(soon),
        )
        .group_by(Draft.id)
        .order_by(Draft.id)
    ).all()
    made = 0
    for draft, count in rows:
        overdue = aware(draft.answer_due) <= now
        due_date = calendar.local_date(aware(draft.answer_due)).isoformat()
        staff = session.scalars(
            select(User).where(
                User.deleted_at.is_(None),
                (User.role == "admin")
                if draft.region_id is None
                else ((User.role == "staff") & (User.scope_region_id == draft.region_id)),
            )
        ).all()
        for person in staff:
            made += (
                notify(
                    session,
                    person,
                    "answers_overdue" if overdue else "answers_due",
                    params={"title": titles(draft), "count": count, "date": due_date},
                    link=f"/consultations/{draft.id}/answers",
                )
                is not None
            )
    session.flush()
    return made
