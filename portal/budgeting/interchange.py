"""Budget cycles to and from pabulib ``.pb`` files. No Flask here; only flushes, never commits.

``import_pabulib`` turns an approval-vote file into a CLOSED cycle (phase "results": every
phase date in the past) with its projects and anonymised ballots; ``export_pabulib`` writes a
cycle back as a :class:`~portal.budgeting.pabulib.PabulibFile`. A re-import of an export
gives the same projects, costs, budget and ballots, hence the same tally winners.

Import rules
  * Only ``vote_type`` approval. Money must be whole (the portal keeps whole tenge): a cost or
    budget like ``969245.38`` is refused, naming the line, never rounded. The amounts are
    taken as they are (no currency conversion).
  * The sentinel cost 999999999 marks a withdrawn project: it is stored as withdrawn (not on
    the ballot) and approvals of it are dropped.
  * Ballots are anonymised: no voter account, no age or sex; channel "imported", an empty
    receipt (a receipt lookup never finds them) and ``voter_id`` NULL.
  * META description → the cycle's titles (kk/ru/en alike), date_begin/date_end → voting
    dates (else dates just before now), rule → winner rule (``equalshares*`` → "mes"), and
    min_project_score_threshold → min_votes. A project's name → title (else "Project <id>"),
    description → escaped paragraphs, category → the portal's category when obvious (else
    "other"), ``selected`` = 1 → funded; its pabulib id is kept in ``external_id``.

Several files import as one cycle with one heading per file (``import_headings``): the first
file's heading is the main one and gives the cycle its title and rules; each heading is named
from its file's META ``subunit``, else ``district``, else ``unit``, and keeps its own budget,
threshold, winner rule, projects and ballots. ``export_pabulib`` writes one heading (default:
the main one, which in a one-heading cycle is the whole cycle); in a cycle of several headings
its META also says ``subunit`` (the heading's name), so a re-import names the heading alike.

Export writes META (description, country, unit = region code, instance = cycle id,
num_projects, num_votes, budget, vote_type, rule, dates, threshold), PROJECTS (the projects
that were on the ballot: external id or proposal id, cost, votes, name, category, and
``selected`` when results exist) and VOTES (voter ids 1..n). :func:`vote_rows` streams the
ballots for callers that write large files line by line.
"""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

from sqlalchemy import bindparam, func, insert, select, text

from portal.accounts.models import utcnow
from portal.audit import code_of, record
from portal.budgeting import domain, integrity, pabulib
from portal.budgeting.models import Ballot, BallotChoice, BudgetCycle, BudgetHeading, Proposal
from portal.budgeting.pabulib import PabulibError, PabulibFile

__all__ = [
    "BATCH",
    "ballot_count",
    "export_pabulib",
    "export_project_ids",
    "heading_name",
    "import_headings",
    "import_pabulib",
    "vote_rows",
]

BATCH = 1000  # ballots per INSERT batch (and per progress step)
TITLE_LIMIT = 200
EXTERNAL_ID_LIMIT = 64
# Words in pabulib categories (English, Dutch, Polish) -> the portal's category; the first
# category of a project that matches wins, checked in this order.
CATEGORY_WORDS = (
    ("greenery", ("green", "groen", "environment", "zieleń", "ekolog", "park", "tree")),
    ("sports", ("sport",)),
    ("culture", ("cultur", "kultur")),
    ("lighting", ("lighting", "verlichting", "oświetl")),
    ("roads", ("road", "transit", "transport", "street", "straat", "verkeer", "drog")),
    ("accessibility", ("accessib", "toegankelijk", "dostępn")),
    ("yards", ("playground", "speeltuin", "plac zabaw", "yard", "podwór")),
)
DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%Y.%m.%d")

Progress = Callable[[int], None]


def _no_progress(_count: int) -> None:
    pass


