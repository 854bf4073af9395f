"""Consultation services: drafts, period, comments (bad input writes nothing), answers, CSV."""

import datetime as dt

import pytest
from consult_helpers import DRAFT_TEXT, make_comment, make_draft, publish, utc
from helpers import make_user
from sqlalchemy import func, select

from portal.consultations import calendar, services
from portal.consultations.models import Comment, Draft, DraftExtension
from portal.consultations.services import ConsultationError
from portal.extensions import db

XSS_NOSCRIPT = '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'
XSS_JAVASCRIPT = 'jav&#x09;ascript:alert(1) and <a href="jav&#x09;ascript:alert(1)">x</a>'


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_create_draft_splits_articles_and_paragraphs(db):
    draft = make_draft(open_it=False)
    assert [a.number for a in draft.articles] == ["1", "2", "3"]
    assert draft.articles[1].title == "Общественное обсуждение"
    assert [p.number for p in draft.articles[1].paragraphs] == ["1", "2"]
    assert draft.status == "draft" and draft.period_start is None


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("Просто текст без статей.\nЕщё строка.", "no_articles"),
        (b"\xff\xfe\xfa not utf-8 \xc3\x28", "not_utf8"),
        ("", "no_articles"),
    ],
)
def test_import_without_articles_or_bad_bytes_is_refused(db, data, code):
    staff = make_user(role="staff")
    before = _count(Draft)
    with pytest.raises(ConsultationError) as caught:
        services.create_draft(
            db.session, staff, titles={"ru": "X"}, agency="A", kind="law",
            region=staff.scope_region, text=data,
        )  # fmt: skip
    assert caught.value.code == code
    db.session.rollback()
    assert _count(Draft) == before


def test_staff_of_another_region_cannot_publish_or_open(db):
    draft = make_draft(open_it=False)
    astana_staff = make_user(role="staff", region="KZ-71")
    with pytest.raises(ConsultationError) as caught:
        services.open_draft(db.session, astana_staff, draft)
    assert caught.value.code == "forbidden"
    assert draft.status == "draft"


def test_open_uses_ten_working_days_and_sets_the_answer_deadline(db):
    start = utc(2026, 3, 2, 4, 0)  # Monday, 09:00 in Almaty
    draft = make_draft(now=start)
    assert draft.status == "open"
    assert services.aware(draft.period_end) == calendar.discussion_end(start)
    assert services.aware(draft.answer_due) == calendar.answer_deadline(
        services.aware(draft.period_end)
    )


def test_comment_one_second_before_the_end_counts_and_at_the_end_is_refused(db):
    start = utc(2026, 3, 2, 4, 0)
    draft = make_draft(now=start)
    end = services.aware(draft.period_end)
    ok = make_comment(draft, now=end - dt.timedelta(seconds=1))
    assert ok.status == "pending"
    before = _count(Comment)
    with pytest.raises(ConsultationError) as caught:
        make_comment(draft, now=end)
    assert caught.value.code == "closed"
    assert caught.value.details["last_day"] == calendar.last_open_day(end)
    db.session.rollback()
    assert _count(Comment) == before


def test_comment_before_opening_is_refused(db):
    draft = make_draft(open_it=False)
    with pytest.raises(ConsultationError) as caught:
        make_comment(draft)
    assert caught.value.code == "not_open_yet"


def test_comment_on_an_article_of_another_draft_is_refused(db):
    draft, other = make_draft(), make_draft()
    with pytest.raises(ConsultationError) as caught:
        services.add_comment(
            db.session, make_user(), draft, stance="object", text="x",
            article_id=other.articles[0].id,
        )  # fmt: skip
    assert caught.value.code == "article_not_in_draft"
    db.session.rollback()
    assert (
        db.session.scalar(select(func.count(Comment.id)).where(Comment.draft_id == draft.id)) == 0
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty_text"),
        ("   \n ", "empty_text"),
        ("я" * (services.MAX_COMMENT_CHARS + 1), "text_too_long"),
        ("broken \ufffd bytes", "not_utf8"),
        ("nul \x00 byte", "control_chars"),
    ],
)
def test_bad_comment_text_is_refused(db, text, code):
    draft = make_draft()
    with pytest.raises(ConsultationError) as caught:
        make_comment(draft, text=text)
    assert caught.value.code == code


