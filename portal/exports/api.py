"""Read-only open-data API under /api/v1/: cycles, projects, results, drafts, articles,
published comments with their answers, and the summary table.

Everything here is public (the same answer for every caller, signed in or not), carries no
personal data (no authors, no voters, no IINs, names, phones or e-mails) and is described by
the OpenAPI 3.1 document at /api/v1/openapi.json (`portal.exports.openapi`). Lists are
paginated with `page` (1..1,000,000) and `per_page` (1..100), or with an opaque `cursor`
(keyset pagination: every page costs the same, however deep) taken from a previous answer's
`next_cursor`; `next` is the URL of the following page. Anything else is a 400 with a JSON
error, as is every error under /api/.
"""

import base64
import binascii
import json

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, joinedload
from werkzeug.exceptions import BadRequest, NotFound

from portal.accounts.models import utcnow
from portal.bilingual import STATE_LANGUAGES, in_state_language
from portal.budgeting import headings as budget_headings
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.models import BudgetCycle, CycleResult, Proposal
from portal.budgeting.publishing import published_result, ranking
from portal.consultations.models import Article, Comment, Draft
from portal.consultations.services import (
    article_counts,
    effective_status,
    published_on,
    summary_segments,
    summary_slice,
)
from portal.exports import openapi
from portal.exports import services as export_services
from portal.exports.services import plain_text
from portal.extensions import db
from portal.ratelimit import limit
from portal.regions.models import Region

bp = Blueprint("exports_api", __name__, url_prefix="/api/v1")
limit("RATELIMIT_API", methods=None)(bp)
MAX_PAGE = 1_000_000
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
# Results pages default to 100 projects: most cycles fit in one, as before paging.
RESULTS_PER_PAGE = 100


@bp.after_request
def _headers(response):
    if response.status_code < 400:
        response.headers.setdefault("Cache-Control", "public, max-age=60")
    else:
        response.headers["Cache-Control"] = "no-store"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _bad(message):
    error = BadRequest()
    error.user_message = message
    raise error


def _missing(message=None):
    error = NotFound()
    error.user_message = message or _("Not found.")
    raise error


def _int_arg(name, default, maximum):
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= maximum:
        _bad(
            _(
                "%(name)s must be a whole number from 1 to %(maximum)d.",
                name=name,
                maximum=maximum,
            )
        )
    return int(raw)


def _encode_cursor(values):
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(size):
    """The `cursor` argument decoded to `size` key values (ints, or None), or None if absent."""
    raw = request.args.get("cursor")
    if raw is None:
        return None
    if "page" in request.args:
        _bad(_("Use either page or cursor, not both."))
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error):
        values = None
    if (
        not isinstance(values, list)
        or len(values) != size
        or not all(v is None or (type(v) is int and abs(v) < 2**53) for v in values)
    ):
        _bad(_("cursor is not valid: use the next_cursor of a previous answer."))
    return values


def _links(last_key):
    """next_cursor and next (URL) after the item whose key is `last_key` (None: last page)."""
    if last_key is None:
        return {"next_cursor": None, "next": None}
    cursor = _encode_cursor(last_key)
    args = {k: v for k, v in request.args.items() if k != "page"}
    args.update(request.view_args or {})
    args["cursor"] = cursor
    return {"next_cursor": cursor, "next": url_for(request.endpoint, **args, _external=True)}