# ----------------------------------------------------------------- import
@dataclass
class _Project:
    external_id: str
    cost: int
    title: str
    description_html: str
    category: str
    withdrawn: bool
    funded: bool


@dataclass
class _Plan:
    """Everything the file says, checked, before anything is written."""

    title: str
    heading: str
    budget: int
    winner_rule: str
    min_votes: int | None
    dates: dict[str, dt.datetime]
    projects: list[_Project] = field(default_factory=list)
    ballots: list[list[str]] = field(default_factory=list)
    dropped_approvals: int = 0


def import_pabulib(
    session,
    pb: PabulibFile,
    region,
    actor=None,
    *,
    source: str | None = None,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
    notes: list[str] | None = None,
) -> BudgetCycle:
    """Create a closed cycle in `region` with the file's projects and anonymised ballots.

    Raises PabulibError (naming the line when known) before writing anything if the file
    cannot be imported faithfully. `progress(n)` is called after each batch of n ballots;
    `notes`, if given, receives one-line summaries for a person.
    """
    return import_headings(
        session,
        [("", pb)],
        region,
        actor,
        source=source or _source(pb),
        now=now,
        progress=progress,
        notes=notes,
    )


def import_headings(
    session,
    files: list[tuple[str, PabulibFile]],
    region,
    actor=None,
    *,
    source: str | None = None,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
    notes: list[str] | None = None,
) -> BudgetCycle:
    """One closed cycle with one heading per file: [(label, file)], the first file's heading
    is the main one and gives the cycle its title and rules. Each heading is named from its
    file's META (subunit, else district, else unit); a label (the path) prefixes errors
    and notes when there are several files. Nothing is written unless every file is usable.
    """
    now = now or utcnow()
    plans = []
    for label, pb in files:
        try:
            plans.append(_plan(pb, now))
        except PabulibError as exc:
            if len(files) > 1:
                raise PabulibError(f"{label}: {exc}") from None
            raise
    _unique_names(plans)
    first = plans[0]
    dates = _span([plan.dates for plan in plans])
    progress = progress or _no_progress
    cycle = BudgetCycle(
        title_kk=first.title,
        title_ru=first.title,
        title_en=first.title,
        summary_kk="",
        summary_ru="",
        summary_en="",
        region_id=region.id,
        budget=first.budget,
        min_votes=first.min_votes,
        ballot_rule="knapsack",
        winner_rule=first.winner_rule,
        ballots_final=True,
        created_by_id=actor.id if actor is not None else None,
        source=(source or " + ".join(_source(pb) for _label, pb in files))[:300],
        **dates,
    )
    session.add(cycle)
    session.flush()
    main = session.scalar(
        select(BudgetHeading).where(BudgetHeading.cycle_id == cycle.id, BudgetHeading.position == 0)
    )
    main.name = first.heading
    heading_ids = [main.id]
    for position, plan in enumerate(plans[1:], start=1):
        heading = BudgetHeading(
            cycle_id=cycle.id,
            position=position,
            name=plan.heading,
            budget=plan.budget,
            min_votes=plan.min_votes,
            ballot_rule="knapsack",
            winner_rule=plan.winner_rule,
        )
        session.add(heading)
        session.flush()
        heading_ids.append(heading.id)
    for (label, _pb), plan, heading_id in zip(files, plans, heading_ids):
        _store_plan(session, cycle, heading_id, plan, dates, progress)
        if notes is not None:
            withdrawn = sum(p.withdrawn for p in plan.projects)
            prefix = f"{label} ({plan.heading}): " if len(files) > 1 else ""
            notes.append(
                f"{prefix}{len(plan.projects) - withdrawn} projects on the ballot, "
                f"{withdrawn} withdrawn, {len(plan.ballots)} ballots"
            )
            if plan.dropped_approvals:
                notes.append(
                    f"{prefix}{plan.dropped_approvals} approvals of withdrawn projects left out"
                )
    integrity.freeze(cycle, now, session)
    record(
        session,
        actor,
        "budgeting.cycle_import",
        target=f"cycle:{cycle.id}",
        details={
            "source": cycle.source,
            "ballots": sum(len(plan.ballots) for plan in plans),
            "headings": [plan.heading for plan in plans],
        },
        region_code=code_of(region),
    )
    session.flush()
    return cycle


