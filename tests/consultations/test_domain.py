"""Tests of the comment and draft state machines and of the wording diff."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.consultations import domain as d
from portal.consultations.domain import (
    CommentState,
    CommentStatus,
    Decision,
    DraftState,
    DraftStatus,
    RejectReason,
    TransitionError,
)

START = datetime(2025, 6, 2, 4, 0, tzinfo=UTC)  # Monday 09:00 in Astana
END = datetime(2025, 6, 17, 19, 0, tzinfo=UTC)  # end of Tuesday 17 June, Astana time


def published():
    return d.publish(CommentState())


# Comments ------------------------------------------------------------------------------


def test_new_comment_is_pending_and_publishing_makes_it_public():
    assert CommentState().status is CommentStatus.PENDING
    assert published().status is CommentStatus.PUBLISHED


@pytest.mark.parametrize("reason", list(RejectReason))
def test_pending_comment_is_rejected_with_each_reason(reason):
    rejected = d.reject(CommentState(), reason.value)
    assert (rejected.status, rejected.reject_reason) == (CommentStatus.REJECTED, reason)


def test_unknown_reject_reason_is_refused():
    with pytest.raises(TransitionError, match="Unknown rejection reason 'rude'"):
        d.reject(CommentState(), "rude")


def test_publishing_twice_or_a_rejected_comment_is_refused():
    with pytest.raises(TransitionError, match="Cannot publish a published comment"):
        d.publish(published())
    with pytest.raises(TransitionError, match="Cannot publish a rejected comment"):
        d.publish(d.reject(CommentState(), "spam"))


def test_published_comment_cannot_be_rejected_without_reports():
    with pytest.raises(TransitionError, match="Cannot reject a published comment"):
        d.reject(published(), "spam")


def test_third_report_hides_a_comment():
    comment = d.report(d.report(published()))
    assert (comment.status, comment.report_count) == (CommentStatus.PUBLISHED, 2)
    comment = d.report(comment)
    assert (comment.status, comment.report_count) == (CommentStatus.HIDDEN, 3)
    with pytest.raises(TransitionError, match="Cannot report a hidden comment"):
        d.report(comment)


def test_hidden_comment_is_restored_or_rejected_after_review():
    hidden = d.report(d.report(d.report(published())))
    restored = d.restore(hidden)
    assert (restored.status, restored.report_count) == (CommentStatus.PUBLISHED, 0)
    rejected = d.reject(hidden, RejectReason.ABUSE)
    assert (rejected.status, rejected.reject_reason) == (CommentStatus.REJECTED, RejectReason.ABUSE)
    with pytest.raises(TransitionError, match="Cannot restore a published comment"):
        d.restore(restored)


def test_pending_comment_cannot_be_reported():
    with pytest.raises(TransitionError, match="Cannot report a pending comment"):
        d.report(CommentState())


def test_transitions_do_not_change_the_input():
    comment = CommentState()
    d.publish(comment)
    assert comment.status is CommentStatus.PENDING


# Answers -------------------------------------------------------------------------------


def test_partly_accepted_answer_needs_and_keeps_a_justification():
    answered = d.answer(published(), "partly_accepted", "  Учтено в пункте 2.  ")
    assert answered.answer.decision is Decision.PARTLY_ACCEPTED
    assert answered.answer.justification == "Учтено в пункте 2."
    assert answered.status is CommentStatus.PUBLISHED


@pytest.mark.parametrize("decision", ["partly_accepted", "not_accepted"])
def test_decision_without_justification_is_refused(decision):
    with pytest.raises(TransitionError, match="justification is required") as caught:
        d.answer(published(), decision, "   ")
    assert caught.value.code == "justification_required"


def test_accepted_answer_needs_new_wording_but_no_justification():
    answered = d.answer(published(), Decision.ACCEPTED, new_wording="Новая редакция.")
    assert answered.answer.new_wording == "Новая редакция."
    with pytest.raises(TransitionError, match="needs the new wording"):
        d.answer(published(), Decision.ACCEPTED, "Да")


def test_not_accepted_answer_cannot_bring_new_wording():
    with pytest.raises(TransitionError, match="cannot bring new wording") as caught:
        d.answer(published(), "not_accepted", "Противоречит Конституции.", "Текст")
    assert caught.value.code == "wording_rule"


@pytest.mark.parametrize(
    "comment, state",
    [
        (CommentState(), "pending"),
        (d.reject(CommentState(), "spam"), "rejected"),
        (d.report(d.report(d.report(d.publish(CommentState())))), "hidden"),
    ],
)
def test_answering_a_comment_that_is_not_published_is_refused(comment, state):
    with pytest.raises(TransitionError, match=f"this comment is {state}"):
        d.answer(comment, "accepted", new_wording="x")


def test_second_answer_and_unknown_decision_are_refused():
    answered = d.answer(published(), "not_accepted", "Нет оснований.")
    with pytest.raises(TransitionError, match="already been answered"):
        d.answer(answered, "accepted", new_wording="x")
    with pytest.raises(TransitionError, match="Unknown decision 'maybe'"):
        d.answer(published(), "maybe", "x")


# Drafts --------------------------------------------------------------------------------


def open_draft():
    return d.open_draft(DraftState(), START)


def test_draft_lifecycle_and_default_period():
    draft = open_draft()
    assert (draft.status, draft.period_start, draft.period_end) == (DraftStatus.OPEN, START, END)
    closed = d.close_draft(draft)
    assert closed.status is DraftStatus.CLOSED
    assert d.publish_report(closed).status is DraftStatus.REPORT_PUBLISHED


def test_draft_steps_cannot_be_skipped_or_repeated():
    with pytest.raises(TransitionError, match="Cannot close a draft that is draft"):
        d.close_draft(DraftState())
    with pytest.raises(TransitionError, match="publish the report of a draft that is open"):
        d.publish_report(open_draft())
    with pytest.raises(TransitionError, match="Cannot open a draft that is open"):
        d.open_draft(open_draft(), START)
    with pytest.raises(TransitionError, match="must end after it starts"):
        d.open_draft(DraftState(), START, START)


def test_commenting_is_refused_outside_the_period_to_the_second():
    draft = open_draft()
    d.check_can_comment(draft, END - timedelta(seconds=1))
    with pytest.raises(TransitionError, match="closed at the end of 2025-06-17"):
        d.check_can_comment(draft, END)
    with pytest.raises(TransitionError, match="not started yet"):
        d.check_can_comment(draft, START - timedelta(seconds=1))
    with pytest.raises(TransitionError, match="not open for discussion yet"):
        d.check_can_comment(DraftState(), START)
    with pytest.raises(TransitionError, match="closed"):
        d.check_can_comment(d.close_draft(draft), START + timedelta(hours=1))


def test_open_draft_past_its_end_is_effectively_closed():
    draft = open_draft()
    assert d.effective_status(draft, END - timedelta(seconds=1)) is DraftStatus.OPEN
    assert d.effective_status(draft, END) is DraftStatus.CLOSED


def test_extension_needs_a_written_reason_and_is_recorded():
    draft = open_draft()
    new_end = END + timedelta(days=7)
    now = START + timedelta(days=3)
    with pytest.raises(TransitionError, match="written reason"):
        d.extend_period(draft, new_end, "  ok  ", now)
    extended = d.extend_period(draft, new_end, "Много обращений от жителей района.", now)
    assert extended.period_end == new_end
    assert extended.extensions == (
        d.Extension(END, new_end, "Много обращений от жителей района.", now),
    )
    with pytest.raises(TransitionError, match="later than the current end"):
        d.extend_period(extended, END, "Reason long enough", now)
    with pytest.raises(TransitionError, match="still open"):
        d.extend_period(draft, new_end, "Reason long enough", END)


# Diff ----------------------------------------------------------------------------------


def test_word_diff_marks_replaced_and_inserted_words():
    segments = d.word_diff("Срок составляет 10 дней.", "Срок составляет 15 рабочих дней.")
    assert [(s.kind, s.text) for s in segments] == [
        ("equal", "Срок составляет "),
        ("delete", "10"),
        ("insert", "15 рабочих"),
        ("equal", " дней."),
    ]


def test_word_diff_of_identical_and_empty_texts():
    assert d.word_diff("Текст.", "Текст.") == [d.DiffSegment("equal", "Текст.")]
    assert d.word_diff("", "Новый") == [d.DiffSegment("insert", "Новый")]
    assert d.word_diff("", "") == []


@settings(deadline=None, max_examples=150)
@given(st.text(max_size=80), st.text(max_size=80))
def test_word_diff_rebuilds_both_texts(current, proposed):
    segments = d.word_diff(current, proposed)
    assert "".join(s.text for s in segments if s.kind != "insert") == current
    assert "".join(s.text for s in segments if s.kind != "delete") == proposed
    assert all(a.kind != b.kind for a, b in zip(segments, segments[1:], strict=False))