def test_comment_with_wrong_stance_is_refused(db):
    with pytest.raises(ConsultationError) as caught:
        make_comment(make_draft(), stance="maybe")
    assert caught.value.code == "bad_stance"


def test_html_and_javascript_payloads_are_sanitised(db):
    draft = make_draft()
    first = make_comment(draft, text=XSS_NOSCRIPT)
    second = make_comment(draft, text=XSS_JAVASCRIPT)
    for comment in (first, second):
        lowered = comment.text.lower()
        assert "<img" not in lowered and "<noscript" not in lowered and "<p" not in lowered
        assert "href" not in lowered and "<a" not in lowered
    # Real links stay clickable and safe.
    third = make_comment(draft, text="See https://adilet.zan.kz/rus/docs/K1500000414")
    assert 'href="https://adilet.zan.kz/rus/docs/K1500000414"' in third.text
    assert 'rel="nofollow"' in third.text


def test_proposed_wording_needs_an_article(db):
    with pytest.raises(ConsultationError) as caught:
        make_comment(make_draft(), article=None, proposed_wording="Новая редакция")
    assert caught.value.code == "wording_needs_article"


def test_paragraph_of_another_article_is_refused(db):
    draft = make_draft()
    with pytest.raises(ConsultationError) as caught:
        make_comment(draft, article=1, paragraph_id=draft.articles[1].paragraphs[0].id)
    assert caught.value.code == "paragraph_not_in_article"


def test_extension_needs_a_written_reason_and_is_public(db):
    draft = make_draft()
    old_end = draft.period_end
    with pytest.raises(ConsultationError) as caught:
        services.extend_draft(db.session, draft.staff, draft, working_days=5, reason="ok")
    assert caught.value.code == "short_reason"
    assert draft.period_end == old_end
    services.extend_draft(
        db.session, draft.staff, draft, working_days=5, reason="Many residents asked for time."
    )
    assert draft.period_end > old_end
    record = db.session.scalar(select(DraftExtension).where(DraftExtension.draft_id == draft.id))
    assert record.reason == "Many residents asked for time." and record.old_end == old_end


def test_three_reports_hide_a_comment_and_one_report_per_resident(db):
    comment = publish(make_comment(make_draft()))
    reporter = make_user()
    services.report_comment(db.session, reporter, comment)
    with pytest.raises(ConsultationError) as caught:
        services.report_comment(db.session, reporter, comment)
    assert caught.value.code == "already_reported"
    services.report_comment(db.session, make_user(), comment)
    assert comment.status == "published"
    services.report_comment(db.session, make_user(), comment)
    assert comment.status == "hidden" and comment.report_count == 3


def test_vote_once(db):
    draft, user = make_draft(), make_user()
    services.vote(db.session, user, draft, supports=True)
    with pytest.raises(ConsultationError) as caught:
        services.vote(db.session, user, draft, supports=False)
    assert caught.value.code == "already_voted"
    assert services.vote_counts(db.session, draft) == {"support": 1, "oppose": 0}


def test_answering_a_rejected_comment_is_refused(db):
    draft = make_draft()
    comment = publish(make_comment(draft), status="rejected")
    with pytest.raises(ConsultationError) as caught:
        services.answer_comment(
            db.session, draft.staff, comment, decision="accepted", new_wording="X"
        )
    assert caught.value.code == "not_published"
    assert comment.decision is None


def test_decision_without_justification_is_refused(db):
    draft = make_draft()
    comment = publish(make_comment(draft))
    with pytest.raises(ConsultationError) as caught:
        services.answer_comment(db.session, draft.staff, comment, decision="not_accepted")
    assert caught.value.code == "justification_required"
    assert comment.decision is None and comment.answered_at is None


