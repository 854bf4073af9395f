"""Consultation pages: the journey, bad input over HTTP, staff publishing and answers."""

import io

import pytest
from consult_helpers import DRAFT_TEXT, make_comment, make_draft, publish
from helpers import make_user, post_form
from sqlalchemy import func, select

from portal.consultations import services
from portal.consultations.models import Comment, Draft
from portal.extensions import db

XSS_NOSCRIPT = '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'


def _comments(draft):
    return db.session.scalar(select(func.count(Comment.id)).where(Comment.draft_id == draft.id))


def _comment_form(draft, article, **data):
    return {"article_id": str(article.id), "stance": "object", "text": "Текст", **data}


@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
def test_journey_comment_moderate_answer_summary(as_role, db, lang):
    draft = make_draft()
    article = draft.articles[1]
    resident = as_role("resident")
    resident.set_cookie("lang", lang)
    page = f"/consultations/{draft.id}/articles/{article.id}"
    assert resident.get(page).status_code == 200
    response = post_form(
        resident,
        f"/consultations/{draft.id}/comments",
        _comment_form(draft, article, stance="reword", text="Сократить срок до 10 дней.",
                      proposed_wording="Акимат рассматривает их в течение 10 рабочих дней."),
        token_from=page,
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    comment = db.session.scalar(select(Comment).where(Comment.draft_id == draft.id))
    assert comment.status == "pending" and comment.article_id == article.id
    # Not public yet; the author sees it as awaiting moderation.
    assert "Сократить срок" not in resident.get(page).get_data(as_text=True)
    assert "Сократить срок" in resident.get("/consultations/my-comments").get_data(as_text=True)

    moderator = as_role("moderator")
    moderator.set_cookie("lang", lang)
    queue = moderator.get("/moderation/").get_data(as_text=True)
    assert "Сократить срок" in queue and 'aria-live="polite"' in queue
    response = post_form(
        moderator, f"/moderation/comments/{comment.id}/publish", {}, token_from="/moderation/"
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status == "published"

    staff = as_role("staff")
    answers = f"/consultations/{draft.id}/answers"
    assert "Сократить срок" in staff.get(answers).get_data(as_text=True)
    response = post_form(
        staff,
        f"/consultations/comments/{comment.id}/answer",
        {"decision": "partly_accepted", "justification": "Срок сокращён до 12 дней."},
        token_from=answers,
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).decision == "partly_accepted"

    article_page = resident.get(page).get_data(as_text=True)
    assert "Сократить срок" in article_page and "Срок сокращён до 12 дней." in article_page
    assert "<ins>" in article_page and "<del>" in article_page  # the proposed wording as a diff
    summary = resident.get(f"/consultations/{draft.id}/summary").get_data(as_text=True)
    assert "Срок сокращён до 12 дней." in summary
    # The article by number and title (in the draft's one text here).
    assert '<th scope="row">2. <span lang="ru">Общественное обсуждение</span></th>' in summary
    csv = resident.get(f"/consultations/{draft.id}/summary.csv")
    assert csv.mimetype == "text/csv"
    assert "Срок сокращён до 12 дней." in csv.get_data(as_text=True)


def test_xss_payload_is_not_rendered_as_html(as_role, db):
    draft = make_draft()
    comment = publish(make_comment(draft, text=XSS_NOSCRIPT))
    page = as_role("anonymous").get(f"/consultations/{draft.id}/articles/{comment.article_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<img" not in html and "<noscript" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_ten_megabyte_comment_is_refused_with_413(as_role, db):
    draft = make_draft()
    resident = as_role("resident")
    before = _comments(draft)
    response = post_form(
        resident,
        f"/consultations/{draft.id}/comments",
        _comment_form(draft, draft.articles[0], text="я" * (10 * 1024 * 1024)),
    )
    assert response.status_code == 413
    assert _comments(draft) == before


def test_too_long_and_empty_comments_are_refused(as_role, db):
    draft = make_draft()
    resident = as_role("resident")
    for text in ("x" * 10_001, ""):
        response = post_form(
            resident,
            f"/consultations/{draft.id}/comments",
            _comment_form(draft, draft.articles[0], text=text),
        )
        assert response.status_code == 422
    assert _comments(draft) == 0


def test_invalid_utf8_comment_is_refused_with_a_clear_error(as_role, db):
    from helpers import csrf_token

    draft = make_draft()
    resident = as_role("resident")
    token = csrf_token(resident)
    body = (
        f"csrf_token={token}&article_id={draft.articles[0].id}&stance=object&text=".encode()
        + b"%FF%FE bad bytes"
    )
    response = resident.post(
        f"/consultations/{draft.id}/comments",
        data=body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "not valid UTF-8" in response.get_data(as_text=True)
    assert _comments(draft) == 0
    raw = body.replace(b"%FF%FE", b"\xff\xfe")
    response = resident.post(
        f"/consultations/{draft.id}/comments",
        data=raw,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "not valid UTF-8" in response.get_data(as_text=True)
    assert _comments(draft) == 0


def test_comment_on_an_article_of_another_draft_writes_nothing(as_role, db):
    draft, other = make_draft(), make_draft()
    resident = as_role("resident")
    response = post_form(
        resident, f"/consultations/{draft.id}/comments", _comment_form(draft, other.articles[0])
    )
    assert response.status_code == 303
    assert _comments(draft) == 0 and _comments(other) == 0


def test_comment_after_the_period_is_refused_with_a_message(as_role, db):
    draft = make_draft()
    draft.status = "closed"
    db.session.commit()
    resident = as_role("resident")
    response = post_form(
        resident, f"/consultations/{draft.id}/comments", _comment_form(draft, draft.articles[0])
    )
    assert response.status_code == 422
    assert "The discussion is closed" in response.get_data(as_text=True)
    assert _comments(draft) == 0


def test_unpublished_draft_is_hidden_from_the_public(as_role, db):
    draft = make_draft(open_it=False)
    resident = as_role("resident")
    for suffix in ("", "/summary", "/summary.csv", "/summary.xlsx"):
        assert resident.get(f"/consultations/{draft.id}{suffix}").status_code == 404, suffix
    assert as_role("staff").get(f"/consultations/{draft.id}").status_code == 200


def test_staff_import_a_file_correct_an_article_and_open(as_role, db):
    staff = as_role("staff")
    response = post_form(
        staff,
        "/consultations/new",
        {
            "title_ru": "О парках",
            "agency": "Управление",
            "kind": "law",
            "scope": "KZ-75",
            "file": (io.BytesIO(DRAFT_TEXT.encode()), "draft.md"),
        },
        token_from="/consultations/new",
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    draft = db.session.scalar(select(Draft).where(Draft.title_ru == "О парках"))
    assert len(draft.articles) == 3
    edit = f"/consultations/{draft.id}/articles/{draft.articles[2].id}/edit"
    response = post_form(
        staff, edit, {"number": "3-1", "title": "Ввод", "text": "Через 10 дней."}, token_from=edit
    )
    assert response.status_code == 302
    post_form(staff, f"/consultations/{draft.id}/open", {"working_days": "10"}, token_from=edit)
    db.session.expire_all()
    draft = db.session.get(Draft, draft.id)
    assert draft.status == "open" and draft.articles[2].number == "3-1"


def test_import_of_a_file_with_no_articles_is_refused(as_role, db):
    staff = as_role("staff")
    before = db.session.scalar(select(func.count(Draft.id)))
    response = post_form(
        staff,
        "/consultations/new",
        {
            "title_ru": "Пусто",
            "agency": "Управление",
            "kind": "law",
            "scope": "KZ-75",
            "file": (io.BytesIO("Только текст, без статей.".encode()), "draft.txt"),
        },
        token_from="/consultations/new",
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "No articles were found" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Draft.id))) == before


def test_answer_without_justification_is_refused_over_http(as_role, db):
    draft = make_draft()
    comment = publish(make_comment(draft))
    staff = as_role("staff")
    answers = f"/consultations/{draft.id}/answers"
    response = post_form(
        staff,
        f"/consultations/comments/{comment.id}/answer",
        {"decision": "not_accepted", "justification": ""},
        token_from=answers,
        follow_redirects=True,
    )
    assert "A justification is required" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).decision is None


def test_extension_reason_is_shown_publicly(as_role, db):
    draft = make_draft()
    staff = as_role("staff")
    manage = f"/consultations/{draft.id}/manage"
    post_form(
        staff,
        f"/consultations/{draft.id}/extend",
        {"working_days": "5", "reason": "Просьбы жителей о продлении."},
        token_from=manage,
    )
    page = as_role("anonymous").get(f"/consultations/{draft.id}").get_data(as_text=True)
    assert "Просьбы жителей о продлении." in page


def test_article_page_shows_counts_and_stance_bar_without_inline_style(as_role, db):
    draft = make_draft()
    publish(make_comment(draft, stance="support"))
    publish(make_comment(draft, stance="object"))
    html = as_role("anonymous").get(f"/consultations/{draft.id}").get_data(as_text=True)
    assert "2 comments" in html and 'class="stance-bar"' in html
    assert "style=" not in html and "<script>" not in html


def test_overdue_page_lists_late_comments_for_staff(as_role, db):
    import datetime as dt

    draft = make_draft()
    comment = publish(make_comment(draft, text="Где ответ?"))
    draft.answer_due = draft.created_at - dt.timedelta(days=1)
    db.session.commit()
    assert "Где ответ?" in as_role("staff").get("/consultations/overdue").get_data(as_text=True)
    public = as_role("anonymous").get(f"/consultations/{draft.id}/summary").get_data(as_text=True)
    assert "Answer overdue" in public
    assert comment.decision is None


def test_resident_reports_and_my_comments_show_the_rejection_reason(as_role, db):
    draft = make_draft()
    author = make_user()
    rejected = make_comment(draft, author=author)
    rejected.status, rejected.reject_reason = "rejected", "off_topic"
    db.session.commit()
    from helpers import login

    client = as_role("anonymous")
    login(client, author)
    page = client.get("/consultations/my-comments").get_data(as_text=True)
    assert "Rejected" in page and "Off-topic" in page


@pytest.mark.parametrize("lang", ["en", "ru", "kk"])
def test_summary_downloads_in_the_users_language_with_formulas_neutralised(as_role, db, lang):
    import csv as csv_module

    from helpers import translate
    from openpyxl import load_workbook

    draft = make_draft()
    comment = publish(make_comment(draft, text='=HYPERLINK("http://evil") и тротуары', article=2))
    services.answer_comment(
        db.session, draft.staff, comment, decision="partly_accepted",
        justification="-Учтено частично.",
    )  # fmt: skip
    db.session.commit()
    pending = publish(make_comment(draft, text="Без ответа", article=None))
    client = as_role("resident")
    client.set_cookie("lang", lang)
    header = [
        translate(lang, m)
        for m in ("Article", "Comment", "Stance", "Decision", "Justification", "New wording",
                  "Date of answer")
    ]  # fmt: skip

    page = client.get(f"/consultations/{draft.id}/summary").get_data(as_text=True)
    assert f'href="/consultations/{draft.id}/summary.xlsx"' in page

    response = client.get(f"/consultations/{draft.id}/summary.csv")
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv_module.reader(io.StringIO(text[1:])))
    # The article's titles in both state languages come after the older columns.
    titles = [translate(lang, "Article title (Kazakh)"), translate(lang, "Article title (Russian)")]
    assert rows[0] == header + titles
    assert rows[2][-2:] == ["", "Общественное обсуждение"]  # a draft in Russian only
    assert rows[1][:3] == [translate(lang, "Whole draft"), "Без ответа",
                           translate(lang, "I object")]  # fmt: skip
    assert rows[1][3] == translate(lang, "No answer yet")
    assert rows[2][:2] == ["2", '\'=HYPERLINK("http://evil") и тротуары']
    assert rows[2][3:5] == [translate(lang, "Partly accepted"), "'-Учтено частично."]

    response = client.get(f"/consultations/{draft.id}/summary.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert f"draft-{draft.id}-summary.xlsx" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == header + titles and sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    assert values[1][1] == "Без ответа" and values[1][6] is None
    assert values[2][:2] == ["2", '=HYPERLINK("http://evil") и тротуары']
    assert sheet["B3"].data_type == "s" and sheet["B3"].quotePrefix
    assert values[2][4] == "-Учтено частично." and sheet["E3"].data_type == "s"
    assert values[2][6].date() == comment.answered_at.date()
    assert pending.id != comment.id
