"""Rules of a consultation: the comment and draft state machines and the wording diff.

Everything here is a pure function over small frozen dataclasses: it returns a new value or
raises `TransitionError` with a message fit to show a user. The web layer loads a row, calls a
function, and writes the result back only if no error was raised ("nothing is written").

Comment moderation:

    pending ──publish──▶ published ──3rd report──▶ hidden ──restore──▶ published
       │                    │                        │
       └──reject(reason)──▶ rejected ◀──reject(reason)┘

Answers are a separate part of a published comment: accepted (new wording required),
partly_accepted or not_accepted (justification required). Pending, rejected and hidden comments
cannot be answered; an answer is given once (revisions are an open point for the product).

Draft: draft ──open──▶ open ──close──▶ closed ──publish_report──▶ report_published. An open draft
whose end has passed is effectively closed (`effective_status`). Extending the period needs a
written reason, kept in the draft's public list of extensions.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from portal.consultations import calendar

__all__ = [
    "MIN_REASON_LENGTH",
    "REPORTS_TO_HIDE",
    "Answer",
    "CommentState",
    "CommentStatus",
    "Decision",
    "DiffSegment",
    "DraftState",
    "DraftStatus",
    "Extension",
    "RejectReason",
    "TransitionError",
    "answer",
    "check_can_comment",
    "close_draft",
    "effective_status",
    "extend_period",
    "open_draft",
    "publish",
    "publish_report",
    "reject",
    "report",
    "restore",
    "word_diff",
]

REPORTS_TO_HIDE = 3
MIN_REASON_LENGTH = 10  # an extension reason must say something, not "ok"


class TransitionError(ValueError):
    """A rule forbids the requested change; the message explains it to the user.

    `code` is stable so callers can choose a translated message without reading the text.
    """

    def __init__(self, message: str, code: str = "bad_transition"):
        super().__init__(message)
        self.code = code


class CommentStatus(StrEnum):
    PENDING = "pending"
    PUBLISHED = "published"
    HIDDEN = "hidden"
    REJECTED = "rejected"


class RejectReason(StrEnum):
    SPAM = "spam"
    ABUSE = "abuse"
    OFF_TOPIC = "off_topic"
    PERSONAL_DATA = "personal_data"
    DUPLICATE = "duplicate"


class Decision(StrEnum):
    ACCEPTED = "accepted"
    PARTLY_ACCEPTED = "partly_accepted"
    NOT_ACCEPTED = "not_accepted"


@dataclass(frozen=True)
class Answer:
    """The agency's decision on a comment."""

    decision: Decision
    justification: str = ""
    new_wording: str = ""


@dataclass(frozen=True)
class CommentState:
    """The parts of a comment the rules need; the ORM row maps to and from it."""

    status: CommentStatus = CommentStatus.PENDING
    reject_reason: RejectReason | None = None
    report_count: int = 0
    answer: Answer | None = None


def publish(comment: CommentState) -> CommentState:
    """Moderator approves a pending comment."""
    _require_status(comment, "publish", CommentStatus.PENDING)
    return replace(comment, status=CommentStatus.PUBLISHED)


def reject(comment: CommentState, reason: RejectReason | str) -> CommentState:
    """Moderator rejects a pending comment, or a hidden one after review, with a reason."""
    _require_status(comment, "reject", CommentStatus.PENDING, CommentStatus.HIDDEN)
    return replace(comment, status=CommentStatus.REJECTED, reject_reason=_reason(reason))


def report(comment: CommentState) -> CommentState:
    """A resident reports a published comment; the third report hides it for review.

    One report per resident is the caller's rule (a unique key on comment and reporter).
    """
    _require_status(comment, "report", CommentStatus.PUBLISHED)
    count = comment.report_count + 1
    status = CommentStatus.HIDDEN if count >= REPORTS_TO_HIDE else CommentStatus.PUBLISHED
    return replace(comment, report_count=count, status=status)


def restore(comment: CommentState) -> CommentState:
    """Moderator finds a hidden comment fine: published again, reports cleared."""
    _require_status(comment, "restore", CommentStatus.HIDDEN)
    return replace(comment, status=CommentStatus.PUBLISHED, report_count=0)


def answer(
    comment: CommentState,
    decision: Decision | str,
    justification: str = "",
    new_wording: str = "",
) -> CommentState:
    """Agency staff answer a published comment."""
    if comment.status is not CommentStatus.PUBLISHED:
        raise TransitionError(
            f"Only published comments can be answered; this comment is {comment.status.value}.",
            "not_published",
        )
    if comment.answer is not None:
        raise TransitionError("This comment has already been answered.", "already_answered")
    return replace(comment, answer=_make_answer(decision, justification, new_wording))


def _make_answer(decision: Decision | str, justification: str, new_wording: str) -> Answer:
    try:
        decision = Decision(decision)
    except ValueError:
        choices = ", ".join(d.value for d in Decision)
        raise TransitionError(
            f"Unknown decision {decision!r}; choose one of: {choices}.", "bad_decision"
        ) from None
    justification, new_wording = justification.strip(), new_wording.strip()
    if decision is not Decision.ACCEPTED and not justification:
        raise TransitionError(
            "A justification is required unless the comment is accepted.", "justification_required"
        )
    if decision is Decision.ACCEPTED and not new_wording:
        raise TransitionError(
            "An accepted comment needs the new wording of the text.", "wording_rule"
        )
    if decision is Decision.NOT_ACCEPTED and new_wording:
        raise TransitionError(
            "A comment that is not accepted cannot bring new wording.", "wording_rule"
        )
    return Answer(decision, justification, new_wording)