def _store_plan(session, cycle, heading_id, plan, dates, progress):
    """The projects and anonymised ballots of one file, in its heading."""
    stamp = dates["proposals_open_at"]
    proposals = {}
    for item in plan.projects:
        proposal = Proposal(
            cycle_id=cycle.id,
            heading_id=heading_id,
            author_id=None,
            external_id=item.external_id,
            title=item.title,
            description_html=item.description_html,
            category=item.category,
            estimated_cost=item.cost,
            status="withdrawn" if item.withdrawn else "feasible",
            funded=item.funded,
            implementation_status="planned" if item.funded else None,
            created_at=stamp,
            updated_at=stamp,
        )
        session.add(proposal)
        proposals[item.external_id] = proposal
    session.flush()
    ids = {external: proposal.id for external, proposal in proposals.items()}

    cast_at = dates["voting_open_at"]
    for start in range(0, len(plan.ballots), BATCH):
        chunk = plan.ballots[start : start + BATCH]
        rows = [
            {
                "cycle_id": cycle.id,
                "heading_id": heading_id,
                "channel": "imported",
                "ledger_version": 1,
                "receipt": "",
                "created_at": cast_at,
                "updated_at": cast_at,
            }
            for _ in chunk
        ]
        ballot_ids = session.scalars(
            insert(Ballot).returning(Ballot.id, sort_by_parameter_order=True), rows
        ).all()
        if start == 0:
            _known_not_empty(session)
        choices = [
            {"ballot_id": ballot_id, "proposal_id": ids[external]}
            for ballot_id, chosen in zip(ballot_ids, chunk)
            for external in chosen
        ]
        if choices:
            session.execute(insert(BallotChoice), choices)
        integrity.append(
            session,
            cycle,
            [
                (ballot_id, 1, [ids[external] for external in chosen])
                for ballot_id, chosen in zip(ballot_ids, chunk)
            ],
        )
        progress(len(chunk))


def heading_name(pb: PabulibFile) -> str:
    """A pot's name from its file: the local area (subunit), else district, else unit."""
    for key in ("subunit", "district", "unit"):
        name = " ".join((pb.meta.get(key) or "").split())
        if name:
            return name[:TITLE_LIMIT]
    return ""


def _unique_names(plans: list[_Plan]) -> None:
    """Headings of one cycle need distinct names: a repeated name gets " (2)", " (3)"..."""
    seen = set()
    for plan in plans:
        name, number = plan.heading or plan.title, 1
        while name in seen:
            number += 1
            suffix = f" ({number})"
            name = (plan.heading or plan.title)[: TITLE_LIMIT - len(suffix)] + suffix
        seen.add(name)
        plan.heading = name


def _span(all_dates: list[dict[str, dt.datetime]]) -> dict[str, dt.datetime]:
    """One schedule covering every file's vote: the earliest opening, the latest close."""
    if len(all_dates) == 1:
        return all_dates[0]
    opened = min(d["voting_open_at"] for d in all_dates)
    closed = max(d["voting_close_at"] for d in all_dates)
    return {
        "proposals_open_at": opened - dt.timedelta(days=60),
        "review_open_at": opened - dt.timedelta(days=30),
        "voting_open_at": opened,
        "voting_close_at": closed,
        "implementation_at": None,
    }


