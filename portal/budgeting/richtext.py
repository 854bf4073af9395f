"""Rich text of proposals: sanitised with bleach against an allow-list. No Flask here.

Only simple formatting survives; links keep http(s) and mailto targets only, and every link
gets rel="nofollow noopener" so a proposal cannot lend our domain's reputation to spam.
"""

import bleach
from bleach.linkifier import LinkifyFilter

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "a", "blockquote", "h3", "h4"}
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https"})
MAX_LENGTH = 20_000


def _nofollow(attrs, new=False):
    attrs[(None, "rel")] = "nofollow noopener noreferrer"
    return attrs


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[lambda source: LinkifyFilter(source, callbacks=[_nofollow], parse_email=False)],
)


def sanitise(html):
    """Clean user HTML: allowed tags stay, everything else is stripped (text kept)."""
    text = (html or "").replace("\x00", "")
    if "<" not in text:
        # Plain text: keep the author's paragraphs.
        paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
        text = "".join(
            "<p>" + bleach.clean(p, tags=set(), strip=True).replace("\n", "<br>") + "</p>"
            for p in paragraphs
        )
    return _cleaner.clean(text).strip()


def plain_text(html):
    """The text of sanitised HTML without tags (for search and excerpts)."""
    return bleach.clean(html or "", tags=set(), strip=True)
