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
