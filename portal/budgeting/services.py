"""Budgeting services. Each takes the session and the acting user, only flushes, never commits.

No Flask imports: views, CLI commands, demo loader and tests call these the same way.
Refusals raise BudgetError with a stable code the views translate. Beside it: `actions` (who
may act, in which phase, the audit record), `ballots` (writing ballots), `publishing` (the
results of a closed vote), `paper` (akimat desks), `headings` (a cycle's pots).
"""

import secrets
from collections import Counter
from pathlib import Path

from sqlalchemy import (
    bindparam,
    delete,
    func,
    insert,
    select,
)

from portal import database, images
from portal.accounts import services as accounts_services
from portal.accounts.models import utcnow
from portal.accounts.notify import notify, notify_region, titles
from portal.audit import code_of, record
from portal.budgeting import domain, headings, integrity, richtext
from portal.budgeting.actions import (
    audit,
    check_characters,
    proposal_event,
    require_phase,
    require_staff,
)
from portal.budgeting.ballots import PreparedBallot, write_ballot
from portal.budgeting.domain import BudgetError
from portal.budgeting.models import (
    Ballot,
    BallotChoice,
    BudgetCycle,
    BudgetHeading,
    ImplementationUpdate,
    LedgerHead,
    Notification,
    PhaseChange,
    Proposal,
    ProposalPhoto,
    VoteCount,
    VoteCountState,
)
from portal.storage import save_in_session
from portal.storage.local import LocalStorage

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 5
PHOTO_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


# ------------------------------------------------------------------ permissions
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
    require_staff(actor, region.id)
    cycle = BudgetCycle(region_id=region.id, created_by_id=actor.id)
    _apply_cycle(session, cycle, region, values)
    session.add(cycle)
    session.flush()
    audit(session, actor, "budgeting.cycle_create", cycle, budget=cycle.budget)
    return cycle


def update_cycle(session, actor, cycle, reason="", now=None, **values):
    """Edit a cycle. Once voting has opened the rule, budget, limits, district and the
    first three dates are frozen; the closing and implementation dates may only move later,
    with a public `reason`."""
    require_staff(actor, cycle.region_id)
    before = integrity.snapshot(cycle)
    frozen = integrity.is_frozen(cycle, now)
    try:
        _apply_cycle(session, cycle, cycle.region, values)
    except BudgetError:
        if frozen:
            for name, value in before.items():
                setattr(cycle, name, value)
        raise
    moved = []
    if frozen:
        moved = integrity.check_cycle_change(session, actor, cycle, before, reason, now)
    changed = {
        name: str(getattr(cycle, name))
        for name, value in before.items()
        if getattr(cycle, name) != value
    }
    audit(
        session,
        actor,
        "budgeting.cycle_edit",
        cycle,
        changed=changed,
        extended=moved,
        reason=reason or "",
    )
    session.flush()
    return cycle


def _apply_cycle(session, cycle, region, values):
    unknown = set(values) - set(CYCLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown cycle fields: {sorted(unknown)}")
    check_characters(
        single={k: values.get(k) for k in ("title_kk", "title_ru", "title_en")},
        multi={k: values.get(k) for k in ("summary_kk", "summary_ru", "summary_en")},
    )
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
    require_staff(actor, cycle.region_id)
    if to_phase is not None and to_phase not in domain.PHASES:
        raise BudgetError("phase_unknown")
    now = now or utcnow()
    before = cycle.phase(now)
    after = domain.effective_phase(cycle.schedule, now, to_phase)
    if cycle.rules_frozen_at is not None and after not in integrity.VOTING_OR_LATER:
        raise BudgetError("rules_frozen", field="phase")
    if after in integrity.VOTING_OR_LATER:
        integrity.freeze(cycle, now, session)
    cycle.phase_override = to_phase
    audit(session, actor, "budgeting.phase_move", cycle, before=before, to=to_phase or "dates")
    session.add(
        PhaseChange(
            cycle_id=cycle.id, from_phase=before, to_phase=to_phase, actor_id=actor.id, at=now
        )
    )
    if before != "voting" and cycle.phase(now) == "voting":
        notify_region(
            session,
            cycle.region_id,
            "voting_open",
            params={"title": titles(cycle)},
            link=f"/budget/{cycle.id}/ballot",
        )
    session.flush()
    return cycle


# ------------------------------------------------------------------ proposals
def _check_proposal_values(session, cycle, values):
    check_characters(
        single={
            k: values.get(k) for k in ("title", "title_kk", "title_ru", "address", "estimated_cost")
        },
        multi={k: values.get(k) for k in ("description", "description_kk", "description_ru")},
    )
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
        **_translations(values),
        "category": values["category"],
        "district_id": district_id or cycle.district_id,
        "address": (values.get("address") or "").strip()[:300],
        "estimated_cost": cost,
    }


