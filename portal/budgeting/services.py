"""Budgeting services. Each takes the session and the acting user, only flushes, never commits.

No Flask imports: views, CLI commands, demo loader and tests call these the same way.
Refusals raise BudgetError with a stable code the views translate.
"""

import secrets
from collections import Counter
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from portal.accounts.models import User, utcnow
from portal.budgeting import domain, richtext
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.models import (
    Ballot,
    BallotChoice,
    BudgetCycle,
    CycleResult,
    ImplementationUpdate,
    Notification,
    PhaseChange,
    Proposal,
    ProposalEvent,
    ProposalPhoto,
)
from portal.budgeting.winners import compute_winners

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 5
PHOTO_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


class BudgetError(BudgetRuleError):
    """A refused budgeting action (the same shape as the pure rule errors)."""


# ------------------------------------------------------------------ permissions
def _require_staff(actor, region_id):
    if actor is None or not actor.works_for(region_id) or actor.role == "moderator":
        raise BudgetError("forbidden")


def _require_phase(cycle, now, *phases):
    phase = cycle.phase(now)
    if phase not in phases:
        raise BudgetError("wrong_phase", phase=phase, needed=phases[0])
    return phase


def may_take_part(user, cycle):
    """Verified residents of the cycle's region (and district, if the cycle has one)."""
    if user is None or not user.is_verified_in(cycle.region_id):
        return False
    return cycle.district_id is None or user.district_id == cycle.district_id


# ------------------------------------------------------------------ cycles
CYCLE_FIELDS = (
    "title_kk",
    "title_ru",
    "title_en",
    "summary_kk",
    "summary_ru",
    "summary_en",
    "district_id",
    "budget",
    "cost_cap",
    "min_votes",
    "ballot_rule",
    "max_choices",
    "winner_rule",
    "ballots_final",
    "proposals_open_at",
    "review_open_at",
    "voting_open_at",
    "voting_close_at",
    "implementation_at",
)


def create_cycle(session, actor, region, **values):
    """Create a cycle; the dates are naive UTC (the form converts from local time)."""
    _require_staff(actor, region.id)
    cycle = BudgetCycle(region_id=region.id, created_by_id=actor.id)
    _apply_cycle(session, cycle, region, values)
    session.add(cycle)
    session.flush()
    return cycle


def update_cycle(session, actor, cycle, **values):
    _require_staff(actor, cycle.region_id)
    _apply_cycle(session, cycle, cycle.region, values)
    session.flush()
    return cycle


