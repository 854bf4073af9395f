"""One rule for text from outside: no NUL or other control characters.

Nobody types a control character; they arrive from scripts and break things downstream
(PostgreSQL refuses NUL in text with a DataError, terminals and CSV readers misbehave).
Multi-line text may keep tab, CR and LF. Flask-free: forms and services both use it.
"""

MULTILINE_ALLOWED = frozenset("\t\r\n")


def has_bad_characters(value, *, multiline=False):
    """True if `value` holds a C0/C1 control character (or DEL) not allowed here."""
    if not value:
        return False
    allowed = MULTILINE_ALLOWED if multiline else frozenset()
    for ch in value:
        code = ord(ch)
        if (code < 32 or 0x7F <= code <= 0x9F) and ch not in allowed:
            return True
    return False


def bad_field(*, single=None, multi=None):
    """The name of the first field whose text is not allowed, or None.

    single / multi: dicts of field name -> text (single-line / multi-line fields).
    """
    for name, value in (single or {}).items():
        if isinstance(value, str) and has_bad_characters(value):
            return name
    for name, value in (multi or {}).items():
        if isinstance(value, str) and has_bad_characters(value, multiline=True):
            return name
    return None


def clean_query_value(value):
    """A query-string value, or None if it holds control characters (treat as absent/bad)."""
    if value is None or has_bad_characters(value):
        return None
    return value
