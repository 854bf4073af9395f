"""Paper desks: a ballot by IIN for any resident, account or not, and tally-sheet batches.

A desk ballot is keyed by the person's IIN hash (Ballot.iin_key), so one person has one
ballot whether it came online or on paper; no clear IIN is stored. A batch holds a paper
station's ballots as typed rows (PaperEntry); they become anonymous ballots, counted and in
the ledger, only when a second staff member of the region confirms the batch.

Services take (session, actor, …) and only flush; the view or command commits. No Flask.
"""

import re
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from portal import database
from portal.accounts.domain import IINError, parse_iin
from portal.accounts.models import User, VoterRegisterEntry, utcnow
from portal.accounts.services import iin_digest
from portal.budgeting import domain, headings, integrity
from portal.budgeting.actions import audit, check_characters, require_phase, require_staff
from portal.budgeting.models import Ballot, BallotChoice, PaperBatch, PaperEntry
from portal.budgeting.services import BudgetError, cast_ballot, chosen_costs

# Rows a batch may hold: a station's sheet is typed in parts if it is longer.
MAX_BATCH = 1000
_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class Resident:
    """The person at the desk as cast_ballot needs them: their account's data, else what
    their IIN and their declaration tell. Never the IIN itself."""

    iin_hash: str
    birth_year: int
    sex: str
    region_id: int
    district_id: int | None
    id: int | None = None  # their account, if they have one

    def is_verified_in(self, region_id):
        # The desk checked the ID card; the region is the account's or the declared one.
        return region_id == self.region_id


def resident_at_desk(session, cycle, iin, iin_key, *, declared=False, district_id=None):
    """Who the IIN stands for, checked against the cycle's region (and district)."""
    try:
        info = parse_iin(iin)
    except IINError as error:
        raise BudgetError("iin_invalid", problem=error.code) from None
    iin_hash = iin_digest(iin, iin_key)
    account = session.scalar(select(User).where(User.iin_hash == iin_hash))
    if account is not None and account.deleted_at is None:
        if (account.verified_region_id or account.region_id) != cycle.region_id:
            raise BudgetError("other_region")
        district_id = account.district_id or district_id
    else:
        registers = set(
            session.scalars(
                select(VoterRegisterEntry.region_id).where(VoterRegisterEntry.iin_hash == iin_hash)
            )
        )
        if registers and cycle.region_id not in registers:
            raise BudgetError("other_region")
        if not declared:
            raise BudgetError("residence_undeclared")
    if district_id is not None and district_id not in {d.id for d in cycle.region.districts}:
        raise BudgetError("district_region")
    if cycle.district_id is not None and district_id != cycle.district_id:
        raise BudgetError("other_district")
    return Resident(
        iin_hash=iin_hash,
        birth_year=info.birth_date.year,
        sex=info.sex,
        region_id=cycle.region_id,
        district_id=district_id,
        # A deleted account keeps its row: ballots it cast are still found by its id.
        id=account.id if account is not None else None,
    )


def enter_ballot(
    session,
    actor,
    cycle,
    choices,
    *,
    iin,
    iin_key,
    secret,
    ballot_key=None,
    declared=False,
    district_id=None,
    heading=None,
    now=None,
):
    """Record a desk ballot for the resident with this IIN in `heading` (default: the main
    one); returns the Ballot."""
    now = now or utcnow()
    require_staff(actor, cycle.region_id)  # before the IIN lookup: it tells who has accounts
    require_phase(cycle, now, "voting")
    resident = resident_at_desk(
        session, cycle, iin, iin_key, declared=declared, district_id=district_id
    )
    return cast_ballot(
        session,
        actor,
        cycle,
        choices,
        secret=secret,
        ballot_key=ballot_key,
        now=now,
        voter=resident,
        channel="paper",
        heading=heading,
    )


# ------------------------------------------------------------------ tally-sheet batches
def parse_sheet(text):
    """Typed rows -> ([ids per ballot], [(line, code)]): one ballot per line, project ids
    separated by spaces, commas or semicolons; empty lines are skipped."""
    rows, errors = [], []
    for number, line in enumerate((text or "").splitlines(), start=1):
        parts = [p for p in _SEPARATORS.split(line.strip()) if p]
        if not parts:
            continue
        if not all(p.isascii() and p.isdigit() and len(p) <= 12 for p in parts):
            errors.append((number, "not_ids"))
            continue
        rows.append((number, [int(p) for p in parts]))
    return rows, errors