def _translations(values):
    """The optional Kazakh and Russian title and description (None where not given)."""
    clean = {}
    for lang in ("kk", "ru"):
        title = (values.get(f"title_{lang}") or "").strip()
        if len(title) > 200:
            raise BudgetError("title_long")
        raw = values.get(f"description_{lang}") or ""
        if len(raw) > richtext.MAX_LENGTH:
            raise BudgetError("description_long")
        html = richtext.sanitise(raw) if raw.strip() else ""
        clean[f"title_{lang}"] = title or None
        clean[f"description_html_{lang}"] = html if richtext.plain_text(html).strip() else None
    return clean


def submit_proposal(session, actor, cycle, now=None, heading=None, **values):
    """A verified resident proposes a project during the proposals phase, into `heading`
    (default: the cycle's main heading); a district's heading takes its residents' only."""
    now = now or utcnow()
    require_phase(cycle, now, "proposals")
    heading = headings.resolve(session, cycle, heading)
    if not headings.may_take_part(actor, cycle, heading):
        raise BudgetError("not_resident")
    clean = _check_proposal_values(session, cycle, values)
    headings.check_proposal(heading, clean)
    proposal = Proposal(
        cycle_id=cycle.id,
        heading_id=heading.id,
        author_id=actor.id,
        created_at=now,
        updated_at=now,
        **clean,
    )
    session.add(proposal)
    session.flush()
    proposal_event(session, proposal, actor, "submitted", now=now)
    session.flush()
    return proposal


def edit_proposal(session, actor, proposal, now=None, **values):
    now = now or utcnow()
    if proposal.author_id != actor.id:
        raise BudgetError("forbidden")
    require_phase(proposal.cycle, now, "proposals")
    if proposal.status != "submitted":
        raise BudgetError("not_editable")
    clean = _check_proposal_values(session, proposal.cycle, values)
    for name, value in headings.check_proposal(proposal.heading, clean).items():
        setattr(proposal, name, value)
    proposal.updated_at = now
    proposal_event(session, proposal, actor, "edited", now=now)
    session.flush()
    return proposal


def withdraw_proposal(session, actor, proposal, now=None):
    now = now or utcnow()
    if proposal.author_id != actor.id:
        raise BudgetError("forbidden")
    require_phase(proposal.cycle, now, "proposals")
    if proposal.status != "submitted":
        raise BudgetError("not_editable")
    proposal.status = "withdrawn"
    proposal.updated_at = now
    proposal_event(session, proposal, actor, "withdrawn", now=now)
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


def photo_key(filename, thumbnail=False):
    """Where a photo (or its thumbnail) lives in the file storage."""
    return f"budget/thumbs/{filename}" if thumbnail else f"budget/{filename}"


