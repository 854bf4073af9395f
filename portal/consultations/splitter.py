"""Split the text of a draft law into numbered articles and paragraphs.

Staff import a draft from a plain-text or Markdown file. This module finds the article headings
("Статья 1.", "1-бап.", "Article 1", also inside Markdown headings or bold) and, inside each
article, the numbered paragraphs ("1.", "1)"). Numbers are kept as written: real laws contain
inserted articles such as "Статья 5-1" or "12-1-бап", so a number is a string, not an int.

Rules, in the order they matter:

- Text before the first article is the preamble.
- A plain-text heading must have its number followed by ".", ":", a dash or the end of the line,
  so that a sentence such as "Статья 5 настоящего Закона ..." is not taken for a heading.
  A Markdown heading ("## Статья 5 Title") needs no punctuation.
- Chapter and section headings ("Глава 2.", "3-тарау", "Chapter 1", "Раздел", "бөлім", "Part")
  end the current article and are recorded as the `chapter` of the articles after them; they
  are not part of any article's text.
- Inside an article, the first numbering style met ("1." or "1)") marks paragraphs; lines in the
  other style stay inside the current paragraph (in Kazakhstan's laws "1)" are sub-items of a
  "1." paragraph). Text before the first numbered paragraph, or an article without numbered
  paragraphs, becomes a paragraph with number "" so every line of an article belongs to
  exactly one paragraph.
- Lines starting with a quote («Статья 3. ...») are quotations, e.g. in amending laws, and never
  headings.
- The language of a text is read from its first article heading: "1-бап" Kazakh, "Статья 1"
  Russian, "Article 1" English. A draft in both state languages is split with `split_pair`,
  which also checks that both texts have the same articles and paragraphs, since a comment
  on an article must mean the same article whichever text the reader read.

This module is pure: no Flask, no database. The caller shows the result to staff for correction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "Article",
    "Paragraph",
    "SplitError",
    "SplitResult",
    "decode_upload",
    "split_draft",
    "split_pair",
]

# "5", "5-1", "12-1-2": the numbering of inserted articles and paragraphs.
_NUMBER = r"\d+(?:-\d+)*"
# After the number of a plain-text heading: ".", ":", a dash, or nothing but the line end.
_HEADING_TAIL = r"(?:\s*[.:]|\s+[-–—]|\s*$)"

_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
# Emphasis around a heading: "**Статья 1.** Title" or "__1-бап.__".
_EMPHASIS = re.compile(r"[*_]{1,3}")

_ARTICLE_RU_EN = re.compile(
    rf"^(?:статья|article|art\.)\s+({_NUMBER})(?P<tail>{_HEADING_TAIL})?", re.I
)
_ARTICLE_KK = re.compile(rf"^({_NUMBER})-бап(?P<tail>{_HEADING_TAIL})?", re.I)
_CHAPTER = re.compile(
    rf"^(?:(?:глава|раздел|chapter|section|part)\s+(?:{_NUMBER}|[IVXLC]+)"
    rf"|(?:{_NUMBER})-(?:тарау|бөлім))(?P<tail>{_HEADING_TAIL})?",
    re.I,
)
_PARAGRAPH = re.compile(rf"^({_NUMBER})([.)])(?:\s+(.*))?$")


class SplitError(ValueError):
    """The file cannot be split into articles; the message says why, for the staff member."""

    def __init__(self, message: str, code: str = "no_articles", **details):
        super().__init__(message)
        self.code = code
        self.details = details


@dataclass
class Paragraph:
    """A numbered paragraph ("пункт") of an article; number "" for unnumbered text."""

    number: str
    text: str


@dataclass
class Article:
    """An article of a draft with its paragraphs; `text` is the whole body without the heading."""

    number: str
    title: str
    paragraphs: list[Paragraph]
    text: str
    chapter: str = ""


@dataclass
class SplitResult:
    """The preamble, the articles in file order, and warnings to show staff before publishing."""

    preamble: str
    articles: list[Article]
    warnings: list[str] = field(default_factory=list)
    language: str = ""  # "kk", "ru" or "en", from the first article heading


def decode_upload(data: bytes) -> str:
    """Decode an uploaded file as UTF-8 (a BOM is allowed), or raise SplitError."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SplitError(
            f"The file is not valid UTF-8 text (bad byte at position {exc.start}). "
            "Save it as UTF-8 and upload it again.",
            "not_utf8",
        ) from None