def _page(statement, serialise, key, total=None):
    """A page by `page`/`per_page` (OFFSET, with totals) or by `cursor` (keyset).

    key: (column, descending) -- a unique column the statement is ordered by.
    total: a callable giving the number of rows from counters, instead of counting them;
    then the page's rows are read by key (the statement's loader options are not kept).
    """
    column, descending = key
    per_page = _int_arg("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    after = _cursor(1)
    if after is not None:
        if after[0] is None:
            _bad(_("cursor is not valid: use the next_cursor of a previous answer."))
        condition = column < after[0] if descending else column > after[0]
        items = db.session.scalars(statement.where(condition).limit(per_page + 1)).all()
        more = len(items) > per_page
        items = items[:per_page]
        last = [getattr(items[-1], column.key)] if more else None
        return jsonify(
            {"items": [serialise(i) for i in items], "per_page": per_page, **_links(last)}
        )
    page = _int_arg("page", 1, MAX_PAGE)
    if total is None:
        result = db.paginate(statement, page=page, per_page=per_page, error_out=False, count=True)
        items, count, pages, more = result.items, result.total, result.pages, result.has_next
    else:
        count = total()
        # A deep OFFSET walks the skipped rows: skip them in the index (the keys only), then
        # read the page's rows alone by key.
        keys = statement.with_only_columns(column).limit(per_page).offset((page - 1) * per_page)
        entity = statement.column_descriptions[0]["entity"]
        order = column.desc() if descending else column
        items = db.session.scalars(select(entity).where(column.in_(keys)).order_by(order)).all()
        pages, more = -(-count // per_page), page * per_page < count
    last = [getattr(items[-1], column.key)] if more and items else None
    return jsonify(
        {
            "items": [serialise(item) for item in items],
            "page": page,
            "per_page": per_page,
            "total": count,
            "pages": pages,
            **_links(last),
        }
    )


def _stamp(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _titles(obj, field="title"):
    return {lang: getattr(obj, f"{field}_{lang}") or "" for lang in ("kk", "ru", "en")}


def _state_texts(obj, *fields, original=None):
    """<field>_kk / <field>_ru beside the original <field>: the text in that state language
    (the original too, when `original` says it is written in it), null where there is none."""
    return {
        f"{field}_{lang}": in_state_language(obj, field, lang, original)
        for field in fields
        for lang in STATE_LANGUAGES
    }


# ------------------------------------------------------------------ budget cycles
def _cycle_json(cycle):
    return {
        "id": cycle.id,
        "title": _titles(cycle),
        "region": cycle.region.code,
        "district": cycle.district.slug if cycle.district else None,
        "budget": cycle.budget,
        "cost_cap": cycle.cost_cap,
        "ballot_rule": cycle.ballot_rule,
        "max_choices": cycle.max_choices,
        "winner_rule": cycle.winner_rule,
        "phase": cycle.phase(),
        "proposals_open_at": _stamp(cycle.proposals_open_at),
        "review_open_at": _stamp(cycle.review_open_at),
        "voting_open_at": _stamp(cycle.voting_open_at),
        "voting_close_at": _stamp(cycle.voting_close_at),
        "results_published": published_result(db.session, cycle) is not None,
    }


def _cycle_or_404(cycle_id):
    cycle = db.session.get(BudgetCycle, cycle_id)
    if cycle is None or cycle.phase() == "draft":
        _missing(_("There is no such budget cycle."))
    return cycle


@bp.route("/cycles")
def cycles():
    statement = (
        select(BudgetCycle)
        .order_by(BudgetCycle.id.desc())
        .options(joinedload(BudgetCycle.region), joinedload(BudgetCycle.district))
    )
    region = request.args.get("region")
    if region:
        statement = statement.join(Region).where(Region.code == region[:8])
    # Cycles that have not started ("draft" phase) are not public yet.
    statement = statement.where(
        or_(
            and_(BudgetCycle.phase_override.is_(None), BudgetCycle.proposals_open_at <= utcnow()),
            and_(BudgetCycle.phase_override.is_not(None), BudgetCycle.phase_override != "draft"),
        )
    )
    return _page(statement, _cycle_json, (BudgetCycle.id, True))


@bp.route("/cycles/<int:cycle_id>")
def cycle(cycle_id):
    return jsonify(_cycle_json(_cycle_or_404(cycle_id)))


def _heading_or_404(cycle):
    """The heading named by ?heading= (an id), else the cycle's main heading."""
    try:
        return budget_headings.resolve(db.session, cycle, request.args.get("heading") or None)
    except BudgetRuleError:
        _missing(_("There is no such budget heading in this cycle."))


@bp.route("/cycles/<int:cycle_id>/headings")
def headings(cycle_id):
    """The cycle's budget headings (pots) with their rules, projects, ballots and outcome."""
    cycle = _cycle_or_404(cycle_id)
    closed = cycle.voting_closed()
    districts = {d.id: d.slug for d in cycle.region.districts}
    items = []
    for row, heading in zip(
        budget_headings.summary(db.session, cycle), budget_headings.headings_of(db.session, cycle)
    ):
        result = published_result(db.session, cycle, heading)
        items.append(
            {
                "id": row["id"],
                "name": row["name"],
                "district": districts.get(row["district_id"]),
                "budget": row["budget"],
                "cost_cap": row["cost_cap"],
                "ballot_rule": row["ballot_rule"],
                "max_choices": row["max_choices"],
                "min_votes": row["min_votes"],
                "winner_rule": row["winner_rule"],
                "projects": row["projects"],
                # Like vote counts, turnout stays hidden until voting closes.
                "ballots": row["ballots"] if closed else None,
                "results_published": result is not None,
                "total_cost": result.total_cost if result is not None else None,
            }
        )
    return jsonify({"cycle_id": cycle.id, "items": items})


@bp.route("/cycles/<int:cycle_id>/projects")
def projects(cycle_id):
    cycle = _cycle_or_404(cycle_id)
    # Each project's votes come from its own heading's published result.
    votes, selected, published = {}, set(), set()
    for heading in budget_headings.headings_of(db.session, cycle):
        result = published_result(db.session, cycle, heading)
        if result is not None:
            published.add(heading.id)
            votes.update(result.data.get("votes", {}))
            selected.update(result.data.get("selected", ()))

    def serialise(p):
        result = p.heading_id in published
        return {
            "id": p.id,
            "heading_id": p.heading_id,
            "title": p.title,
            "category": p.category,
            "district": p.district.slug if p.district else None,
            "estimated_cost": p.estimated_cost,
            "final_cost": p.final_cost,
            "status": p.status,
            "review_reason": p.review_reason,
            "votes": votes.get(str(p.id)) if result else None,
            "selected": (p.id in selected) if result else None,
            "funded": p.funded,
            "implementation_status": p.implementation_status,
            "progress": p.progress,
            "submitted_at": _stamp(p.created_at),
            **_state_texts(p, "title"),
        }

    statement = (
        select(Proposal)
        .where(Proposal.cycle_id == cycle.id)
        .order_by(Proposal.id)
        .options(joinedload(Proposal.district))
    )
    return _page(statement, serialise, (Proposal.id, False))


@bp.route("/cycles/<int:cycle_id>/results")
def results(cycle_id):
    cycle = _cycle_or_404(cycle_id)
    heading = _heading_or_404(cycle)
    result = published_result(db.session, cycle, heading)
    if result is None:
        _missing(_("The results of this cycle are not published yet."))
    # Ranked once per stored result and process (ranking's cache), not parsed and sorted
    # on every request (10,000 projects: most of this answer's time); slicing it is cheap
    # at any depth, so plain pages suffice.
    ranked, votes, selected, data = ranking(result)
    page = _int_arg("page", 1, MAX_PAGE)
    per_page = _int_arg("per_page", RESULTS_PER_PAGE, MAX_PER_PAGE)
    total = len(ranked)
    rows = [
        {
            "project_id": pid,
            "cost": data["costs"][str(pid)],
            "votes": votes.get(str(pid), 0),
            "selected": pid in selected,
        }
        for pid in ranked[(page - 1) * per_page : page * per_page]
    ]
    others = db.session.scalars(
        select(CycleResult.rule).where(
            CycleResult.cycle_id == cycle.id,
            CycleResult.heading_id == heading.id,
            CycleResult.published_at.is_not(None),
        )
    ).all()
    return jsonify(
        {
            "cycle_id": cycle.id,
            "heading": {"id": heading.id, "name": heading.name},
            "rule": result.rule,
            "published_rules": sorted(others),
            "budget": heading.budget,
            "total_cost": result.total_cost,
            "ballots": (data["turnout"] or {}).get("total", 0),
            "ballots_by_channel": (data["turnout"] or {}).get("channel", {}),
            "published_at": _stamp(result.published_at),
            "projects": rows,
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": -(-total // per_page),
            "next": url_for(
                "exports_api.results",
                cycle_id=cycle.id,
                heading=request.args.get("heading") or None,
                page=page + 1,
                per_page=per_page,
                _external=True,
            )
            if page * per_page < total
            else None,
        }
    )


@bp.route("/cycles/<int:cycle_id>/ballots.pb")
def ballots_pb(cycle_id):
    """The anonymised ballots as a pabulib .pb file, public once voting has closed."""
    cycle = _cycle_or_404(cycle_id)
    if not cycle.voting_closed():
        _missing(_("The ballots are published when voting closes."))
    bind = db.session.get_bind()
    if isinstance(bind, Engine):
        bind = bind.execution_options(read_only=True)

    def generate():
        with Session(bind=bind) as session:
            target = session.get(BudgetCycle, cycle_id)
            yield from export_services.build(session, "cycle", target, "pb", None)

    response = Response(generate(), mimetype="text/plain")
    response.headers["Content-Disposition"] = f'attachment; filename="tynda-cycle-{cycle_id}.pb"'
    return response


# ------------------------------------------------------------------ consultations
def _draft_json(draft):
    return {
        "id": draft.id,
        "title": _titles(draft),
        "summary": _titles(draft, "summary"),
        "agency": draft.agency,
        "kind": draft.kind,
        "region": draft.region.code if draft.region else None,
        "status": effective_status(draft),
        "period_start": _stamp(draft.period_start),
        "period_end": _stamp(draft.period_end),
        "answer_due": _stamp(draft.answer_due),
        "text_language": draft.text_language,
        "second_language": draft.second_language,
    }


def _draft_or_404(draft_id):
    draft = db.session.get(Draft, draft_id)
    if draft is None or draft.status == "draft":
        _missing(_("There is no such draft."))
    return draft


@bp.route("/drafts")
def drafts():
    statement = (
        select(Draft)
        .where(Draft.status != "draft")
        .order_by(Draft.id.desc())
        .options(joinedload(Draft.region))
    )
    return _page(statement, _draft_json, (Draft.id, True))


@bp.route("/drafts/<int:draft_id>")
def draft(draft_id):
    return jsonify(_draft_json(_draft_or_404(draft_id)))


@bp.route("/drafts/<int:draft_id>/articles")
def articles(draft_id):
    draft = _draft_or_404(draft_id)
    original = draft.text_language
    statement = select(Article).where(Article.draft_id == draft.id).order_by(Article.position)
    return _page(
        statement,
        lambda a: {
            "id": a.id,
            "position": a.position,
            "number": a.number,
            "title": a.title,
            "chapter": a.chapter,
            "text": a.text,
            **_state_texts(a, "title", "chapter", "text", original=original),
        },
        (Article.position, False),
    )


def _answer(comment):
    if comment.decision is None:
        return None
    return {
        "decision": comment.decision,
        "justification": comment.justification,
        "new_wording": comment.new_wording,
        "answered_at": _stamp(comment.answered_at),
    }


@bp.route("/drafts/<int:draft_id>/comments")
def comments(draft_id):
    draft = _draft_or_404(draft_id)
    statement = (
        select(Comment)
        .where(Comment.draft_id == draft.id, Comment.status == "published")
        .order_by(Comment.id)
    )
    article = request.args.get("article")
    articles = None
    if article is not None:
        if not article.isascii() or not article.isdigit() or len(article) > 10:
            _bad(_("article must be an article id."))
        statement = statement.where(Comment.article_id == int(article))
        articles = [int(article)] if int(article) else []  # the counters key "no article" 0

    def total():  # the published-comment counters (CommentCount), not a count of every row
        counts = article_counts(db.session, draft, articles)
        return sum(c["total"] for c in counts.values())

    return _page(
        statement,
        lambda c: {
            "id": c.id,
            "article_id": c.article_id,
            "stance": c.stance,
            "text": plain_text(c.text),
            "proposed_wording": c.proposed_wording,
            "campaign_id": c.campaign_id,
            "created_at": _stamp(c.created_at),
            "answer": _answer(c),
            "text_language": c.text_language,
        },
        (Comment.id, False),
        total,
    )


@bp.route("/drafts/<int:draft_id>/summary")
def summary(draft_id):
    draft = _draft_or_404(draft_id)

    def serialise(row):
        comment, number = row[0], row[1]
        return {
            "comment_id": comment.id,
            "article": number,
            "text": plain_text(comment.text),
            "stance": comment.stance,
            "decision": comment.decision,
            "justification": comment.justification,
            "new_wording": comment.new_wording,
            "answered_at": _stamp(comment.answered_at),
            "text_language": comment.text_language,
        }

    per_page = _int_arg("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    after = _cursor(2)
    if after is not None:
        rows, last = _summary_after(draft, after, per_page)
        return jsonify(
            {"items": [serialise(r) for r in rows], "per_page": per_page, **_links(last)}
        )
    page = _int_arg("page", 1, MAX_PAGE)
    # From the published-comment counters (CommentCount, kept by triggers), not a count of
    # every comment of the draft; they also say which articles the page falls in.
    counts = article_counts(db.session, draft)
    total = sum(c["total"] for c in counts.values())
    rows = [
        (comment, article.number if article else None, article.position if article else None)
        for comment, article in summary_slice(
            db.session, draft, counts, (page - 1) * per_page, per_page
        )
    ]
    last = None
    if rows and page * per_page < total:
        comment, _number, position = rows[-1]
        last = [position, comment.id]
    return jsonify(
        {
            "items": [serialise(r) for r in rows],
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": -(-total // per_page),
            **_links(last),
        }
    )


def _summary_after(draft, after, per_page):
    """Summary rows after the key (article position or None, comment id): one article at a
    time in article order, each read by the index on (draft, status, article, id)."""
    position, comment_id = after
    if comment_id is None:
        _bad(_("cursor is not valid: use the next_cursor of a previous answer."))
    segments = summary_segments(db.session, draft)
    if position is not None:
        segments = [s for s in segments if s[1] is not None and s[1] >= position]
    rows, more = [], False
    for article_id, article_position, number in segments:
        statement = published_on(draft, article_id)
        if article_position == position:
            statement = statement.where(Comment.id > comment_id)
        found = db.session.scalars(
            statement.order_by(Comment.article_id, Comment.id).limit(per_page + 1 - len(rows))
        ).all()
        rows.extend((c, number, article_position) for c in found)
        if len(rows) > per_page:
            more = True
            break
    rows = rows[:per_page]
    last = [rows[-1][2], rows[-1][0].id] if more else None
    return rows, last


@bp.route("/openapi.json", endpoint="openapi")
def openapi_document():
    # Never the request's Host header: a forged one would be served (and cached) to others.
    base = current_app.config.get("API_BASE_URL") or bp.url_prefix
    return jsonify(openapi.document(base.rstrip("/")))