def add_photo(session, actor, proposal, data, storage, update=None):
    """Store a re-encoded image (metadata stripped) and its thumbnail under random names.

    `storage` is a portal.storage backend (a directory path is taken as local storage). The
    files are removed again if the session's transaction is rolled back.
    """
    if update is None and proposal.author_id != actor.id:
        raise BudgetError("forbidden")
    if len(data) > MAX_PHOTO_BYTES:
        raise BudgetError("photo_large", megabytes=MAX_PHOTO_BYTES // (1024 * 1024))
    if not data or sniff_image(data) is None:
        raise BudgetError("photo_type")
    count = session.scalar(
        select(func.count()).where(
            ProposalPhoto.proposal_id == proposal.id, ProposalPhoto.update_id.is_(None)
        )
    )
    if update is None and count >= MAX_PHOTOS:
        raise BudgetError("photo_count", maximum=MAX_PHOTOS)
    try:
        clean = images.clean_image(data)
    except images.ImageError as error:
        if error.code == "pixels":
            raise BudgetError("photo_pixels", megapixels=images.MAX_PIXELS // 1_000_000) from None
        raise BudgetError("photo_type") from None
    if isinstance(storage, str | Path):
        storage = LocalStorage(storage)
    name = f"{secrets.token_hex(16)}.{clean.extension}"
    save_in_session(session, storage, photo_key(name), clean.data, clean.content_type)
    save_in_session(
        session, storage, photo_key(name, thumbnail=True), clean.thumbnail, clean.content_type
    )
    content_type, data = clean.content_type, clean.data
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
    require_staff(actor, cycle.region_id)
    require_phase(cycle, now, "proposals", "review")
    if cycle.rules_frozen_at is not None:
        raise BudgetError("rules_frozen", field="projects")
    if proposal.status == "withdrawn":
        raise BudgetError("withdrawn")
    check_characters(
        single={"final_cost": final_cost if isinstance(final_cost, str) else None},
        multi={"reason": reason},
    )
    reason = (reason or "").strip()
    if feasible:
        cap = proposal.heading.cost_cap  # the main heading's is the cycle's
        if final_cost not in (None, ""):
            proposal.final_cost = domain.parse_tenge(final_cost, cap=cap)
        elif cap is not None and proposal.estimated_cost > cap:
            raise BudgetError("cost_over_cap", cap=cap)
        proposal.status = "feasible"
    else:
        if not reason:
            raise BudgetError("reason_required")
        proposal.status = "infeasible"
    proposal.review_reason = reason or None
    proposal.reviewed_by_id = actor.id
    proposal.reviewed_at = now
    proposal.updated_at = now
    proposal_event(session, proposal, actor, proposal.status, note=reason or None, now=now)
    record(
        session,
        actor,
        "budgeting.review",
        target=f"proposal:{proposal.id}",
        details={"status": proposal.status, "cost": proposal.cost, "reason": reason},
        region_code=code_of(cycle.region),
        now=now,
    )
    if proposal.author_id is not None:  # imported projects have no author to tell
        session.add(
            Notification(user_id=proposal.author_id, proposal_id=proposal.id, kind=proposal.status)
        )
        notify(
            session,
            proposal.author,
            "proposal_reviewed",
            params={"title": proposal.title, "status": proposal.status, "extra": reason},
            link=f"/budget/proposals/{proposal.id}",
        )
    session.flush()
    return proposal


# ------------------------------------------------------------------ voting
def ballot_query(cycle, heading=None):
    """The feasible projects on the ballot (of one heading, if given) as a select, by
    category then id (index order)."""
    query = (
        select(Proposal)
        .where(Proposal.cycle_id == cycle.id, Proposal.status == "feasible")
        .order_by(Proposal.category, Proposal.id)
    )
    return query if heading is None else query.where(Proposal.heading_id == heading.id)


def chosen_projects(session, cycle, ids, heading=None):
    """The feasible projects of the cycle (of `heading`, if given) among `ids` (a ballot's
    worth), in ballot order."""
    if not ids:
        return []
    query = ballot_query(cycle, heading)
    return session.scalars(query.where(Proposal.id.in_(sorted(set(ids))))).all()


def ballot_projects(session, cycle, heading=None):
    """The feasible projects on the ballot (of one heading, if given), by category."""
    return session.scalars(ballot_query(cycle, heading)).all()


def chosen_costs(session, cycle, ids, heading=None):
    """id -> ballot cost of those of `ids` that are feasible projects of the cycle.

    One query whose work grows with the ballot, not with the cycle: a POST choosing three
    projects out of 10,000 reads three rows. An id missing from the answer is 'unknown'.
    """
    ids = sorted(set(ids))
    costs = {}
    # Chunks keep a huge (hostile) POST under the databases' bound-parameter limits.
    connection = session.connection()
    for start in range(0, len(ids), 500):
        statement, params = _CHOSEN_COSTS, {"cycle_id": cycle.id, "ids": ids[start : start + 500]}
        if heading is not None:
            statement, params["heading_id"] = _CHOSEN_COSTS_IN_HEADING, heading.id
        costs.update(connection.execute(statement, params).tuples().all())
    return costs


_PROPOSALS = Proposal.__table__
# Built once: every ballot POST runs it.
_CHOSEN_COSTS = select(
    _PROPOSALS.c.id, func.coalesce(_PROPOSALS.c.final_cost, _PROPOSALS.c.estimated_cost)
).where(
    _PROPOSALS.c.cycle_id == bindparam("cycle_id"),
    _PROPOSALS.c.status == "feasible",
    _PROPOSALS.c.id.in_(bindparam("ids", expanding=True)),
)
_CHOSEN_COSTS_IN_HEADING = _CHOSEN_COSTS.where(_PROPOSALS.c.heading_id == bindparam("heading_id"))


class VotingCycle:
    """The values of a cycle that casting a ballot reads, from one plain row: a ballot POST
    needs no ORM object of the cycle (loading one cost more than the rest of the reads)."""

    __slots__ = (
        "id",
        "region_id",
        "district_id",
        "ballots_final",
        "rules_frozen_at",
        "phase_override",
        "proposals_open_at",
        "review_open_at",
        "voting_open_at",
        "voting_close_at",
        "implementation_at",
    )
    schedule = BudgetCycle.schedule
    phase = BudgetCycle.phase

    def __init__(self, **values):
        for name, value in values.items():
            setattr(self, name, value)


class VotingHeading:
    """The values of a heading that casting a ballot reads (see VotingCycle)."""

    __slots__ = (
        "id",
        "cycle_id",
        "position",
        "district_id",
        "budget",
        "ballot_rule",
        "max_choices",
    )
    rule = BudgetHeading.rule

    def __init__(self, **values):
        for name, value in values.items():
            setattr(self, name, value)


def voting_cycle(session, cycle_id):
    """(VotingCycle, [VotingHeading] main one first) in one statement, or None if there is
    no such cycle (or, which never happens, it has no heading)."""
    rows = session.connection().execute(_VOTING_CYCLE, {"cycle_id": cycle_id}).all()
    if not rows:
        return None
    width = len(VotingCycle.__slots__)
    cycle = VotingCycle(**dict(zip(VotingCycle.__slots__, rows[0][:width], strict=True)))
    pots = [
        VotingHeading(**dict(zip(VotingHeading.__slots__, row[width:], strict=True)))
        for row in rows
    ]
    return cycle, pots


_CYCLES, _HEADINGS = BudgetCycle.__table__, BudgetHeading.__table__
_VOTING_CYCLE = (
    select(
        *(_CYCLES.c[name] for name in VotingCycle.__slots__),
        *(_HEADINGS.c[name] for name in VotingHeading.__slots__),
    )
    .join_from(_CYCLES, _HEADINGS, _HEADINGS.c.cycle_id == _CYCLES.c.id)
    .where(_CYCLES.c.id == bindparam("cycle_id"))
    .order_by(_HEADINGS.c.position)
)


def ballot_of(session, cycle, voter, key, heading=None):
    """The voter's ballot (in `heading`, if given; else their first heading's), found by
    their keyed pseudonyms (`key`: the server's BALLOT_KEY)."""
    found = []
    # One index seek per pseudonym: an OR of both would read every ballot of the cycle.
    for condition in _mine(cycle, voter, key):
        query = select(Ballot).where(Ballot.cycle_id == cycle.id, condition)
        if heading is not None:
            query = query.where(Ballot.heading_id == heading.id)
        ballot = session.scalar(query.order_by(Ballot.heading_id).limit(1))
        if ballot is not None:
            found.append(ballot)
    return min(found, key=lambda b: b.heading_id) if found else None


def _mine(cycle, voter, key):
    """Conditions for the person's ballot: by their IIN pseudonym, and (ballots cast before
    paper_01 have none) by their account's; a resident without an account has no id."""
    conditions = [Ballot.iin_key == integrity.iin_voter_key(key, cycle.id, voter.iin_hash)]
    if voter.id is not None:
        conditions.append(Ballot.voter_key == integrity.voter_key(key, cycle.id, voter.id))
    return conditions


def _parse_choices(raw):
    """Submitted ids -> ints; anything that is not a plain positive integer is 'unknown'."""
    ids = []
    for value in raw:
        text = str(value).strip()
        if not text.isascii() or not text.isdigit() or len(text) > 12:
            raise BudgetError("unknown")
        ids.append(int(text))
    return ids


def store_ballot(session, actor, cycle, choices, **options):
    """Store or replace a ballot in `heading` (default: the main one) atomically; returns its
    id (see `cast_ballot`).

    Online: actor is the voter. Paper: actor is staff of the region and `voter` the resident
    identified at the desk. The voter's account row is locked first (SELECT … FOR UPDATE on
    PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), so parallel submissions
    for one voter run one after another and see each other's ballot; the unique constraint
    (cycle, voter) still stops a second row if anything slips past.

    The row holds no voter id, only an HMAC of (cycle, voter) under `ballot_key` (default
    `secret`); the ballot's choices are appended to the cycle's public ledger. It also holds
    an HMAC of (cycle, the voter's IIN hash), unique per cycle: a paper desk's `voter` may be
    a resident without an account (portal.budgeting.paper.Resident, id None), and their
    online and paper ballots still collide there.

    `options` are prepare_ballot's: secret (required), ballot_key, now, voter, channel,
    heading.
    """
    ballot_id = write_ballot(session, prepare_ballot(session, actor, cycle, choices, **options))
    if options.get("channel") == "paper":  # who entered it, never what it says nor for whom
        audit(session, actor, "budgeting.paper_ballot", cycle)
    return ballot_id


def prepare_ballot(
    session,
    actor,
    cycle,
    choices,
    *,
    secret,
    ballot_key=None,
    now=None,
    voter=None,
    channel="online",
    heading=None,
):
    """Every check of `store_ballot` that reads (phase, residency, the budget rule): a
    PreparedBallot, or BudgetError. Writes nothing and takes no lock."""
    now = now or utcnow()
    if channel == "paper":
        require_staff(actor, cycle.region_id)
        if voter is None:
            raise BudgetError("voter_unknown")
    elif channel == "online":
        voter = actor
    else:
        raise BudgetError("channel_unknown")
    require_phase(cycle, now, "voting")
    heading = headings.resolve(session, cycle, heading)
    if not headings.may_take_part(voter, cycle, heading):
        raise BudgetError("not_resident")
    ids = _parse_choices(choices)
    chosen = domain.validate_ballot(heading.rule, ids, chosen_costs(session, cycle, ids, heading))
    key = ballot_key or secret
    # A desk resident without an account (paper.Resident) has no id, only an IIN hash.
    pseudonym = integrity.voter_key(key, cycle.id, voter.id) if voter.id is not None else None
    keys = {
        "cycle_id": cycle.id,
        "heading_id": heading.id,
        "voter_key": pseudonym,
        "iin_key": integrity.iin_voter_key(key, cycle.id, voter.iin_hash),
    }
    values = {
        **keys,
        "channel": channel,
        "entered_by_id": actor.id if channel == "paper" else None,
        "created_at": now,
        "updated_at": now,
        "birth_year": voter.birth_year,
        "sex": voter.sex,
        "district_id": voter.district_id,
    }
    return PreparedBallot(
        cycle=cycle,
        cycle_id=cycle.id,
        final=cycle.ballots_final,
        frozen=cycle.rules_frozen_at,
        voter_id=voter.id,
        channel=channel,
        values=values,
        keys=keys,
        chosen=tuple(chosen),
        secret=secret,
        now=now,
    )


def cast_ballot(session, actor, cycle, choices, **options):
    """Store or replace a ballot atomically (see `store_ballot`); returns the Ballot."""
    return session.get(Ballot, store_ballot(session, actor, cycle, choices, **options))


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


# The live counts page reads stored counts (VoteCount), not 800,000 choices per request.
# They are keyed by the size of the cycle's ballot ledger: every ballot written, replaced,
# entered on paper or imported appends a leaf, so an unchanged size means unchanged counts.
# A counter updated by every ballot would put an UPDATE of the popular projects' rows on
# the vote's hot path, and on PostgreSQL every ballot choosing a popular project would wait
# for the previous one's row lock; the counts are shown only once voting has closed, when
# the ledger hardly changes, so one recount after a change costs far less.
def vote_count_state(session, cycle):
    """The cycle's VoteCountState if it still matches the ledger, else None (recount)."""
    size = select(LedgerHead.size).where(LedgerHead.cycle_id == cycle.id).scalar_subquery()
    return session.scalar(
        select(VoteCountState).where(
            VoteCountState.cycle_id == cycle.id,
            VoteCountState.ledger_size == func.coalesce(size, 0),
        )
    )


def recount_votes(session, cycle, now=None):
    """Count the cycle's approvals into VoteCount (rank 1 = most votes, then lowest id) and
    return its VoteCountState. Takes the write lock; the caller commits."""
    cycle_id = cycle.id
    database.start_write(session)
    _lock_cycle(session, cycle_id)
    cycle = session.get(BudgetCycle, cycle_id)
    state = vote_count_state(session, cycle)
    if state is not None:  # another request recounted while this one waited
        return state
    return store_vote_counts(session, cycle, count_votes(session, cycle), now)


def count_votes(session, cycle):
    """The cycle's counts for `store_vote_counts`; writes nothing (a snapshot will do)."""
    # The size first: a ballot that lands after it makes the stored size too small, which
    # only means one more recount, never counts that miss a ballot under a matching size.
    size = session.scalar(select(LedgerHead.size).where(LedgerHead.cycle_id == cycle.id)) or 0
    ballots = session.scalar(select(func.count()).where(Ballot.cycle_id == cycle.id))
    counts = vote_counts(session, cycle)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {"ledger_size": size, "ballots": ballots, "ranked": ranked}


def store_vote_counts(session, cycle, counted, now=None):
    """Store `count_votes`'s counts unless newer (or the same) ones are stored; flush only."""
    cycle_id = cycle.id
    _lock_cycle(session, cycle_id)
    state = session.get(VoteCountState, cycle_id)
    if state is not None and state.ledger_size >= counted["ledger_size"]:
        return state  # the ledger only grows: these counts are as new as ours, or newer
    ranked = counted["ranked"]
    session.execute(delete(VoteCount).where(VoteCount.cycle_id == cycle_id))
    if ranked:
        session.execute(
            insert(VoteCount),
            [
                {"proposal_id": pid, "cycle_id": cycle_id, "rank": rank, "votes": votes}
                for rank, (pid, votes) in enumerate(ranked, start=1)
            ],
        )
    if state is None:
        state = VoteCountState(cycle_id=cycle_id)
        session.add(state)
    state.ledger_size, state.ballots = counted["ledger_size"], counted["ballots"]
    state.projects, state.counted_at = len(ranked), now or utcnow()
    session.flush()
    return state


def _lock_cycle(session, cycle_id):
    """Concurrent stores of a cycle's counts run one after the other (SQLite: the write
    lock already does; PostgreSQL: the cycle's row lock)."""
    session.execute(select(BudgetCycle.id).where(BudgetCycle.id == cycle_id).with_for_update())


def vote_count_page(session, cycle, offset, limit):
    """[(Proposal, votes)] ranked offset+1 … offset+limit: one range of the rank index."""
    return session.execute(
        select(Proposal, VoteCount.votes)
        .join(VoteCount, VoteCount.proposal_id == Proposal.id)
        .where(
            VoteCount.cycle_id == cycle.id,
            VoteCount.rank > offset,
            VoteCount.rank <= offset + limit,
        )
        .order_by(VoteCount.rank)
    ).all()


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


def proposals_by_status(session, cycle):
    """{status: proposals}: one grouped read of the index on (cycle, status, heading)."""
    return dict(
        session.execute(
            select(Proposal.status, func.count())
            .where(Proposal.cycle_id == cycle.id)
            .group_by(Proposal.status)
        ).all()
    )


def counts_visible(user, cycle, now=None):
    """Vote counts stay hidden from everyone, admins included, until voting closes."""
    return cycle.voting_closed(now)


def turnout(session, cycle, heading=None):
    """Ballots (of one heading, if given) by channel and by district id (None for voters
    without a district)."""
    query = select(Ballot.channel, Ballot.district_id, func.count()).where(
        Ballot.cycle_id == cycle.id
    )
    if heading is not None:
        query = query.where(Ballot.heading_id == heading.id)
    rows = session.execute(query.group_by(Ballot.channel, Ballot.district_id)).all()
    by_channel, by_district = Counter(), Counter()
    for channel, district_id, count in rows:
        by_channel[channel] += count
        by_district[district_id] += count
    return {
        "total": sum(by_channel.values()),
        "channel": dict(by_channel),
        "district": {str(k): v for k, v in by_district.items()},
    }


# ------------------------------------------------------------------ implementation
def add_update(session, actor, proposal, *, status, progress, note="", now=None):
    """Staff report on a funded project; cancelling needs a reason."""
    now = now or utcnow()
    require_staff(actor, proposal.cycle.region_id)
    if not proposal.funded:
        raise BudgetError("not_funded")
    if status not in domain.IMPLEMENTATION_STATUSES:
        raise BudgetError("status_unknown")
    check_characters(multi={"note": note})
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
    proposal_event(session, proposal, actor, "update", note=status, now=now)
    session.flush()
    return update


def mark_notifications_read(session, user, now=None):
    for note in session.scalars(
        select(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ):
        note.read_at = now or utcnow()
    session.flush()


def personal_proposals(session, user):
    """The person's proposals for their personal-data download (accounts calls this)."""
    rows = session.scalars(
        select(Proposal).where(Proposal.author_id == user.id).order_by(Proposal.id).limit(10_000)
    )
    return [
        {
            "id": p.id,
            "cycle_id": p.cycle_id,
            "title": p.title,
            "status": p.status,
            "estimated_cost": p.estimated_cost,
            "created_at": p.created_at.isoformat() + "Z",
        }
        for p in rows
    ]


accounts_services.PERSONAL_DATA["proposals"] = personal_proposals


def announce_voting(session, now=None):
    """Tell the residents of each cycle whose voting opened by its dates (run daily; a cycle
    moved to voting by hand was announced then). Returns the announced cycles."""
    from portal.accounts.models import Notice

    now = now or utcnow()
    cycles = session.scalars(
        select(BudgetCycle).where(
            BudgetCycle.voting_open_at <= now, BudgetCycle.voting_close_at > now
        )
    ).all()
    announced = []
    for cycle in cycles:
        link = f"/budget/{cycle.id}/ballot"
        told = session.scalar(
            select(Notice.id).where(Notice.kind == "voting_open", Notice.link == link).limit(1)
        )
        if cycle.phase(now) != "voting" or told is not None:
            continue
        notify_region(
            session, cycle.region_id, "voting_open", params={"title": titles(cycle)}, link=link
        )
        announced.append(cycle)
    session.flush()
    return announced