def split_draft(text: str) -> SplitResult:
    """Split a draft into preamble and articles; raise SplitError if it has no article."""
    lines = _clean_lines(text)
    preamble: list[str] = []
    articles: list[Article] = []
    body: list[str] | None = None  # lines of the article being read; None between articles
    chapter = language = ""
    for line in lines:
        heading = _heading_text(line)
        article = _match_article(line, heading)
        if article is not None:
            _finish_article(articles, body)
            language = language or article[2]
            articles.append(Article(article[0], article[1], [], "", chapter))
            body = []
        elif _is_heading(line, _CHAPTER.match(heading)):
            # A chapter heading is structure: it ends the article and is nobody's text.
            _finish_article(articles, body)
            body, chapter = None, heading
        elif body is not None:
            body.append(line)
        elif articles or chapter:
            # A chapter title continued on the next line(s).
            chapter = f"{chapter} {heading}".strip() if heading else chapter
        else:
            preamble.append(line)
    _finish_article(articles, body)
    if not articles:
        raise SplitError(
            "No article headings were found. Each article must start on its own line with "
            '"Статья 1.", "1-бап." or "Article 1" (a Markdown heading is fine).'
        )
    return SplitResult(_join(preamble), articles, _numbering_warnings(articles), language)


def split_pair(first: str, second: str) -> tuple[SplitResult, SplitResult]:
    """Split a draft's two texts (in Kazakh and Russian, either order) and check they match.

    Raises SplitError "same_language" when both are in one language (or a text's language is
    not a state language), "article_missing" when an article number is in one text only,
    "article_count" when one text has more articles (a repeated number), "article_order" when
    both have the same numbers in another order, and "paragraphs_differ" when an article's
    numbered paragraphs differ; the details name the article.
    """
    results = (split_draft(first), split_draft(second))
    languages = {result.language for result in results}
    if languages != {"kk", "ru"}:
        raise SplitError(
            'The two texts must be one in Kazakh (articles headed "1-бап") and one in '
            'Russian ("Статья 1").',
            "same_language",
        )
    check_same_articles(*results)
    return results


def check_same_articles(first: SplitResult, second: SplitResult) -> None:
    """Raise SplitError naming the first article that differs between the two texts."""
    numbers = [[a.number for a in result.articles] for result in (first, second)]
    for this, other, result, missing in (
        (numbers[0], numbers[1], first, second),
        (numbers[1], numbers[0], second, first),
    ):
        for number in this:
            if number not in other:
                raise SplitError(
                    f"Article {number} is in the {_NAMES[result.language]} text but not in "
                    f"the {_NAMES[missing.language]} text.",
                    "article_missing",
                    number=number,
                    present=result.language,
                    missing=missing.language,
                )
    if len(first.articles) != len(second.articles):
        # Same numbers but one text repeats one: name the article after the common part.
        longer, shorter = (
            (first, second) if len(first.articles) > len(second.articles) else (second, first)
        )
        number = longer.articles[len(shorter.articles)].number
        raise SplitError(
            f"The {_NAMES[longer.language]} text has {len(longer.articles)} articles, the "
            f"{_NAMES[shorter.language]} text {len(shorter.articles)}: check article {number}.",
            "article_count",
            number=number,
            present=longer.language,
            missing=shorter.language,
        )
    for position, (a, b) in enumerate(zip(first.articles, second.articles), start=1):
        if a.number != b.number:
            raise SplitError(
                f"Article no. {position} is article {a.number} in the "
                f"{_NAMES[first.language]} text and article {b.number} in the "
                f"{_NAMES[second.language]} text.",
                "article_order",
                position=position,
                first=a.number,
                second=b.number,
                first_language=first.language,
                second_language=second.language,
            )
        if [p.number for p in a.paragraphs] != [p.number for p in b.paragraphs]:
            raise SplitError(
                f"Article {a.number} has different numbered paragraphs in the two texts "
                f"({_paragraph_list(a)} and {_paragraph_list(b)}).",
                "paragraphs_differ",
                number=a.number,
                first=_paragraph_list(a),
                second=_paragraph_list(b),
            )


