"""The public ballot ledger and verification data under /api/v1/ (read-only, no personal data).

    GET /api/v1/cycles/<id>/ledger                  size, root, algorithm, frozen
    GET /api/v1/cycles/<id>/ledger/proof?receipt=C  the ballot's leaf and its audit path
    GET /api/v1/cycles/<id>/ledger/leaves           every leaf's data (after voting closes)
    GET /api/v1/cycles/<id>/verification            rules, costs and every published result

An observer recomputes the root from the leaves, checks proofs and results with the
stand-alone verifier (static/verify/tynda_verify.py) and needs nothing from us but these.
"""

import json

from flask import Blueprint, Response, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from portal.budgeting import domain, integrity, ledger
from portal.budgeting.models import Ballot, BudgetCycle, CycleResult
from portal.extensions import db

bp = Blueprint("budgeting_api", __name__, url_prefix="/api/v1")


@bp.after_request
def _headers(response):
    response.headers.setdefault("Cache-Control", "public, max-age=30")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _missing(message):
    error = NotFound()
    error.user_message = message
    raise error


def _cycle(cycle_id):
    cycle = db.session.get(BudgetCycle, cycle_id)
    if cycle is None or cycle.phase() == "draft":
        _missing(_("There is no such budget cycle."))
    return cycle


def _stamp(value):
    return value.isoformat() + "Z" if value is not None else None


def head_json(cycle):
    size, root, frozen_at = integrity.head_of(db.session, cycle)
    closed = cycle.voting_closed()
    return {
        "cycle_id": cycle.id,
        "size": size,
        "root": root,
        "algorithm": ledger.ALGORITHM,
        "leaf": "SHA-256(0x00 || data), data = canonical JSON {ballot, choices, cycle, v}",
        "node": "SHA-256(0x01 || left || right)",
        "frozen": frozen_at is not None,
        "frozen_at": _stamp(frozen_at),
        "leaves_url": url_for("budgeting_api.leaves", cycle_id=cycle.id) if closed else None,
    }


@bp.route("/cycles/<int:cycle_id>/ledger")
def head(cycle_id):
    return jsonify(head_json(_cycle(cycle_id)))


@bp.route("/cycles/<int:cycle_id>/ledger/proof")
def proof(cycle_id):
    cycle = _cycle(cycle_id)
    code = domain.normalise_receipt(request.args.get("receipt", ""))
    ballot = None
    if code is not None:
        ballot = db.session.scalar(
            select(Ballot).where(Ballot.receipt == code, Ballot.cycle_id == cycle.id)
        )
    found = integrity.proof(db.session, cycle, ballot) if ballot is not None else None
    if found is None:
        _missing(_("No ballot in this cycle has that receipt code."))
    found["cycle_id"] = cycle.id
    return jsonify(found)


@bp.route("/cycles/<int:cycle_id>/ledger/leaves")
def leaves(cycle_id):
    """Every leaf, streamed; public only once voting has closed."""
    cycle = _cycle(cycle_id)
    if not cycle.voting_closed():
        _missing(_("The ballots are published when voting closes."))
    top = head_json(cycle)
    bind = db.session.get_bind()
    if isinstance(bind, Engine):
        bind = bind.execution_options(read_only=True)

    def generate():
        opening = {k: top[k] for k in ("cycle_id", "size", "root", "algorithm")}
        yield json.dumps(opening)[:-1] + ', "leaves": ['
        with Session(bind=bind) as session:
            for number, data in enumerate(integrity.leaves(session, cycle_id)):
                yield ("," if number else "") + json.dumps(data)
        yield "]}\n"

    response = Response(generate(), mimetype="application/json")
    response.headers["Content-Disposition"] = f'inline; filename="ledger-{cycle.id}.json"'
    return response


@bp.route("/cycles/<int:cycle_id>/verification")
def verification(cycle_id):
    """What the verifier needs besides the leaves: the rules and the published results."""
    cycle = _cycle(cycle_id)
    results = db.session.scalars(
        select(CycleResult)
        .where(CycleResult.cycle_id == cycle.id, CycleResult.published_at.is_not(None))
        .order_by(CycleResult.rule, CycleResult.version)
    ).all()
    return jsonify(
        {
            "cycle_id": cycle.id,
            "budget": cycle.budget,
            "ballot_rule": cycle.ballot_rule,
            "winner_rule": cycle.winner_rule,
            "min_votes": cycle.min_votes,
            "voting_closed": cycle.voting_closed(),
            "ledger": head_json(cycle),
            "results": [
                {
                    "rule": r.rule,
                    "version": r.version,
                    "reason": r.reason,
                    "published_at": _stamp(r.published_at),
                    "engine_rule": r.data.get("engine_rule"),
                    "min_votes": r.data.get("min_votes"),
                    "costs": r.data.get("costs"),
                    "votes": r.data.get("votes"),
                    "selected": r.data.get("selected"),
                    "total_cost": r.total_cost,
                    "ledger": r.data.get("ledger"),
                }
                for r in results
            ],
        }
    )
