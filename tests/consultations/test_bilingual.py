"""Drafts in both state languages: the splitter's check, the reader's text and its switch,
comments that belong to the article whichever text was read."""

import pytest
from consult_helpers import make_draft, publish
from helpers import make_user, post_form
from sqlalchemy import func, select

from portal import demo
from portal.bilingual import choose, in_language
from portal.consultations import services
from portal.consultations.models import Comment, Draft
from portal.consultations.splitter import SplitError, split_pair

RU = """Преамбула проекта.

Статья 1. Общие положения
1. Правила определяют порядок благоустройства дворов.
2. Правила обязательны для всех.

Статья 2. Озеленение
1. Во дворах сохраняются деревья.
2. Вырубка допускается только по решению комиссии.
"""

KK = """Жобаның кіріспесі.

1-бап. Жалпы ережелер
1. Қағида аулаларды абаттандыру тәртібін белгілейді.
2. Қағида барлығы үшін міндетті.

2-бап. Көгалдандыру
1. Аулаларда ағаштар сақталады.
2. Ағаш кесуге тек комиссияның шешімі бойынша рұқсат етіледі.
"""


class _Row:
    def __init__(self, text, **translations):
        self.text = text
        for lang, value in translations.items():
            setattr(self, f"text_{lang}", value)


def test_in_language_falls_back_to_the_original():
    row = _Row("Оригинал", kk="Түпнұсқа", ru=None)
    assert in_language(row, "text", "kk") == "Түпнұсқа"
    assert in_language(row, "text", "ru") == "Оригинал"  # no Russian: the original
    assert in_language(row, "text", "en") == "Оригинал"  # no column at all
    assert in_language(_Row("X", kk=""), "text", "kk") == "X"


def test_choose_prefers_the_switch_then_the_reader_then_the_original():
    assert choose(["ru", "kk"], "kk", "en") == "kk"
    assert choose(["ru", "kk"], None, "kk") == "kk"
    assert choose(["ru", "kk"], "de", "en") == "ru"
    assert choose(["ru"], "kk", "kk") == "ru"
    assert choose([], "kk", "en") == "en"


def test_split_pair_keeps_both_texts_with_their_languages():
    kk, ru = split_pair(KK, RU)
    assert (kk.language, ru.language) == ("kk", "ru")
    assert [a.number for a in kk.articles] == [a.number for a in ru.articles] == ["1", "2"]
    assert kk.articles[1].title == "Көгалдандыру" and ru.articles[1].title == "Озеленение"
    assert kk.preamble == "Жобаның кіріспесі."


@pytest.mark.parametrize(
    ("kk", "code", "details", "words"),
    [
        # An article missing from the Kazakh text.
        (KK.split("2-бап")[0], "article_missing", {"number": "2", "present": "ru"}, "Article 2"),
        # An extra article in the Kazakh text.
        (KK + "\n3-бап. Күшіне енуі\nМәтін.\n", "article_missing", {"number": "3"}, "Article 3"),
        # Numbered differently.
        (KK.replace("2-бап", "2-1-бап"), "article_missing", {"number": "2-1"}, "Article 2-1"),
        # Same numbers, another order.
        (
            KK.replace("1-бап", "X-бап").replace("2-бап", "1-бап").replace("X-бап", "2-бап"),
            "article_order",
            {"position": 1, "first": "2", "second": "1"},
            "Article no. 1",
        ),
        # A paragraph missing from article 2.
        (KK.split("2. Ағаш")[0], "paragraphs_differ", {"number": "2"}, "Article 2"),
        # A repeated article number.
        (KK + "\n2-бап. Қайталау\nМәтін.\n", "article_count", {"number": "2"}, "article 2"),
        # Both texts in Russian.
        (RU, "same_language", {}, "Kazakh"),
    ],
)
def test_split_pair_names_the_article_that_differs(kk, code, details, words):
    with pytest.raises(SplitError) as caught:
        split_pair(kk, RU)
    assert caught.value.code == code
    assert details.items() <= caught.value.details.items()
    assert words in str(caught.value)


