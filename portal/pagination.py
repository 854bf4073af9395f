"""Pagination of SQLAlchemy selects with bounded, validated page numbers."""

from flask import abort, current_app, request

from portal.extensions import db


def paginate(statement, per_page=None, page=None):
    """Paginate a select by the `page` query argument (or `page` given); a bad page is a 400."""
    raw = str(page or request.args.get("page", "1"))
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        abort(400)
    return db.paginate(
        statement,
        page=int(raw),
        per_page=per_page or current_app.config["PAGE_SIZE"],
        error_out=False,
        count=True,
    )


class ListPage:
    """One page of an in-memory list, with the attributes templates' pager() reads."""

    def __init__(self, items, page, per_page):
        self.total = len(items)
        self.per_page = per_page
        self.pages = max(1, -(-self.total // per_page))
        self.page = min(page, self.pages)
        start = (self.page - 1) * per_page
        self.items = items[start : start + per_page]
        self.has_prev = self.page > 1
        self.has_next = self.page < self.pages
        self.prev_num = self.page - 1 if self.has_prev else None
        self.next_num = self.page + 1 if self.has_next else None


def paginate_list(items, per_page=None):
    """Paginate a list (e.g. ids sorted from a stored result) by the `page` query argument."""
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        abort(400)
    return ListPage(items, int(raw), per_page or current_app.config["PAGE_SIZE"])


def paginate_counted(total, fetch, per_page=None):
    """Paginate `total` rows known in advance by the `page` query argument: `fetch(offset,
    limit)` reads only the page's items (no COUNT over the rows, no OFFSET scan if it reads
    by a stored position)."""
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        abort(400)
    per_page = per_page or current_app.config["PAGE_SIZE"]
    page = ListPage(range(total), int(raw), per_page)
    page.items = fetch((page.page - 1) * per_page, per_page)
    return page