def _apply_cycle(session, cycle, region, values):
    unknown = set(values) - set(CYCLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown cycle fields: {sorted(unknown)}")
    for name, value in values.items():
        setattr(cycle, name, value)
    if not all((cycle.title_kk, cycle.title_ru, cycle.title_en)):
        raise BudgetError("titles_required")
    cycle.budget = domain.parse_tenge(cycle.budget)
    if cycle.cost_cap is not None:
        cycle.cost_cap = domain.parse_tenge(cycle.cost_cap)
        if cycle.cost_cap > cycle.budget:
            raise BudgetError("cap_over_budget")
    if cycle.ballot_rule not in domain.BALLOT_RULES:
        raise BudgetError("rule_unknown")
    if cycle.winner_rule not in domain.WINNER_RULES:
        raise BudgetError("rule_unknown")
    if cycle.ballot_rule == "k_approval":
        if not cycle.max_choices or cycle.max_choices < 1:
            raise BudgetError("k_required")
    else:
        cycle.max_choices = None
    if cycle.min_votes is not None and cycle.min_votes < 0:
        raise BudgetError("min_votes")
    if cycle.district_id is not None and cycle.district_id not in {d.id for d in region.districts}:
        raise BudgetError("district_region")
    for field_name in ("summary_kk", "summary_ru", "summary_en"):
        setattr(cycle, field_name, getattr(cycle, field_name) or "")
    if None in (
        cycle.proposals_open_at,
        cycle.review_open_at,
        cycle.voting_open_at,
        cycle.voting_close_at,
    ):
        raise BudgetError("dates_required")
    if cycle.schedule.problems():
        raise BudgetError("dates_order", phase=cycle.schedule.problems()[0])


def move_phase(session, actor, cycle, to_phase, now=None):
    """Set the phase by hand (to_phase=None: follow the dates again); the move is recorded."""
    _require_staff(actor, cycle.region_id)
    if to_phase is not None and to_phase not in domain.PHASES:
        raise BudgetError("phase_unknown")
    now = now or utcnow()
    before = cycle.phase(now)
    cycle.phase_override = to_phase
    session.add(
        PhaseChange(
            cycle_id=cycle.id, from_phase=before, to_phase=to_phase, actor_id=actor.id, at=now
        )
    )
    session.flush()
    return cycle


# ------------------------------------------------------------------ proposals
def _event(session, proposal, actor, kind, note=None, now=None):
    session.add(
        ProposalEvent(
            proposal_id=proposal.id,
            actor_id=actor.id if actor else None,
            kind=kind,
            note=note,
            at=now or utcnow(),
        )
    )


def _check_proposal_values(session, cycle, values):
    title = (values.get("title") or "").strip()
    if not title:
        raise BudgetError("title_required")
    if len(title) > 200:
        raise BudgetError("title_long")
    raw = values.get("description") or ""
    if len(raw) > richtext.MAX_LENGTH:
        raise BudgetError("description_long")
    html = richtext.sanitise(raw)
    if not richtext.plain_text(html).strip():
        raise BudgetError("description_required")
    if values.get("category") not in domain.CATEGORIES:
        raise BudgetError("category_unknown")
    district_id = values.get("district_id") or None
    if district_id is not None:
        allowed = {d.id for d in cycle.region.districts}
        if district_id not in allowed or (cycle.district_id and district_id != cycle.district_id):
            raise BudgetError("district_region")
    cost = domain.parse_tenge(values.get("estimated_cost"), cap=cycle.cost_cap)
    return {
        "title": title,
        "description_html": html,
        "category": values["category"],
        "district_id": district_id or cycle.district_id,
        "address": (values.get("address") or "").strip()[:300],
        "estimated_cost": cost,
    }


def submit_proposal(session, actor, cycle, now=None, **values):
    """A verified resident proposes a project during the proposals phase."""
    now = now or utcnow()
    _require_phase(cycle, now, "proposals")
    if not may_take_part(actor, cycle):
        raise BudgetError("not_resident")
    clean = _check_proposal_values(session, cycle, values)
    proposal = Proposal(
        cycle_id=cycle.id, author_id=actor.id, created_at=now, updated_at=now, **clean
    )
    session.add(proposal)
    session.flush()
    _event(session, proposal, actor, "submitted", now=now)
    session.flush()
    return proposal


def edit_proposal(session, actor, proposal, now=None, **values):
    now = now or utcnow()
    if proposal.author_id != actor.id:
        raise BudgetError("forbidden")
    _require_phase(proposal.cycle, now, "proposals")
    if proposal.status != "submitted":
        raise BudgetError("not_editable")
    for name, value in _check_proposal_values(session, proposal.cycle, values).items():
        setattr(proposal, name, value)
    proposal.updated_at = now
    _event(session, proposal, actor, "edited", now=now)
    session.flush()
    return proposal


def withdraw_proposal(session, actor, proposal, now=None):
    now = now or utcnow()
    if proposal.author_id != actor.id:
        raise BudgetError("forbidden")
    _require_phase(proposal.cycle, now, "proposals")
    if proposal.status != "submitted":
        raise BudgetError("not_editable")
    proposal.status = "withdrawn"
    proposal.updated_at = now
    _event(session, proposal, actor, "withdrawn", now=now)
    session.flush()
    return proposal


def sniff_image(data):
    """The content type of JPEG/PNG/WebP bytes by their signature, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def add_photo(session, actor, proposal, data, upload_dir, update=None):
    """Store an image under upload_dir with a random name; type and size are checked."""
    if update is None and proposal.author_id != actor.id:
        raise BudgetError("forbidden")
    if len(data) > MAX_PHOTO_BYTES:
        raise BudgetError("photo_large", megabytes=MAX_PHOTO_BYTES // (1024 * 1024))
    if not data:
        raise BudgetError("photo_type")
    content_type = sniff_image(data)
    if content_type is None:
        raise BudgetError("photo_type")
    count = session.scalar(
        select(func.count()).where(
            ProposalPhoto.proposal_id == proposal.id, ProposalPhoto.update_id.is_(None)
        )
    )
    if update is None and count >= MAX_PHOTOS:
        raise BudgetError("photo_count", maximum=MAX_PHOTOS)
    name = f"{secrets.token_hex(16)}.{PHOTO_TYPES[content_type]}"
    directory = Path(upload_dir)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)
    photo = ProposalPhoto(
        proposal_id=proposal.id,
        update_id=update.id if update else None,
        filename=name,
        content_type=content_type,
        size=len(data),
    )
    session.add(photo)
    session.flush()
    return photo


# ------------------------------------------------------------------ review
def review_proposal(session, actor, proposal, *, feasible, reason="", final_cost=None, now=None):
    """Staff decide feasibility; an infeasible verdict needs a written (public) reason."""
    now = now or utcnow()
    cycle = proposal.cycle
    _require_staff(actor, cycle.region_id)
    _require_phase(cycle, now, "proposals", "review")
    if proposal.status == "withdrawn":
        raise BudgetError("withdrawn")
    reason = (reason or "").strip()
    if feasible:
        if final_cost not in (None, ""):
            proposal.final_cost = domain.parse_tenge(final_cost, cap=cycle.cost_cap)
        elif cycle.cost_cap is not None and proposal.estimated_cost > cycle.cost_cap:
            raise BudgetError("cost_over_cap", cap=cycle.cost_cap)
        proposal.status = "feasible"
    else:
        if not reason:
            raise BudgetError("reason_required")
        proposal.status = "infeasible"
    proposal.review_reason = reason or None
    proposal.reviewed_by_id = actor.id
    proposal.reviewed_at = now
    proposal.updated_at = now
    _event(session, proposal, actor, proposal.status, note=reason or None, now=now)
    if proposal.author_id is not None:  # imported projects have no author to tell
        session.add(
            Notification(user_id=proposal.author_id, proposal_id=proposal.id, kind=proposal.status)
        )
    session.flush()
    return proposal


# ------------------------------------------------------------------ voting
def ballot_query(cycle):
    """The feasible projects on the ballot as a select, by category then id (index order)."""
    return (
        select(Proposal)
        .where(Proposal.cycle_id == cycle.id, Proposal.status == "feasible")
        .order_by(Proposal.category, Proposal.id)
    )


def chosen_projects(session, cycle, ids):
    """The feasible projects of the cycle among `ids` (a ballot's worth), in ballot order."""
    if not ids:
        return []
    return session.scalars(ballot_query(cycle).where(Proposal.id.in_(sorted(set(ids))))).all()


def ballot_projects(session, cycle):
    """The feasible projects on the ballot, cheapest first within categories."""
    return session.scalars(
        select(Proposal)
        .where(Proposal.cycle_id == cycle.id, Proposal.status == "feasible")
        .order_by(Proposal.category, Proposal.id)
    ).all()


def chosen_costs(session, cycle, ids):
    """id -> ballot cost of those of `ids` that are feasible projects of the cycle.

    One query whose work grows with the ballot, not with the cycle: a POST choosing three
    projects out of 10,000 reads three rows. An id missing from the answer is 'unknown'.
    """
    ids = sorted(set(ids))
    costs = {}
    # Chunks keep a huge (hostile) POST under the databases' bound-parameter limits.
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Proposal.id, func.coalesce(Proposal.final_cost, Proposal.estimated_cost)).where(
                Proposal.cycle_id == cycle.id,
                Proposal.status == "feasible",
                Proposal.id.in_(ids[start : start + 500]),
            )
        )
        costs.update(rows.tuples().all())
    return costs