_NAMES = {"kk": "Kazakh", "ru": "Russian", "en": "English"}


def _paragraph_list(article: Article) -> str:
    return ", ".join(p.number or "—" for p in article.paragraphs) or "—"


def _clean_lines(text: str) -> list[str]:
    """Drop a BOM, normalise CRLF/CR line ends and trailing spaces."""
    text = text.removeprefix("\ufeff")
    return [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]


def _heading_text(line: str) -> str:
    """The line without Markdown heading marks and emphasis, for matching headings."""
    match = _MARKDOWN_HEADING.match(line)
    inner = match.group(1) if match else line
    return _EMPHASIS.sub("", inner).strip()


def _is_heading(line: str, match: re.Match[str] | None) -> bool:
    """A Markdown heading counts as is; a plain line needs punctuation after the number."""
    if match is None:
        return False
    return bool(_MARKDOWN_HEADING.match(line)) or match.group("tail") is not None


def _match_article(line: str, heading: str) -> tuple[str, str, str] | None:
    """Return (number, title, language) when the line is an article heading."""
    if line.lstrip().startswith(("«", '"', "“", "„", "'")):
        return None  # a quoted article inside an amending law
    for pattern in (_ARTICLE_RU_EN, _ARTICLE_KK):
        match = pattern.match(heading)
        if _is_heading(line, match):
            title = heading[match.end() :].strip(" .:-–—")
            if pattern is _ARTICLE_KK:
                language = "kk"
            else:
                language = "ru" if heading[:1].lower() == "с" else "en"
            return match.group(1), title, language
    return None


def _finish_article(articles: list[Article], body: list[str] | None) -> None:
    """Store the collected body lines in the last article (None: already stored)."""
    if body is None or not articles:
        return
    article = articles[-1]
    article.text = _join(body)
    article.paragraphs = _split_paragraphs(body)


def _split_paragraphs(body: list[str]) -> list[Paragraph]:
    """Group body lines into paragraphs by the article's first numbering style."""
    style = _first_style(body)
    paragraphs: list[Paragraph] = []
    number, current = "", []
    for line in body:
        match = _PARAGRAPH.match(line.strip())
        if match and match.group(2) == style:
            _append_paragraph(paragraphs, number, current)
            number, current = match.group(1), [match.group(3) or ""]
        else:
            current.append(line)
    _append_paragraph(paragraphs, number, current)
    return paragraphs


def _first_style(body: list[str]) -> str | None:
    """ "." or ")" — whichever numbering comes first in the article."""
    for line in body:
        match = _PARAGRAPH.match(line.strip())
        if match:
            return match.group(2)
    return None


def _append_paragraph(paragraphs: list[Paragraph], number: str, lines: list[str]) -> None:
    text = _join(lines)
    if text or number:
        paragraphs.append(Paragraph(number, text))


def _join(lines: list[str]) -> str:
    """Join lines, dropping blank lines at both ends and collapsing runs of blank lines."""
    kept: list[str] = []
    for line in lines:
        if line.strip() or (kept and kept[-1]):
            kept.append(line if line.strip() else "")
    return "\n".join(kept).strip("\n")


def _numbering_warnings(articles: list[Article]) -> list[str]:
    """Duplicate article numbers usually mean a quoted article was split off by mistake."""
    seen: set[str] = set()
    warnings = []
    for article in articles:
        if article.number in seen:
            warnings.append(f"Article {article.number} appears more than once; check the split.")
        seen.add(article.number)
    return warnings