def enter_batch(session, actor, cycle, *, station, rows, district_id=None, heading=None, now=None):
    """Store a station's typed ballots for `heading` (default: the main one) as a pending
    batch; nothing counts them yet.

    rows: [(line number, [project ids])] as parse_sheet gives them. Every row is checked
    against the heading's ballot rule and projects; the first bad one refuses the whole
    batch (code batch_row). A district's heading takes sheets of its own district only."""
    now = now or utcnow()
    require_staff(actor, cycle.region_id)
    require_phase(cycle, now, "voting")
    heading = headings.resolve(session, cycle, heading)
    check_characters(single={"station": station})
    station = (station or "").strip()
    if not station or len(station) > 200:
        raise BudgetError("station_required")
    if district_id is not None and district_id not in {d.id for d in cycle.region.districts}:
        raise BudgetError("district_region")
    if heading.district_id is not None:
        if district_id not in (None, heading.district_id):
            raise BudgetError("batch_district", heading=heading.name)
        district_id = heading.district_id
    if not rows:
        raise BudgetError("batch_empty")
    if len(rows) > MAX_BATCH:
        raise BudgetError("batch_large", maximum=MAX_BATCH)
    chosen = {pid for _line, ids in rows for pid in ids}
    costs = chosen_costs(session, cycle, chosen, heading)
    clean = []
    for line, ids in rows:
        try:
            clean.append(list(domain.validate_ballot(heading.rule, ids, costs)))
        except domain.BudgetRuleError as error:
            raise BudgetError("batch_row", line=line, problem=error) from None
    batch = PaperBatch(
        cycle_id=cycle.id,
        heading_id=heading.id,
        station=station,
        district_id=district_id,
        size=len(clean),
        status="pending",
        entered_by_id=actor.id,
        entered_at=now,
    )
    session.add(batch)
    session.flush()
    session.add_all(
        PaperEntry(batch_id=batch.id, position=n, choices=ids) for n, ids in enumerate(clean)
    )
    audit(
        session,
        actor,
        "budgeting.paper_batch_enter",
        cycle,
        batch=batch.id,
        station=station,
        heading=heading.id,
        ballots=batch.size,
    )
    session.flush()
    return batch


def _pending(session, batch):
    """The batch read again under a lock, so two deciders cannot both act on it."""
    database.start_write(session)
    locked = session.scalar(
        select(PaperBatch)
        .where(PaperBatch.id == batch.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if locked.status != "pending":
        raise BudgetError("batch_decided", status=locked.status)
    return locked


def confirm_batch(session, actor, batch, *, secret, now=None):
    """A second staff member confirms: the rows become anonymous paper ballots, appended to
    the ledger. The one who typed the batch cannot confirm it."""
    now = now or utcnow()
    cycle = batch.cycle
    require_staff(actor, cycle.region_id)
    batch = _pending(session, batch)
    if batch.entered_by_id == actor.id:
        raise BudgetError("batch_own")
    require_phase(cycle, now, "voting")
    entries = session.scalars(
        select(PaperEntry).where(PaperEntry.batch_id == batch.id).order_by(PaperEntry.position)
    ).all()
    heading_id = batch.heading_id or headings.main_heading(session, cycle).id
    ballots = [
        Ballot(
            cycle_id=cycle.id,
            heading_id=heading_id,
            voter_key=None,  # a tally sheet names nobody, like an anonymised import
            ledger_version=1,
            channel="paper",
            entered_by_id=batch.entered_by_id,
            district_id=batch.district_id,
            receipt="",
            created_at=now,
            updated_at=now,
        )
        for _entry in entries
    ]
    session.add_all(ballots)
    session.flush()
    leaves = []
    for entry, ballot in zip(entries, ballots, strict=True):
        session.add_all(BallotChoice(ballot_id=ballot.id, proposal_id=p) for p in entry.choices)
        ballot.receipt = domain.receipt_code(cycle.id, ballot.id, entry.choices, secret)
        entry.ballot_id = ballot.id
        leaves.append((ballot.id, 1, sorted(entry.choices)))
    integrity.freeze(cycle, now, session)
    integrity.append(session, cycle, leaves)
    batch.status = "confirmed"
    batch.decided_by_id = actor.id
    batch.decided_at = now
    audit(
        session,
        actor,
        "budgeting.paper_batch_confirm",
        cycle,
        batch=batch.id,
        station=batch.station,
        ballots=batch.size,
        entered_by=batch.entered_by_id,
    )
    session.flush()
    return batch


def reject_batch(session, actor, batch, *, reason, now=None):
    """Discard a pending batch's rows (a mistyped or disputed sheet), keeping the record."""
    now = now or utcnow()
    cycle = batch.cycle
    require_staff(actor, cycle.region_id)
    check_characters(multi={"reason": reason})
    reason = (reason or "").strip()
    if not reason:
        raise BudgetError("reason_required")
    batch = _pending(session, batch)
    session.execute(delete(PaperEntry).where(PaperEntry.batch_id == batch.id))
    batch.status = "rejected"
    batch.decided_by_id = actor.id
    batch.decided_at = now
    batch.reason = reason[:2000]
    audit(
        session,
        actor,
        "budgeting.paper_batch_reject",
        cycle,
        batch=batch.id,
        station=batch.station,
        ballots=batch.size,
        reason=batch.reason,
    )
    session.flush()
    return batch


def batches_query(cycle):
    """The cycle's batches, newest first (a select to paginate)."""
    return select(PaperBatch).where(PaperBatch.cycle_id == cycle.id).order_by(PaperBatch.id.desc())


def pending_count(session, cycle):
    return session.scalar(
        select(func.count()).where(PaperBatch.cycle_id == cycle.id, PaperBatch.status == "pending")
    )


def batch_rows(batch):
    """The batch's typed rows in order (a select to paginate; none once rejected)."""
    return select(PaperEntry).where(PaperEntry.batch_id == batch.id).order_by(PaperEntry.position)