def test_answer_by_staff_of_another_region_is_refused(db):
    comment = publish(make_comment(make_draft()))
    with pytest.raises(ConsultationError) as caught:
        services.answer_comment(
            db.session, make_user(role="staff", region="KZ-71"), comment,
            decision="partly_accepted", justification="Частично учтено.",
        )  # fmt: skip
    assert caught.value.code == "forbidden"


def test_partly_accepted_answer_and_summary_csv(db):
    draft = make_draft()
    comment = publish(make_comment(draft, text='=HYPERLINK("http://evil") расширить', article=2))
    services.answer_comment(
        db.session, draft.staff, comment, decision="partly_accepted",
        justification="Учтено в пункте 2.",
    )  # fmt: skip
    assert comment.decision == "partly_accepted" and comment.answered_at is not None
    labels = {
        "header": ["Article", "Comment", "Stance", "Decision", "Justification", "Wording", "Date"],
        "stances": {"support": "S", "object": "O", "reword": "R"},
        "decisions": {"accepted": "A", "partly_accepted": "P", "not_accepted": "N"},
        "pending": "-",
        "whole": "all",
    }
    text = services.summary_csv(db.session, draft, labels=labels)
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Article,Comment")
    assert lines[1].startswith("2,")
    assert "'=HYPERLINK" in lines[1] and ",P,Учтено в пункте 2." in lines[1]


def test_overdue_lists_unanswered_published_comments_after_the_deadline(db):
    draft = make_draft()
    late = publish(make_comment(draft))
    answered = publish(make_comment(draft))
    services.answer_comment(
        db.session, draft.staff, answered, decision="not_accepted", justification="Нет."
    )
    pending = make_comment(draft)
    assert services.overdue_comments(db.session, region_id=draft.region_id) == []
    after = draft.answer_due + dt.timedelta(seconds=1)
    found = services.overdue_comments(db.session, region_id=draft.region_id, now=after)
    assert found == [late]
    assert services.is_overdue(late, after) and not services.is_overdue(pending, after)


def test_public_positions_show_a_campaign_once_with_its_count(db):
    from portal.consultations.models import Campaign

    draft = make_draft()
    copies = [publish(make_comment(draft, text="Против!")) for _ in range(3)]
    single = publish(make_comment(draft, text="Другое мнение"))
    campaign = Campaign(draft_id=draft.id, size=3, representative_id=copies[0].id)
    db.session.add(campaign)
    db.session.flush()
    for c in copies:
        c.campaign_id = campaign.id
    db.session.commit()
    positions = services.public_positions(db.session, draft, draft.articles[0].id)
    assert [(c.id, n) for c, n in positions] == [(copies[0].id, 3), (single.id, 1)]
    assert services.article_counts(db.session, draft)[draft.articles[0].id]["total"] == 4


def test_draft_text_constant_has_three_articles():
    assert DRAFT_TEXT.count("Статья") == 3


PLAIN_CASES = [
    "Простой текст",
    "a & b && c &amp; d &amp;amp; e",
    "&lt;script&gt;alert(1)&lt;/script&gt; &#39;x&#39; &quot;q&quot; &nbsp;&copy; &unknown; &#x41;",
    "5 < 6 and 7 > 3",
    '<a href="https://example.kz" rel="nofollow">https://example.kz</a> тротуары',
    XSS := '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "jav&#x09;ascript:alert(1)",
    "строка\nвторая\r\nтретья\tтаб\rчетвёртая",
    "nul\x00 byte &amp;",
    "\u00a0non-breaking\u2028line separator \ufeff",
    "",
]


@pytest.mark.parametrize("raw", PLAIN_CASES)
def test_plain_fast_path_matches_bleach(raw):
    import html

    import bleach

    for stored in (raw, services.sanitise(raw)):
        slow = html.unescape(bleach.clean(stored, tags=set(), strip=True))
        assert services.plain(stored) == slow, stored
    assert "<img" not in services.plain(services.sanitise(XSS))


def test_plain_skips_the_html_parser_when_there_is_no_tag(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("bleach called")

    monkeypatch.setattr(services.bleach, "clean", refuse)
    assert services.plain("Тротуары &amp; дворы &lt;3") == "Тротуары & дворы <3"
