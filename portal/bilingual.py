"""Texts kept in the original and in Kazakh and Russian, shown in the reader's language.

Rows keep the text as first written in their plain columns (`title`, `text`) and the other
state language in nullable `<field>_kk` / `<field>_ru` columns, so rows written before both
languages existed read as before. Pure: no Flask, no database.
"""

STATE_LANGUAGES = ("kk", "ru")

# The switch to the other text is written in that text's language, whatever the interface's.
READ_IN = {"kk": "Қазақша оқу", "ru": "Читать на русском", "en": "Read in English"}


def in_language(obj, field, lang):
    """obj.<field>_<lang> when it has text, else the original obj.<field>."""
    return getattr(obj, f"{field}_{lang}", None) or getattr(obj, field)


def choose(available, asked, reader):
    """The language to show: the one asked for (the switch), else the reader's, else the first
    available (the original)."""
    for lang in (asked, reader):
        if lang in available:
            return lang
    return available[0] if available else reader


def in_state_language(obj, field, lang, original=None):
    """The text in `lang` only, for data exports: obj.<field>_<lang>, else the original
    obj.<field> when `original` (the language it was written in) is `lang`, else None --
    never another language's text in its place."""
    value = getattr(obj, f"{field}_{lang}", None)
    if value:
        return value
    return (getattr(obj, field) or None) if original == lang else None