def _plan(pb: PabulibFile, now: dt.datetime) -> _Plan:
    lines = pb.lines or {}
    meta_line = lines.get("meta", {})

    def at(key: str) -> str:
        number = meta_line.get(key)
        return f"line {number}: " if number else ""

    if pb.vote_type != "approval":
        raise PabulibError(
            f"{at('vote_type')}vote_type is {pb.vote_type!r}: only approval ballots can be "
            "imported (portal ballots are approval ballots)"
        )
    budget = _whole(pb.meta["budget"], f"{at('budget')}budget")
    if budget <= 0:
        raise PabulibError(f"{at('budget')}the budget must be more than 0")
    plan = _Plan(
        title=_title(pb.meta.get("description") or pb.meta.get("name") or _source(pb)),
        heading=heading_name(pb),
        budget=budget,
        winner_rule=_winner_rule(pb.meta.get("rule", "")),
        min_votes=_min_votes(pb, at("min_project_score_threshold")),
        dates=_dates(pb.meta, now),
    )
    project_line = lines.get("projects", {})
    withdrawn = set()
    for row in pb.projects:
        external = row["project_id"]
        where = f"line {project_line[external]}: " if external in project_line else ""
        if len(external) > EXTERNAL_ID_LIMIT:
            raise PabulibError(
                f"{where}project id {external[:20]!r}... is longer than "
                f"{EXTERNAL_ID_LIMIT} characters"
            )
        cost = _whole(row["cost"], f"{where}project {external}: cost")
        if cost <= 0:
            raise PabulibError(f"{where}project {external}: the cost must be more than 0")
        is_withdrawn = cost == pabulib.WITHDRAWN_COST
        if is_withdrawn:
            withdrawn.add(external)
        name = (row.get("name") or "").strip()
        plan.projects.append(
            _Project(
                external_id=external,
                cost=cost,
                title=_title(name or f"Project {external}"),
                description_html=_description(name, row.get("description") or ""),
                category=_category(row.get("category") or ""),
                withdrawn=is_withdrawn,
                funded=row.get("selected", "").strip() == "1" and not is_withdrawn,
            )
        )
    for vote in pb.votes:
        chosen = list(dict.fromkeys(item.strip() for item in vote["vote"].split(",")))
        chosen = [item for item in chosen if item]
        kept = [item for item in chosen if item not in withdrawn]
        plan.dropped_approvals += len(chosen) - len(kept)
        plan.ballots.append(kept)
    return plan


def _whole(text: str, what: str) -> int:
    """A whole amount of money within the portal's bounds, or PabulibError naming `what`."""
    try:
        value = pabulib.parse_number(text)
    except ValueError:
        raise PabulibError(f"{what} {text!r} is not a number") from None
    if isinstance(value, Fraction):
        raise PabulibError(
            f"{what} {text} is not a whole amount: the portal keeps whole tenge and does not "
            "round; round the file's amounts first if that is acceptable"
        )
    if value > domain.MAX_TENGE:
        raise PabulibError(f"{what} {text} is more than {domain.MAX_TENGE}")
    return value


def _title(text: str) -> str:
    text = " ".join(text.split()) or "Imported budget"
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1] + "…"


def _description(name: str, description: str) -> str:
    """Escaped paragraphs: the description, else the (full) name."""
    paragraphs = [p.strip() for p in (description or name).splitlines() if p.strip()]
    if not paragraphs:
        return ""
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def _category(text: str) -> str:
    for item in (part.strip().lower() for part in text.split(",")):
        for category, words in CATEGORY_WORDS:
            if any(word in item for word in words):
                return category
    return "other"


def _winner_rule(rule: str) -> str:
    return "mes" if rule.strip().lower().startswith("equalshares") else "greedy"


def _min_votes(pb: PabulibFile, where: str) -> int | None:
    try:
        value = pabulib.threshold(pb)
    except PabulibError as exc:
        raise PabulibError(f"{where}{exc}") from None
    return None if value is None or value <= 0 else value


