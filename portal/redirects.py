"""Where a `next` or language-switch redirect may go: a path on this site, nothing else.

Browsers drop tab, CR and LF inside URLs and read a backslash as a slash, so
"/\\tevil.example" or "/\\\\evil.example" would leave the site; CR/LF in a header is a 500.
"""

from urllib.parse import urlsplit

from portal.textcheck import has_bad_characters

MAX_LENGTH = 2000


def safe_local_path(target):
    """Return `target` if it is a plain path on this site, else None."""
    if not isinstance(target, str) or not target or len(target) > MAX_LENGTH:
        return None
    if has_bad_characters(target) or "\\" in target or not target.isprintable():
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
