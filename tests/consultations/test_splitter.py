"""Tests of the draft splitter: headings in ru/kk/en, Markdown, numbering kept, bad files."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.consultations.splitter import SplitError, decode_upload, split_draft

RU_DRAFT = """ЗАКОН РЕСПУБЛИКИ КАЗАХСТАН
О благоустройстве

Настоящий Закон регулирует общественные отношения.

Глава 1. Общие положения

Статья 1. Основные понятия
В настоящем Законе используются следующие понятия:
1) сквер – озеленённая территория;
2) двор – территория у дома.

Статья 2. Цели
1. Целью является удобство жителей.
1-1. Вставленный пункт.
2. Статья 5 настоящего Закона применяется к скверам.

Глава 2. Участие жителей

Статья 5-1. Общественные слушания
Текст без пунктов.
"""


def test_ru_articles_numbers_titles_and_preamble():
    result = split_draft(RU_DRAFT)
    assert [a.number for a in result.articles] == ["1", "2", "5-1"]
    assert [a.title for a in result.articles] == [
        "Основные понятия",
        "Цели",
        "Общественные слушания",
    ]
    assert result.preamble.startswith("ЗАКОН РЕСПУБЛИКИ КАЗАХСТАН")
    assert result.preamble.endswith("общественные отношения.")
    assert result.warnings == []


def test_chapters_are_recorded_and_not_part_of_article_text():
    result = split_draft(RU_DRAFT)
    assert [a.chapter for a in result.articles] == [
        "Глава 1. Общие положения",
        "Глава 1. Общие положения",
        "Глава 2. Участие жителей",
    ]
    assert "Глава 2" not in result.articles[1].text


def test_paragraphs_keep_numbering_including_inserted_ones():
    article = split_draft(RU_DRAFT).articles[1]
    assert [p.number for p in article.paragraphs] == ["1", "1-1", "2"]
    assert article.paragraphs[0].text == "Целью является удобство жителей."
    # A reference to another article inside a sentence is not a heading.
    assert article.paragraphs[2].text == "Статья 5 настоящего Закона применяется к скверам."


def test_lead_text_and_round_bracket_items_form_paragraphs():
    article = split_draft(RU_DRAFT).articles[0]
    assert [p.number for p in article.paragraphs] == ["", "1", "2"]
    assert article.paragraphs[0].text == "В настоящем Законе используются следующие понятия:"
    assert article.paragraphs[2].text == "двор – территория у дома."


def test_sub_items_stay_inside_dot_paragraphs():
    text = "Статья 3. Права\n1. Жители вправе:\n1) предлагать;\n2) возражать.\n2. Иное.\n"
    article = split_draft(text).articles[0]
    assert [p.number for p in article.paragraphs] == ["1", "2"]
    assert article.paragraphs[0].text == "Жители вправе:\n1) предлагать;\n2) возражать."


def test_article_without_numbered_paragraphs_has_one_unnumbered_paragraph():
    article = split_draft(RU_DRAFT).articles[2]
    assert [(p.number, p.text) for p in article.paragraphs] == [("", "Текст без пунктов.")]
    assert article.text == "Текст без пунктов."


def test_kazakh_headings_with_inserted_numbers():
    text = (
        "1-тарау. Жалпы ережелер\n1-бап. Негізгі ұғымдар\n1. Мәтін.\n"
        "5-1-бап. Қоғамдық тыңдау\nМәтін.\n"
    )
    result = split_draft(text)
    assert [(a.number, a.title) for a in result.articles] == [
        ("1", "Негізгі ұғымдар"),
        ("5-1", "Қоғамдық тыңдау"),
    ]
    assert result.articles[0].chapter == "1-тарау. Жалпы ережелер"
    assert result.preamble == ""


def test_english_and_markdown_headings():
    text = (
        "# Draft law on parks\n\nIntro.\n\n## Article 1 Scope\n1. Applies to parks.\n\n"
        "### **Article 12-1.** Hearings\n1) First.\n2) Second.\n"
    )
    result = split_draft(text)
    assert [(a.number, a.title) for a in result.articles] == [("1", "Scope"), ("12-1", "Hearings")]
    assert result.preamble == "# Draft law on parks\n\nIntro."
    assert [p.number for p in result.articles[1].paragraphs] == ["1", "2"]


def test_plain_line_needs_punctuation_to_be_a_heading():
    text = "Статья 1.\nСтатья 2 настоящего Закона не применяется.\n"
    result = split_draft(text)
    assert [a.number for a in result.articles] == ["1"]
    assert result.articles[0].text == "Статья 2 настоящего Закона не применяется."


def test_quoted_article_in_amending_law_is_not_a_heading():
    text = "Статья 1.\nСтатью 3 изложить в редакции:\n«Статья 3. Новое\nТекст.»\n"
    result = split_draft(text)
    assert [a.number for a in result.articles] == ["1"]
    assert "«Статья 3. Новое" in result.articles[0].text


def test_crlf_bom_and_blank_lines_are_handled():
    text = "\ufeffПреамбула\r\n\r\n\r\nСтатья 1. Тема\r\n\r\n1. Первый.\r\n\r\n\r\n2. Второй.\r\n"
    result = split_draft(text)
    assert result.preamble == "Преамбула"
    article = result.articles[0]
    assert article.title == "Тема"
    assert [(p.number, p.text) for p in article.paragraphs] == [("1", "Первый."), ("2", "Второй.")]
    assert "\r" not in article.text
    assert article.text == "1. Первый.\n\n2. Второй."


def test_uppercase_heading_is_recognised():
    assert split_draft("СТАТЬЯ 7. ТЕМА\nТекст.").articles[0].number == "7"


def test_duplicate_article_numbers_give_a_warning():
    result = split_draft("Статья 1. А\nТекст.\nСтатья 1. Б\nТекст.")
    assert len(result.articles) == 2
    assert result.warnings == ["Article 1 appears more than once; check the split."]


@pytest.mark.parametrize("text", ["", "   \n\n", "Просто текст.\n1. Пункт без статьи."])
def test_file_without_articles_raises_clear_error(text):
    with pytest.raises(SplitError, match="No article headings were found"):
        split_draft(text)


def test_decode_upload_accepts_bom_and_rejects_invalid_utf8():
    assert decode_upload("\ufeffСтатья 1.".encode()) == "Статья 1."
    with pytest.raises(SplitError, match="not valid UTF-8"):
        decode_upload(b"\xd0\x9f\xff\xfe")


_words = st.text(alphabet="абвгдеж ", min_size=1, max_size=20).map(str.strip).filter(bool)


@settings(deadline=None, max_examples=60)
@given(st.lists(st.lists(_words, min_size=0, max_size=4), min_size=1, max_size=6))
def test_every_article_found_and_every_body_line_kept(bodies):
    lines = []
    for index, body in enumerate(bodies, start=1):
        lines.append(f"Статья {index}. Заголовок {index}")
        lines.extend(f"{n}. {words}" for n, words in enumerate(body, start=1))
    result = split_draft("\n".join(lines))
    assert [a.number for a in result.articles] == [str(i) for i in range(1, len(bodies) + 1)]
    for article, body in zip(result.articles, bodies, strict=True):
        assert [p.text for p in article.paragraphs] == body
        assert [p.number for p in article.paragraphs] == [str(n) for n in range(1, len(body) + 1)]