def _parse_date(text: str, last: bool) -> dt.date | None:
    text = (text or "").strip()
    if len(text) == 4 and text.isdigit():
        return dt.date(int(text), 12, 31) if last else dt.date(int(text), 1, 1)
    for pattern in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _dates(meta: dict[str, str], now: dt.datetime) -> dict[str, dt.datetime]:
    """Voting from date_begin to the end of date_end (Kazakhstan time); else just before now.

    Every date is in the past and there is no implementation date, so the phase is
    "results".
    """
    begin = _parse_date(meta.get("date_begin", ""), last=False)
    end = _parse_date(meta.get("date_end", ""), last=True)
    opened = closed = None
    if begin and end and begin <= end:
        opened = domain.local_to_utc(dt.datetime.combine(begin, dt.time()))
        closed = domain.local_to_utc(dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    if closed is None or closed > now:
        closed = now.replace(second=0, microsecond=0) - dt.timedelta(days=1)
        opened = closed - dt.timedelta(days=14)
    return {
        "proposals_open_at": opened - dt.timedelta(days=60),
        "review_open_at": opened - dt.timedelta(days=30),
        "voting_open_at": opened,
        "voting_close_at": closed,
        "implementation_at": None,
    }


def _source(pb: PabulibFile) -> str:
    parts = [pb.meta.get(k, "").strip() for k in ("country", "unit", "subunit", "instance")]
    return "pabulib: " + (" / ".join(p for p in parts if p) or "file")


# ----------------------------------------------------------------- export
def _ballot_projects(session, cycle, heading=None) -> list[Proposal]:
    """The projects that were on the ballot (of `heading`, if given), in the order they were
    created (file order)."""
    query = select(Proposal).where(Proposal.cycle_id == cycle.id, Proposal.status == "feasible")
    if heading is not None:
        query = query.where(Proposal.heading_id == heading.id)
    return session.scalars(query.order_by(Proposal.id)).all()


def export_project_ids(projects: list[Proposal]) -> dict[int, str]:
    """proposal id -> pabulib project id: the imported id, else the proposal id.

    If that would give two projects one id (an imported "12" next to proposal 12), every
    project uses its proposal id.
    """
    ids = {p.id: p.external_id or str(p.id) for p in projects}
    if len(set(ids.values())) != len(ids):
        ids = {p.id: str(p.id) for p in projects}
    return ids


def vote_rows(
    session, cycle, ids: dict[int, str], progress: Progress | None = None, heading=None
) -> Iterator[list[str]]:
    """One list of pabulib project ids per ballot of the cycle (of `heading`, if given), in
    ballot order (streamed).

    Choices of projects that are not in `ids` (not on the ballot) are left out; a ballot
    without any choice gives an empty list.
    """
    progress = progress or _no_progress
    # Ballot ids a batch at a time, then their choices by primary key: no plan can turn this
    # quadratic. One streamed join could: right after a bulk import PostgreSQL's statistics
    # still say the cycle has no ballots, and its cursor plan looped over every choice for
    # each ballot (minutes for Mokotow's 20,000 ballots).
    ballots = select(Ballot.id).where(Ballot.cycle_id == cycle.id).order_by(Ballot.id)
    if heading is not None:
        ballots = ballots.where(Ballot.heading_id == heading.id)
    choices = (
        select(BallotChoice.ballot_id, BallotChoice.proposal_id)
        .where(BallotChoice.ballot_id.in_(bindparam("ids", expanding=True)))
        .order_by(BallotChoice.ballot_id, BallotChoice.proposal_id)
    )
    last = None
    while True:
        page = ballots if last is None else ballots.where(Ballot.id > last)
        batch = session.scalars(page.limit(BATCH)).all()
        if not batch:
            return
        chosen = {ballot_id: [] for ballot_id in batch}
        for ballot_id, proposal_id in session.execute(choices, {"ids": batch}):
            if proposal_id in ids:
                chosen[ballot_id].append(ids[proposal_id])
        yield from chosen.values()
        progress(len(batch))
        last = batch[-1]


def _known_not_empty(session):
    """On PostgreSQL, tell the planner the ballot and project tables hold rows now.

    Every choice's foreign-key checks run a plan the connection cached; if these tables were
    last analysed empty, that plan scans the whole table per choice, and an import of 20,000
    ballots took minutes instead of seconds. ANALYZE sees this transaction's own rows and
    makes those plans be made again."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE budget_proposal, budget_ballot"))


def ballot_count(session, cycle, heading=None) -> int:
    query = select(func.count()).where(Ballot.cycle_id == cycle.id)
    if heading is not None:
        query = query.where(Ballot.heading_id == heading.id)
    return session.scalar(query)


def export_pabulib(
    session, cycle, *, progress: Progress | None = None, heading=None
) -> PabulibFile:
    """One heading of the cycle (default: the main one, which in a one-heading cycle is the
    whole cycle) as a pabulib approval file (projects on the ballot, anonymous ballots)."""
    from portal.budgeting import headings  # no cycle at import time
    from portal.budgeting.publishing import published_result

    several = headings.count(session, cycle) > 1
    heading = headings.resolve(session, cycle, heading)
    projects = _ballot_projects(session, cycle, heading)
    ids = export_project_ids(projects)
    votes, approvals = [], Counter()
    rows = vote_rows(session, cycle, ids, progress, heading)
    for number, chosen in enumerate(rows, start=1):
        approvals.update(chosen)
        votes.append({"voter_id": str(number), "vote": ",".join(chosen)})

    result = published_result(session, cycle, heading)
    if result is not None:
        winners = {int(pid) for pid in result.data.get("selected", [])}
    elif any(p.funded for p in projects):
        winners = {p.id for p in projects if p.funded}
    else:
        winners = None

    project_columns = ["project_id", "cost", "votes", "name", "category"]
    if winners is not None:
        project_columns.append("selected")
    rows = []
    for proposal in projects:
        external = ids[proposal.id]
        row = {
            "project_id": external,
            "cost": str(proposal.cost),
            "votes": str(approvals[external]),
            "name": " ".join(proposal.title.split()),
            "category": proposal.category,
        }
        if winners is not None:
            row["selected"] = "1" if proposal.id in winners else "0"
        rows.append(row)

    meta = _export_meta(cycle, heading, len(projects), len(votes))
    if several:  # which pot this is; a re-import names its heading after it
        meta["subunit"] = heading.name
    return PabulibFile(
        meta=meta,
        project_columns=project_columns,
        projects=rows,
        vote_columns=["voter_id", "vote"],
        votes=votes,
    )


def _export_meta(cycle, heading, num_projects: int, num_votes: int) -> dict[str, str]:
    if heading.winner_rule == "mes":
        rule = "equalshares/add1"
    elif heading.min_votes:
        rule = "greedy-threshold"
    else:
        rule = "greedy"
    opened = domain.utc_to_local(cycle.voting_open_at)
    closed = domain.utc_to_local(cycle.voting_close_at) - dt.timedelta(microseconds=1)
    meta = {
        "description": cycle.title_en or cycle.title_ru or cycle.title_kk,
        "country": "Kazakhstan",
        "unit": cycle.region.code,
        "instance": str(cycle.id),
        "num_projects": str(num_projects),
        "num_votes": str(num_votes),
        "budget": str(heading.budget),
        "vote_type": "approval",
        "rule": rule,
        "date_begin": opened.strftime("%d.%m.%Y"),
        "date_end": closed.strftime("%d.%m.%Y"),
        "currency": "KZT",
    }
    if heading.min_votes:
        meta["min_project_score_threshold"] = str(heading.min_votes)
    if heading.ballot_rule == "k_approval" and heading.max_choices:
        meta["max_length"] = str(heading.max_choices)
    elif heading.ballot_rule == "single":
        meta["max_length"] = "1"
    return meta