def ballot_of(session, cycle, voter):
    return session.scalar(
        select(Ballot).where(Ballot.cycle_id == cycle.id, Ballot.voter_id == voter.id)
    )


def _parse_choices(raw):
    """Submitted ids -> ints; anything that is not a plain positive integer is 'unknown'."""
    ids = []
    for value in raw:
        text = str(value).strip()
        if not text.isascii() or not text.isdigit() or len(text) > 12:
            raise BudgetError("unknown")
        ids.append(int(text))
    return ids


def cast_ballot(session, actor, cycle, choices, *, secret, now=None, voter=None, channel="online"):
    """Store or replace a ballot atomically; returns the Ballot.

    Online: actor is the voter. Paper: actor is staff of the region and `voter` the resident
    identified at the desk. The voter's account row is locked first (SELECT … FOR UPDATE on
    PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), so parallel submissions
    for one voter run one after another and see each other's ballot; the unique constraint
    (cycle, voter) still stops a second row if anything slips past.
    """
    now = now or utcnow()
    if channel == "paper":
        _require_staff(actor, cycle.region_id)
        if voter is None:
            raise BudgetError("voter_unknown")
    elif channel == "online":
        voter = actor
    else:
        raise BudgetError("channel_unknown")
    _require_phase(cycle, now, "voting")
    if not may_take_part(voter, cycle):
        raise BudgetError("not_resident")
    ids = _parse_choices(choices)
    chosen = domain.validate_ballot(cycle.rule, ids, chosen_costs(session, cycle, ids))

    session.execute(select(User.id).where(User.id == voter.id).with_for_update())
    ballot = session.scalar(
        select(Ballot)
        .where(Ballot.cycle_id == cycle.id, Ballot.voter_id == voter.id)
        .execution_options(populate_existing=True)
    )
    if ballot is not None:
        if ballot.channel != channel:
            raise BudgetError("other_channel", channel=ballot.channel)
        if cycle.ballots_final or channel == "paper":
            raise BudgetError("already_voted")
        session.execute(delete(BallotChoice).where(BallotChoice.ballot_id == ballot.id))
        session.expire(ballot, ["choices"])
        ballot.updated_at = now
    else:
        ballot = Ballot(
            cycle_id=cycle.id,
            voter_id=voter.id,
            channel=channel,
            entered_by_id=actor.id if channel == "paper" else None,
            district_id=voter.district_id,
            receipt="",
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(ballot)
                session.flush()
        except IntegrityError:
            raise BudgetError("already_voted") from None
    for pid in chosen:
        session.add(BallotChoice(ballot_id=ballot.id, proposal_id=pid))
    ballot.receipt = domain.receipt_code(cycle.id, ballot.id, chosen, secret)
    session.flush()
    session.expire(ballot, ["choices"])
    return ballot


def find_receipt(session, code):
    code = domain.normalise_receipt(code)
    if code is None:
        return None
    return session.scalar(select(Ballot).where(Ballot.receipt == code))


def receipt_is_current(ballot, secret):
    """The stored receipt still matches the stored ballot (nobody altered the choices)."""
    expected = domain.receipt_code(ballot.cycle_id, ballot.id, ballot.project_ids, secret)
    return secrets.compare_digest(expected, ballot.receipt)


def vote_counts(session, cycle):
    """Approvals per feasible project (0 included)."""
    counts = dict(
        session.execute(
            select(BallotChoice.proposal_id, func.count())
            .join(Ballot, Ballot.id == BallotChoice.ballot_id)
            .where(Ballot.cycle_id == cycle.id)
            .group_by(BallotChoice.proposal_id)
        ).all()
    )
    return {p.id: counts.get(p.id, 0) for p in ballot_projects(session, cycle)}


def counted_projects(cycle):
    """The ballot's projects, most votes first: a select of Proposal to paginate."""
    votes = (
        select(func.count())
        .where(BallotChoice.proposal_id == Proposal.id)
        .correlate(Proposal)
        .scalar_subquery()
    )
    return (
        select(Proposal)
        .where(Proposal.cycle_id == cycle.id, Proposal.status == "feasible")
        .order_by(votes.desc(), Proposal.id)
    )


def votes_of(session, ids):
    """Approvals of the given projects (a page's worth), 0 included."""
    counts = dict(
        session.execute(
            select(BallotChoice.proposal_id, func.count())
            .where(BallotChoice.proposal_id.in_(ids))
            .group_by(BallotChoice.proposal_id)
        ).all()
    )
    return {i: counts.get(i, 0) for i in ids}


def counts_visible(user, cycle, now=None):
    """Vote counts stay hidden from everyone but admins until voting closes."""
    if user is not None and getattr(user, "is_admin", False):
        return True
    return cycle.voting_closed(now)


def turnout(session, cycle):
    """Ballots by channel and by district id (None for voters without a district)."""
    rows = session.execute(
        select(Ballot.channel, Ballot.district_id, func.count())
        .where(Ballot.cycle_id == cycle.id)
        .group_by(Ballot.channel, Ballot.district_id)
    ).all()
    by_channel, by_district = Counter(), Counter()
    for channel, district_id, count in rows:
        by_channel[channel] += count
        by_district[district_id] += count
    return {
        "total": sum(by_channel.values()),
        "channel": dict(by_channel),
        "district": {str(k): v for k, v in by_district.items()},
    }


# ------------------------------------------------------------------ results
def compute_results(session, actor, cycle, rules=None, now=None, deadline=None):
    """Tally the closed vote with the cycle's winner rule (and any others asked for)."""
    now = now or utcnow()
    _require_staff(actor, cycle.region_id)
    _require_phase(cycle, now, "results", "implementation")
    projects = {p.id: p.cost for p in ballot_projects(session, cycle)}
    ballots = {}
    for ballot_id, proposal_id in session.execute(
        select(BallotChoice.ballot_id, BallotChoice.proposal_id)
        .join(Ballot, Ballot.id == BallotChoice.ballot_id)
        .where(Ballot.cycle_id == cycle.id)
    ):
        ballots.setdefault(ballot_id, set()).add(proposal_id)
    results = []
    for rule in rules or [cycle.winner_rule]:
        if rule not in domain.WINNER_RULES:
            raise BudgetError("rule_unknown")
        options = {"deadline": deadline} if deadline is not None else {}
        winners = compute_winners(
            projects, ballots.values(), cycle.budget, rule, cycle.min_votes, **options
        )
        data = {
            "selected": winners.selected,
            "votes": {str(k): v for k, v in winners.votes.items()},
            "costs": {str(k): v for k, v in projects.items()},
            "payments": {str(k): v for k, v in winners.payments.items()},
            "turnout": turnout(session, cycle),
            "min_votes": cycle.min_votes,
            "engine_rule": winners.engine_rule,
        }
        result = session.scalar(
            select(CycleResult).where(CycleResult.cycle_id == cycle.id, CycleResult.rule == rule)
        ) or CycleResult(cycle_id=cycle.id, rule=rule)
        result.data = data
        result.total_cost = winners.total_cost
        result.computed_at = now
        result.computed_by_id = actor.id
        result.published_at = None
        result.published_by_id = None
        session.add(result)
        results.append(result)
    session.flush()
    return results


def publish_results(session, actor, cycle, rule=None, now=None):
    """Publish the result of the winner rule; its winners become funded projects."""
    now = now or utcnow()
    _require_staff(actor, cycle.region_id)
    _require_phase(cycle, now, "results", "implementation")
    rule = rule or cycle.winner_rule
    result = session.scalar(
        select(CycleResult).where(CycleResult.cycle_id == cycle.id, CycleResult.rule == rule)
    )
    if result is None:
        raise BudgetError("not_computed")
    result.published_at = now
    result.published_by_id = actor.id
    winners = set(result.data["selected"])
    for proposal in ballot_projects(session, cycle):
        proposal.funded = proposal.id in winners
        if proposal.funded and proposal.implementation_status is None:
            proposal.implementation_status = "planned"
            _event(session, proposal, actor, "funded", now=now)
    session.flush()
    return result


def published_result(session, cycle):
    """The published result (its big `data` is read only when used: most callers need not)."""
    return session.scalar(
        select(CycleResult)
        .where(CycleResult.cycle_id == cycle.id, CycleResult.published_at.is_not(None))
        .order_by(CycleResult.rule != cycle.winner_rule, CycleResult.rule)
        .options(defer(CycleResult.data))
    )


# Parsed and ranked results by (result id, computed at): a stored result never changes
# without a new computed_at, so a worker ranks each one once, not on every page view.
_RANKINGS = {}


def ranking(result):
    """(project ids by votes, votes by str id, selected ids, payments/turnout/engine_rule)."""
    key = (result.id, result.cycle_id, result.rule, result.computed_at, result.total_cost)
    if key not in _RANKINGS:
        data = result.data
        votes = data["votes"]
        ranked = sorted((int(k) for k in data["costs"]), key=lambda i: (-votes.get(str(i), 0), i))
        small = {k: data.get(k) for k in ("payments", "turnout", "engine_rule")}
        if len(_RANKINGS) >= 16:
            _RANKINGS.pop(next(iter(_RANKINGS)))
        _RANKINGS[key] = (ranked, votes, frozenset(data["selected"]), small)
    return _RANKINGS[key]


# ------------------------------------------------------------------ implementation
def add_update(session, actor, proposal, *, status, progress, note="", now=None):
    """Staff report on a funded project; cancelling needs a reason."""
    now = now or utcnow()
    _require_staff(actor, proposal.cycle.region_id)
    if not proposal.funded:
        raise BudgetError("not_funded")
    if status not in domain.IMPLEMENTATION_STATUSES:
        raise BudgetError("status_unknown")
    progress = domain.parse_progress(progress)
    note = (note or "").strip()
    if status == "cancelled" and not note:
        raise BudgetError("reason_required")
    if status == "done":
        progress = 100
    update = ImplementationUpdate(
        proposal_id=proposal.id,
        author_id=actor.id,
        status=status,
        progress=progress,
        note=note,
        at=now,
    )
    session.add(update)
    proposal.implementation_status = status
    proposal.progress = progress
    proposal.cancel_reason = note if status == "cancelled" else None
    proposal.updated_at = now
    session.flush()
    _event(session, proposal, actor, "update", note=status, now=now)
    session.flush()
    return update


def mark_notifications_read(session, user, now=None):
    for note in session.scalars(
        select(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ):
        note.read_at = now or utcnow()
    session.flush()
