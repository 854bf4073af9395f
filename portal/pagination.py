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
    """One page of an in-memory list, with the attributes templates' pager() reads.
    With `total`, `items` is already the page's rows (see paginate_concat)."""

    def __init__(self, items, page, per_page, total=None):
        self.total = len(items) if total is None else total
        self.per_page = per_page
        self.pages = max(1, -(-self.total // per_page))
        self.page = min(page, self.pages)
        start = (self.page - 1) * per_page
        self.items = items[start : start + per_page] if total is None else items
        self.has_prev = self.page > 1
        self.has_next = self.page < self.pages
        self.prev_num = self.page - 1 if self.has_prev else None
        self.next_num = self.page + 1 if self.has_next else None


def _page_number():
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        abort(400)
    return int(raw)


def paginate_concat(parts, per_page=None):
    """Paginate selects shown one after another, each in the order of an index: [(select,
    its row count)]. A page reads only its own rows from the one or two selects it spans; a
    single ORDER BY over them all would sort every row for every page."""
    per_page = per_page or current_app.config["PAGE_SIZE"]
    total = sum(count for _statement, count in parts)
    pages = max(1, -(-total // per_page))
    page = min(_page_number(), pages)
    offset, wanted, items = (page - 1) * per_page, per_page, []
    for statement, count in parts:
        if wanted and offset < count:
            rows = db.session.scalars(statement.offset(offset).limit(wanted)).all()
            items.extend(rows)
            wanted -= len(rows)
        offset = max(0, offset - count)
    return ListPage(items, page, per_page, total=total)


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