def _reason(reason: RejectReason | str) -> RejectReason:
    try:
        return RejectReason(reason)
    except ValueError:
        choices = ", ".join(r.value for r in RejectReason)
        message = f"Unknown rejection reason {reason!r}; choose one of: {choices}."
        raise TransitionError(message, "bad_reason") from None


def _require_status(comment: CommentState, action: str, *allowed: CommentStatus) -> None:
    if comment.status not in allowed:
        wanted = " or ".join(s.value for s in allowed)
        raise TransitionError(
            f"Cannot {action} a {comment.status.value} comment; only a {wanted} one."
        )


# Drafts -------------------------------------------------------------------------------------


class DraftStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    REPORT_PUBLISHED = "report_published"


@dataclass(frozen=True)
class Extension:
    """A public record of a period extension."""

    old_end: datetime
    new_end: datetime
    reason: str
    at: datetime


@dataclass(frozen=True)
class DraftState:
    """The parts of a draft the rules need. Instants are aware UTC datetimes."""

    status: DraftStatus = DraftStatus.DRAFT
    period_start: datetime | None = None
    period_end: datetime | None = None
    extensions: tuple[Extension, ...] = ()


def open_draft(draft: DraftState, start: datetime, end: datetime | None = None) -> DraftState:
    """Publish a draft for discussion; the end defaults to 10 working days after the start."""
    _require_draft_status(draft, "open", DraftStatus.DRAFT)
    end = end or calendar.discussion_end(start)
    if not start < end:
        raise TransitionError("The discussion period must end after it starts.", "bad_period")
    return replace(draft, status=DraftStatus.OPEN, period_start=start, period_end=end)


def close_draft(draft: DraftState) -> DraftState:
    """Close the discussion (at its end, or early by staff decision)."""
    _require_draft_status(draft, "close", DraftStatus.OPEN)
    return replace(draft, status=DraftStatus.CLOSED)


def publish_report(draft: DraftState) -> DraftState:
    """Publish the summary table once the discussion is closed."""
    _require_draft_status(draft, "publish the report of", DraftStatus.CLOSED)
    return replace(draft, status=DraftStatus.REPORT_PUBLISHED)


def effective_status(draft: DraftState, now: datetime) -> DraftStatus:
    """The status as people should see it: an open draft past its end is closed."""
    if draft.status is DraftStatus.OPEN and draft.period_end and now >= draft.period_end:
        return DraftStatus.CLOSED
    return draft.status


def extend_period(draft: DraftState, new_end: datetime, reason: str, now: datetime) -> DraftState:
    """Move the end of an open discussion later, with a public written reason."""
    if effective_status(draft, now) is not DraftStatus.OPEN:
        raise TransitionError("Only a discussion that is still open can be extended.")
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise TransitionError(
            f"An extension needs a written reason of at least {MIN_REASON_LENGTH} characters; "
            "it is shown publicly.",
            "short_reason",
        )
    if new_end <= draft.period_end:
        raise TransitionError("The new end must be later than the current end.", "bad_period")
    record = Extension(draft.period_end, new_end, reason, now)
    return replace(draft, period_end=new_end, extensions=(*draft.extensions, record))


def check_can_comment(draft: DraftState, now: datetime) -> None:
    """Raise TransitionError unless the discussion accepts comments at `now`."""
    if draft.status is DraftStatus.DRAFT or draft.period_start is None:
        raise TransitionError("This draft is not open for discussion yet.", "not_open")
    if draft.status is not DraftStatus.OPEN or now >= draft.period_end:
        last_day = calendar.last_open_day(draft.period_end).isoformat()
        raise TransitionError(
            f"The discussion closed at the end of {last_day} (Kazakhstan time).", "closed"
        )
    if now < draft.period_start:
        raise TransitionError("The discussion has not started yet.", "not_started")


def _require_draft_status(draft: DraftState, action: str, *allowed: DraftStatus) -> None:
    if draft.status not in allowed:
        wanted = " or ".join(s.value for s in allowed)
        message = f"Cannot {action} a draft that is {draft.status.value}; only {wanted}."
        raise TransitionError(message)


# Wording diff -------------------------------------------------------------------------------

# Words, runs of spaces and single punctuation marks: joining the tokens gives the text back.
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class DiffSegment:
    """A run of text in a diff; kind is "equal", "insert" or "delete"."""

    kind: str
    text: str


def word_diff(current: str, proposed: str) -> list[DiffSegment]:
    """Word-level diff of proposed wording against the current text.

    Joining the equal and delete segments gives `current`; the equal and insert ones give
    `proposed`. A replaced run yields its delete segment before its insert segment. Adjacent
    segments of one kind are merged, so a template renders them directly (<del>, <ins>).
    """
    old, new = _TOKEN.findall(current), _TOKEN.findall(proposed)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    segments: list[DiffSegment] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            _add(segments, "equal", old[i1:i2])
            continue
        _add(segments, "delete", old[i1:i2])
        _add(segments, "insert", new[j1:j2])
    return segments


def _add(segments: list[DiffSegment], kind: str, tokens: list[str]) -> None:
    text = "".join(tokens)
    if not text:
        return
    if segments and segments[-1].kind == kind:
        segments[-1] = DiffSegment(kind, segments[-1].text + text)
    else:
        segments.append(DiffSegment(kind, text))