def test_a_draft_in_both_languages_is_stored_with_its_second_text(db):
    draft = make_draft(text=RU, second_text=KK, open_it=False)
    assert (draft.text_language, draft.second_language) == ("ru", "kk")
    assert draft.languages == ["ru", "kk"]
    article = draft.articles[1]
    assert article.title == "Озеленение" and article.title_kk == "Көгалдандыру"
    assert article.text_kk.startswith("1. Аулаларда") and article.text_ru is None
    assert article.paragraphs[1].text_kk.startswith("Ағаш кесуге")
    assert draft.preamble_kk == "Жобаның кіріспесі."


def test_a_draft_whose_texts_differ_is_refused_and_nothing_is_written(db):
    before = db.session.scalar(select(func.count(Draft.id)))
    with pytest.raises(services.ConsultationError) as caught:
        make_draft(text=RU, second_text=KK.replace("2-бап", "3-бап"))
    assert caught.value.code == "article_missing" and caught.value.details["number"] == "2"
    db.session.rollback()
    assert db.session.scalar(select(func.count(Draft.id))) == before


def _page(client, url, lang=None):
    if lang:
        client.set_cookie("lang", lang)
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_reader_gets_their_language_with_a_switch_to_the_other(as_role, db):
    draft = make_draft(text=RU, second_text=KK)
    article = draft.articles[1]
    url = f"/consultations/{draft.id}/articles/{article.id}"
    reader = as_role("anonymous")

    reader.set_cookie("lang", "kk")
    page = _page(reader, url)
    assert "Ағаш кесуге тек комиссияның" in page and "Вырубка допускается" not in page
    assert f'href="{url}?text=ru"' in page and "Читать на русском" in page
    assert 'lang="kk"' in page

    # The switch shows the Russian text; the interface stays Kazakh.
    page = _page(reader, f"{url}?text=ru")
    assert "Вырубка допускается" in page and "Ағаш кесуге" not in page
    assert f'href="{url}?text=kk"' in page and "Қазақша оқу" in page
    assert '<html lang="kk"' in page

    reader.set_cookie("lang", "ru")
    page = _page(reader, url)
    assert "Вырубка допускается" in page and "Қазақша оқу" in page
    # The draft page lists the articles in the reader's language too, links keeping it.
    page = _page(reader, f"/consultations/{draft.id}?text=kk")
    assert "Көгалдандыру" in page and "Озеленение" not in page and "Жобаның кіріспесі." in page
    assert f"/articles/{article.id}?text=kk" in page

    # An English reader reads the original, and may switch to the other state language.
    reader.set_cookie("lang", "en")
    page = _page(reader, url)
    assert "Вырубка допускается" in page and "Қазақша оқу" in page


def test_a_draft_with_one_text_has_no_switch(as_role, db):
    draft = make_draft()
    reader = as_role("anonymous")
    reader.set_cookie("lang", "kk")
    page = _page(reader, f"/consultations/{draft.id}/articles/{draft.articles[0].id}?text=kk")
    assert "Благоустройство" in page and "text-switch" not in page and "Қазақша оқу" not in page


def test_a_comment_on_the_russian_text_is_on_the_same_article_in_kazakh(as_role, db):
    draft = make_draft(text=RU, second_text=KK)
    article = draft.articles[1]
    url = f"/consultations/{draft.id}/articles/{article.id}"
    resident = as_role("resident")
    resident.set_cookie("lang", "kk")
    page = _page(resident, f"{url}?text=ru")
    assert 'name="text_language" type="hidden" value="ru"' in page
    response = post_form(
        resident,
        f"/consultations/{draft.id}/comments",
        {
            "article_id": str(article.id),
            "text_language": "ru",
            "stance": "reword",
            "text": "Нужны слушания перед вырубкой.",
            "proposed_wording": "Вырубка допускается только после общественных слушаний.",
        },
        token_from=f"{url}?text=ru",
    )
    assert response.status_code == 302
    comment = db.session.scalar(select(Comment).where(Comment.draft_id == draft.id))
    assert (comment.article_id, comment.text_language) == (article.id, "ru")
    publish(comment)
    services.answer_comment(
        db.session, draft.staff, comment, decision="not_accepted",
        justification="Комиссия уже проводит слушания.",
    )  # fmt: skip
    db.session.commit()

    reader = as_role("anonymous")
    reader.set_cookie("lang", "kk")
    page = _page(reader, url)
    assert "Ағаш кесуге тек комиссияның" in page  # the Kazakh text …
    assert "Нужны слушания перед вырубкой." in page  # … with the comment made on the Russian
    assert "Комиссия уже проводит слушания." in page  # and its answer
    # The proposed wording is compared with the Russian text it was written against.
    assert "<del>комиссии</del> <ins>слушаний</ins>" in page and "<del>Ағаш" not in page


def test_a_comment_with_an_unknown_text_language_keeps_none(db):
    draft = make_draft(text=RU, second_text=KK)
    comment = services.add_comment(
        db.session, make_user(), draft, stance="support", text="Да.",
        article_id=draft.articles[0].id, text_language="en",
    )  # fmt: skip
    assert comment.text_language is None


def test_staff_publish_a_draft_in_both_languages_from_the_form(as_role, db):
    staff = as_role("staff")
    data = {
        "title_kk": "Аулалар",
        "agency": "Басқарма",
        "kind": "bylaw",
        "scope": "KZ-75",
        "text": KK,
        "second_text": RU,
    }
    response = post_form(staff, "/consultations/new", data, token_from="/consultations/new")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    draft = db.session.scalar(select(Draft).where(Draft.title_kk == "Аулалар"))
    assert draft.languages == ["kk", "ru"] and draft.articles[0].title_ru == "Общие положения"
    staff.set_cookie("lang", "ru")
    manage = _page(staff, f"/consultations/{draft.id}/manage")
    assert "Тексты проекта: казахский, русский" in manage
    staff.set_cookie("lang", "en")

    # A mismatch is refused with a message naming the article, nothing saved.
    data |= {"title_kk": "Басқа", "second_text": RU.replace("Статья 2", "Статья 3")}
    response = post_form(staff, "/consultations/new", data, token_from="/consultations/new")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Article 2 is in the Kazakh text but not in the Russian text." in text
    assert db.session.scalar(select(Draft.id).where(Draft.title_kk == "Басқа")) is None

    # The second text can be corrected with the article while the draft is unpublished.
    edit = f"/consultations/{draft.id}/articles/{draft.articles[0].id}/edit"
    page = _page(staff, edit)
    assert "Общие положения" in page and "Heading in the other state language" in page
    response = post_form(
        staff,
        edit,
        {"number": "1", "title": "Жалпы", "text": "Мәтін.", "second_title": "Общее",
         "second_text": "Текст."},
        token_from=edit,
    )  # fmt: skip
    assert response.status_code == 302
    db.session.expire_all()
    article = db.session.get(Draft, draft.id).articles[0]
    assert (article.title, article.title_ru, article.text_ru) == ("Жалпы", "Общее", "Текст.")


def test_the_demo_drafts_have_kazakh_and_russian_texts(db, as_role):
    demo.load_all(db.session)
    db.session.commit()
    drafts = {d.title_en: d for d in db.session.scalars(select(Draft))}
    courtyards = drafts["Courtyard improvement rules"]
    assert courtyards.languages == ["ru", "kk"]
    assert drafts["Bus stop placement rules"].languages == ["kk", "ru"]
    assert all(d.title_kk and d.title_ru and d.title_en for d in drafts.values())
    article = courtyards.articles[1]
    reader = as_role("anonymous")
    page = _page(reader, f"/consultations/{courtyards.id}/articles/{article.id}", "kk")
    assert "Ағаш кесуге тек комиссияның" in page
    # Comments made on the Russian and on the Kazakh text, both on this article.
    assert "Нужно добавить общественные слушания" in page
    assert "Кесілген ағаштың орнына" in page
    # Without a switch, links to articles carry no text choice (the reader's language rules).
    listing = _page(reader, f"/consultations/{courtyards.id}", "kk")
    assert f"/articles/{article.id}?text=" not in listing and "Көгалдандыру" in listing
