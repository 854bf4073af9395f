"""Exports of budget cycles and consultations: scope checks, datasets, the audit log.

No Flask here: views and the CLI call the same functions. Rows come from the database with
`yield_per` (a server-side cursor on PostgreSQL), so memory does not grow with the number of
ballots or comments. No export carries an IIN, a name, a phone, an e-mail, a receipt or a
voter's account id: ballots are numbered 1..N and carry only channel, district, age band and
sex; comments carry no author; a rejected or hidden comment's text is left out (it may be
the very personal data it was rejected for).
"""

import html
import os
import re
import tempfile
from collections.abc import Iterator

from sqlalchemy import String, cast, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from portal.accounts.models import utcnow
from portal.audit import code_of, record
from portal.bilingual import STATE_LANGUAGES, in_state_language
from portal.budgeting.models import Ballot, BallotChoice, BudgetCycle, CycleResult, Proposal
from portal.budgeting.services import ballot_projects
from portal.consultations.models import Article, Comment, Draft, Paragraph
from portal.consultations.services import effective_status
from portal.exports import formats
from portal.exports.formats import Column, Dataset, Table
from portal.exports.models import ExportLog
from portal.regions.models import District, Region

CYCLE_FORMATS = ("csv", "xlsx", "json", "sqlite", "pb")
DRAFT_FORMATS = ("csv", "xlsx", "json", "sqlite")
# The table a CSV holds (one table per file); the first is the default.
CYCLE_PARTS = ("tally", "ballots", "proposals")
DRAFT_PARTS = ("comments", "summary", "articles")
PART_TABLES = {"tally": "projects"}  # CSV part -> dataset table, where the names differ
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json; charset=utf-8",
    "sqlite": "application/vnd.sqlite3",
    "pb": "text/plain; charset=utf-8",
}
AGE_BANDS = ((0, 17, "under-18"), (18, 29, "18-29"), (30, 44, "30-44"), (45, 59, "45-59"))
YIELD_PER = 5000
_TAGS = re.compile(r"<[^>]*>")


class ExportError(Exception):
    """A refused export; `code` is stable so views and the CLI can translate it."""

    def __init__(self, code, **details):
        super().__init__(code)
        self.code = code
        self.details = details


# ------------------------------------------------------------------ scope
def may_export(user, region_id, roles=("staff",)):
    """Admins export everything; staff (and, for consultations, moderators) their region."""
    if user is None:  # the command line: the operator already has the database
        return True
    if getattr(user, "is_admin", False):
        return True
    return user.role in roles and region_id is not None and user.scope_region_id == region_id


def cycle_for_export(session, user, cycle_id, now=None):
    """The cycle if the user may export it; `not_found` hides other regions' cycles."""
    cycle = session.get(BudgetCycle, cycle_id) if _is_id(cycle_id) else None
    if cycle is None or not may_export(user, cycle.region_id):
        raise ExportError("not_found")
    if cycle.phase(now or utcnow()) == "voting":
        raise ExportError("voting_open")
    return cycle


def draft_for_export(session, user, draft_id):
    draft = session.get(Draft, draft_id) if _is_id(draft_id) else None
    if draft is None or not may_export(user, draft.region_id, roles=("staff", "moderator")):
        raise ExportError("not_found")
    return draft


def _is_id(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31


def check_request(subject, fmt, part=None):
    """(format, part) after checking both against the subject's lists."""
    if subject == "cycle":
        formats_, parts = CYCLE_FORMATS, CYCLE_PARTS
    else:
        formats_, parts = DRAFT_FORMATS, DRAFT_PARTS
    if fmt not in formats_:
        raise ExportError("format_unknown", allowed=", ".join(formats_))
    if part in (None, ""):
        part = parts[0]
    if part not in parts:
        raise ExportError("part_unknown", allowed=", ".join(parts))
    return fmt, part


def file_name(subject, subject_id, fmt, part, now=None):
    """A name made only of the server's own safe characters (never from the request)."""
    stamp = (now or utcnow()).strftime("%Y%m%d-%H%M")
    middle = f"-{part}" if fmt == "csv" else ""
    return f"tynda-{subject}-{int(subject_id)}{middle}-{stamp}.{fmt}"


def record_export(session, user, subject, obj, fmt, part, filename, via="web", now=None):
    """Append one audit row (flushed; the caller commits)."""
    entry = ExportLog(
        at=now or utcnow(),
        user_id=user.id if user is not None else None,
        via=via,
        subject=subject,
        subject_id=obj.id,
        region_id=obj.region_id,
        format=fmt,
        part=part if fmt == "csv" else None,
        filename=filename,
    )
    session.add(entry)
    record(
        session,
        user,
        "exports.download",
        target=f"{subject}:{obj.id}",
        details={"format": fmt, "part": entry.part, "file": filename, "via": via},
        region_code=code_of(session.get(Region, obj.region_id)) if obj.region_id else None,
        now=now,
    )
    session.flush()
    return entry


def export_log(session, user, limit=200):
    statement = select(ExportLog).order_by(ExportLog.id.desc()).limit(limit)
    if not getattr(user, "is_admin", False):
        statement = statement.where(ExportLog.region_id == user.scope_region_id)
    return session.scalars(statement).all()


# ------------------------------------------------------------------ helpers
def age_band(birth_year, year):
    if birth_year is None:
        return None
    age = year - birth_year
    for low, high, name in AGE_BANDS:
        if low <= age <= high:
            return name
    return "60+"


def plain_text(stored_html):
    """Comment text (sanitised HTML whose only tags are generated links) as plain text."""
    return html.unescape(_TAGS.sub("", stored_html or ""))


def _stamp(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _state_columns(*fields):
    """Columns of the texts in Kazakh and Russian besides an original (portal.bilingual),
    appended after the older columns so files read by position keep their layout."""
    return [Column(f"{field}_{lang}") for field in fields for lang in STATE_LANGUAGES]


def _localized(obj, field, lang):
    order = [lang] + [code for code in ("kk", "ru", "en") if code != lang]
    for code in order:
        value = getattr(obj, f"{field}_{code}", None)
        if value:
            return value
    return ""


# ------------------------------------------------------------------ budget cycles
def cycle_results(session, cycle):
    """{rule: CycleResult} of every computed rule (published or not)."""
    return {
        r.rule: r
        for r in session.scalars(select(CycleResult).where(CycleResult.cycle_id == cycle.id))
    }


def cycle_dataset(session, cycle, lang="en", labels=None, now=None, value_labels=None):
    """Tally, ballots and proposals of a cycle whose vote has closed (or never opened).

    value_labels: column key -> {code: label} for the people's formats (CSV, XLSX)."""
    labels = labels or {}
    region = session.get(Region, cycle.region_id)
    district_rows = session.scalars(
        select(District).where(District.region_id == cycle.region_id)
    ).all()
    districts = {d.id: d.slug for d in district_rows}
    value_labels = dict(value_labels or {})
    value_labels["district"] = {d.slug: _localized(d, "name", lang) for d in district_rows}
    results = cycle_results(session, cycle)
    ballot_count = session.scalar(
        select(func.count()).select_from(Ballot).where(Ballot.cycle_id == cycle.id)
    )
    meta = {
        "subject": "budget_cycle",
        "cycle_id": cycle.id,
        "title": _localized(cycle, "title", lang),
        "region": region.code,
        "region_name": _localized(region, "name", lang),
        "budget": cycle.budget,
        "ballot_rule": cycle.ballot_rule,
        "winner_rule": cycle.winner_rule,
        "min_votes": cycle.min_votes,
        "voting_open_at": _stamp(cycle.voting_open_at),
        "voting_close_at": _stamp(cycle.voting_close_at),
        "phase": cycle.phase(now or utcnow()),
        "ballots": ballot_count,
        "rules_computed": ",".join(sorted(results)),
        "exported_at": _stamp(now or utcnow()),
    }
    vote_year = cycle.voting_open_at.year

    def tally_rows():
        counts = dict(
            session.execute(
                select(BallotChoice.proposal_id, func.count())
                .join(Ballot, Ballot.id == BallotChoice.ballot_id)
                .where(Ballot.cycle_id == cycle.id)
                .group_by(BallotChoice.proposal_id)
            ).all()
        )
        chosen = {rule: set(r.data.get("selected", ())) for rule, r in results.items()}
        projects = ballot_projects(session, cycle)
        for p in sorted(projects, key=lambda p: (-counts.get(p.id, 0), p.id)):
            yield (
                p.id,
                p.title,
                p.category,
                districts.get(p.district_id),
                p.cost,
                counts.get(p.id, 0),
                (p.id in chosen["greedy"]) if "greedy" in chosen else None,
                (p.id in chosen["mes"]) if "mes" in chosen else None,
                p.funded,
                p.title_kk or None,
                p.title_ru or None,
            )

    def proposal_rows():
        statement = (
            select(
                Proposal.id,
                Proposal.title,
                Proposal.category,
                Proposal.district_id,
                Proposal.address,
                Proposal.estimated_cost,
                Proposal.final_cost,
                Proposal.status,
                Proposal.review_reason,
                Proposal.funded,
                Proposal.implementation_status,
                Proposal.progress,
                Proposal.created_at,
                Proposal.title_kk,
                Proposal.title_ru,
            )
            .where(Proposal.cycle_id == cycle.id)
            .order_by(Proposal.id)
            .execution_options(yield_per=YIELD_PER)
        )
        for row in session.execute(statement):
            row = list(row)
            row[3] = districts.get(row[3])
            row[12] = row[12].date() if row[12] else None
            row[13], row[14] = row[13] or None, row[14] or None
            yield tuple(row)

    tally = Table(
        "projects",
        [
            Column("id", "int"),
            Column("title"),
            Column("category"),
            Column("district"),
            Column("cost", "money"),
            Column("votes", "int"),
            Column("selected_greedy", "bool"),
            Column("selected_mes", "bool"),
            Column("funded", "bool"),
            *_state_columns("title"),
        ],
        tally_rows,
        labels=labels,
        value_labels=value_labels or {},
    )
    ballots = Table(
        "ballots",
        [
            Column("id", "int"),
            Column("channel", "code"),
            Column("district", "code"),
            Column("age_band", "code"),
            Column("sex", "code"),
            Column("choices", "ids", ref="projects"),
        ],
        lambda: ballot_rows(session, cycle, districts, vote_year),
        labels=labels,
        value_labels=value_labels or {},
    )
    proposals = Table(
        "proposals",
        [
            Column("id", "int"),
            Column("title"),
            Column("category"),
            Column("district"),
            Column("address"),
            Column("estimated_cost", "money"),
            Column("final_cost", "money"),
            Column("status"),
            Column("review_reason"),
            Column("funded", "bool"),
            Column("implementation_status"),
            Column("progress", "int"),
            Column("submitted_on", "date"),
            *_state_columns("title"),
        ],
        proposal_rows,
        fts=("title", "title_kk", "title_ru"),
        labels=labels,
        value_labels=value_labels or {},
    )
    return Dataset(meta, [tally, ballots, proposals])


def ballot_rows(session, cycle, districts, vote_year):
    """(number, channel, district slug, age band, sex, "id,id,...") per ballot, streamed.

    One pass over the cycle's ballots in id order (numbers are 1..N in that order), each
    with its voter (an outer join: imported ballots have none, so no age band or sex) and
    its choices as a correlated subquery joined by the database: an index search per ballot
    on the choice table's primary key, with no GROUP BY and no sort. The ids come joined
    ("3,7,12", in proposal order) and are passed on as they are (CSV and .pb want them so).
    On SQLite the rows come straight from the DBAPI cursor in batches (no SQLAlchemy row
    objects); elsewhere through a server-side cursor (`yield_per`).
    """
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    proposal_id = cast(BallotChoice.proposal_id, String)
    if postgres:  # the order of string_agg's input is otherwise unspecified
        joined = func.string_agg(proposal_id, aggregate_order_by(",", BallotChoice.proposal_id))
    else:  # SQLite aggregates in the order of the primary key's index search
        joined = func.aggregate_strings(proposal_id, ",")
    choices = select(joined).where(BallotChoice.ballot_id == Ballot.id).scalar_subquery()
    statement = (
        select(Ballot.channel, Ballot.district_id, Ballot.birth_year, Ballot.sex, choices)
        .where(Ballot.cycle_id == cycle.id)
        .order_by(Ballot.id)
    )
    bands = {year: age_band(year, vote_year) for year in range(vote_year - 120, vote_year + 1)}
    bands[None] = None
    districts = {**districts, None: None}
    number = 0
    for batch in _row_batches(connection, statement):
        for channel, district_id, birth_year, sex, ids in batch:
            number += 1
            band = bands[birth_year] if birth_year in bands else age_band(birth_year, vote_year)
            yield (number, channel, districts.get(district_id), band, sex, ids or "")


def _row_batches(connection, statement, size=YIELD_PER):
    """Lists of plain row tuples. SQLite: the DBAPI cursor itself (fetchmany), which skips
    SQLAlchemy's per-row work; other databases: a server-side cursor via `yield_per`."""
    if connection.dialect.name != "sqlite":
        # Per statement: Connection.execution_options would change the session's
        # connection in place, and its later SAVEPOINT/ROLLBACK would go to a cursor too.
        result = connection.execute(statement.execution_options(yield_per=size))
        yield from result.partitions(size)
        return
    compiled = statement.compile(dialect=connection.dialect)
    params = compiled.construct_params()
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.execute(str(compiled), [params[name] for name in compiled.positiontup])
        while batch := cursor.fetchmany(size):
            yield batch
    finally:
        cursor.close()


def pb_chunks(session, cycle, lang="en", now=None, progress=None) -> Iterator[str]:
    """The cycle as a pabulib `.pb` file (approval ballots; voters numbered 1..N)."""
    dataset = cycle_dataset(session, cycle, lang, now=now)
    region = session.get(Region, cycle.region_id)
    winner = cycle_results(session, cycle).get(cycle.winner_rule)
    selected = set(winner.data.get("selected", ())) if winner else None
    projects = list(dataset.table("projects").rows())
    meta = {
        "description": _localized(cycle, "title", lang),
        "country": "Kazakhstan",
        "unit": _localized(region, "name", "en"),
        "instance": str(cycle.id),
        "num_projects": str(len(projects)),
        "num_votes": str(dataset.meta["ballots"]),
        "budget": str(cycle.budget),
        "vote_type": "approval",
        "rule": "greedy" if cycle.winner_rule == "greedy" else "equalshares",
        "date_begin": cycle.voting_open_at.strftime("%Y-%m-%d"),
        "date_end": cycle.voting_close_at.strftime("%Y-%m-%d"),
        "currency": "KZT",
        "language": lang,
    }
    if cycle.ballot_rule == "k_approval":
        meta["max_length"] = str(cycle.max_choices)
    project_columns = ["project_id", "cost", "votes", "name", "category"]
    project_rows = []
    for p in projects:
        row = [p[0], p[4], p[5], p[1], p[2]]
        if selected is not None:
            row.append(1 if p[0] in selected else 0)
        project_rows.append(row)
    if selected is not None:
        project_columns.append("selected")
    vote_columns = ["voter_id", "vote", "voting_method", "district", "age_band", "sex"]
    methods = {"online": "internet", "paper": "paper"}

    def votes():  # finished lines: numbers and joined ids never need quoting
        method = formats.PbFields(lambda channel: formats.pb_field(methods.get(channel, channel)))
        code = formats.PbFields()  # district, age band, sex: small vocabularies; None -> ""
        for number, channel, district, band, sex, ids in dataset.table("ballots").rows():
            yield f"{number};{ids};{method[channel]};{code[district]};{code[band]};{code[sex]}"

    return formats.iter_pb(meta, project_columns, project_rows, vote_columns, votes(), progress)


# ------------------------------------------------------------------ consultations
def draft_dataset(session, draft, lang="en", labels=None, now=None, value_labels=None):
    """Articles, every comment with its decision, and the summary table of a draft."""
    labels = labels or {}
    region = session.get(Region, draft.region_id) if draft.region_id else None
    counts = dict(
        session.execute(
            select(Comment.status, func.count())
            .where(Comment.draft_id == draft.id)
            .group_by(Comment.status)
        ).all()
    )
    meta = {
        "subject": "draft",
        "draft_id": draft.id,
        "title": _localized(draft, "title", lang),
        "agency": draft.agency,
        "kind": draft.kind,
        "region": region.code if region else None,
        "status": effective_status(draft, now),
        "period_start": _stamp(draft.period_start),
        "period_end": _stamp(draft.period_end),
        "answer_due": _stamp(draft.answer_due),
        "comments": sum(counts.values()),
        "published": counts.get("published", 0),
        "exported_at": _stamp(now or utcnow()),
        "text_language": draft.text_language,
        "second_language": draft.second_language,
    }

    original = draft.text_language

    def article_rows():
        for a in session.scalars(
            select(Article).where(Article.draft_id == draft.id).order_by(Article.position)
        ):
            yield (
                a.id,
                a.position,
                a.number,
                a.title,
                a.chapter,
                *(
                    in_state_language(a, field, lang, original)
                    for field in ("title", "chapter", "text")
                    for lang in STATE_LANGUAGES
                ),
            )

    def comment_rows():
        statement = (
            select(
                Comment.id,
                Comment.article_id,
                Article.number,
                Paragraph.number,
                Comment.stance,
                Comment.status,
                Comment.reject_reason,
                Comment.text,
                Comment.proposed_wording,
                Comment.campaign_id,
                Comment.topic,
                Comment.created_at,
                Comment.decision,
                Comment.justification,
                Comment.new_wording,
                Comment.answered_at,
                Comment.text_language,
            )
            .outerjoin(Article, Article.id == Comment.article_id)
            .outerjoin(Paragraph, Paragraph.id == Comment.paragraph_id)
            .where(Comment.draft_id == draft.id)
            .order_by(Comment.id)
            .execution_options(yield_per=YIELD_PER)
        )
        for row in session.execute(statement):
            row = list(row)
            public = row[5] in ("published", "pending")
            row[7] = plain_text(row[7]) if public else ""
            row[8] = row[8] if public else ""
            yield tuple(row)

    def summary_rows():
        statement = (
            select(
                Comment.id,
                Article.number,
                Comment.text,
                Comment.stance,
                Comment.decision,
                Comment.justification,
                Comment.new_wording,
                Comment.answered_at,
                Comment.text_language,
            )
            .outerjoin(Article, Article.id == Comment.article_id)
            .where(Comment.draft_id == draft.id, Comment.status == "published")
            .order_by(Article.position.is_(None).desc(), Article.position, Comment.id)
            .execution_options(yield_per=YIELD_PER)
        )
        for row in session.execute(statement):
            row = list(row)
            row[2] = plain_text(row[2])
            row[7] = row[7].date() if row[7] else None
            yield tuple(row)

    comments = Table(
        "comments",
        [
            Column("id", "int"),
            Column("article_id", "int", ref="articles"),
            Column("article"),
            Column("paragraph"),
            Column("stance"),
            Column("status"),
            Column("reject_reason"),
            Column("text"),
            Column("proposed_wording"),
            Column("campaign_id", "int"),
            Column("topic"),
            Column("received_at", "datetime"),
            Column("decision"),
            Column("justification"),
            Column("new_wording"),
            Column("answered_at", "datetime"),
            Column("text_language"),
        ],
        comment_rows,
        fts=("text", "proposed_wording", "justification"),
        labels=labels,
        value_labels=value_labels or {},
    )
    summary = Table(
        "summary",
        [
            Column("id", "int", ref="comments"),
            Column("article"),
            Column("text"),
            Column("stance"),
            Column("decision"),
            Column("justification"),
            Column("new_wording"),
            Column("answered_on", "date"),
            Column("text_language"),
        ],
        summary_rows,
        pk=None,
        labels=labels,
        value_labels=value_labels or {},
    )
    articles = Table(
        "articles",
        [
            Column("id", "int"),
            Column("position", "int"),
            Column("number"),
            Column("title"),
            Column("chapter"),
            *_state_columns("title", "chapter", "text"),
        ],
        article_rows,
        labels=labels,
        value_labels=value_labels or {},
    )
    return Dataset(meta, [articles, comments, summary])


# ------------------------------------------------------------------ producing files
def reading_session(bind):
    """A session of its own for producing an export, after the request or command has
    checked it. On an engine it is read-only (SQLite: a deferred BEGIN, so a long export
    reads a WAL snapshot without holding the write lock); an open connection (tests) is used
    as it is."""
    if isinstance(bind, Engine):
        bind = bind.execution_options(read_only=True)
    return Session(bind=bind)


def export_chunks(
    dataset_or_pb, fmt, part, progress=None, sheet_titles=None, tmp_dir=None
) -> Iterator[bytes]:
    """The export as byte chunks: CSV/JSON/.pb stream; XLSX/SQLite go through a temp file
    that is deleted as soon as it has been read (or the download is abandoned)."""
    if fmt == "pb":
        yield from (chunk.encode("utf-8") for chunk in dataset_or_pb)
        return
    dataset = dataset_or_pb
    if fmt == "csv":
        table = dataset.table(PART_TABLES.get(part, part)).labelled()
        for chunk in formats.iter_csv(table, progress):
            yield chunk.encode("utf-8")
        return
    if fmt == "json":
        for chunk in formats.iter_json(dataset, progress):
            yield chunk.encode("utf-8")
        return
    handle, path = tempfile.mkstemp(suffix=f".{fmt}", dir=tmp_dir)
    os.close(handle)
    try:
        if fmt == "xlsx":
            labelled = formats.Dataset(dataset.meta, [t.labelled() for t in dataset.tables])
            formats.write_xlsx(labelled, path, progress, sheet_titles=sheet_titles)
        elif fmt == "sqlite":
            formats.write_sqlite(dataset, path, progress)
        else:
            raise ExportError("format_unknown")
        with open(path, "rb") as handle_:
            while chunk := handle_.read(256 * 1024):
                yield chunk
    finally:
        os.unlink(path)


def build(
    session,
    subject,
    obj,
    fmt,
    part,
    *,
    lang="en",
    labels=None,
    sheet_titles=None,
    now=None,
    progress=None,
    value_labels=None,
):
    """Byte chunks of one export (the subject already checked by *_for_export).

    labels: column key -> header in the reader's language (CSV, XLSX); sheet_titles: table
    name -> sheet title (XLSX).
    """
    if subject == "cycle":
        if fmt == "pb":
            return export_chunks(pb_chunks(session, obj, lang, now, progress), fmt, part)
        dataset = cycle_dataset(session, obj, lang, labels, now, value_labels)
    else:
        dataset = draft_dataset(session, obj, lang, labels, now, value_labels)
    return export_chunks(dataset, fmt, part, progress, sheet_titles)


# CSV, JSON and .pb are written row by row as they are read, so a small one streams straight
# from the request: up to this many rows it is sent in about a second, no worse than a page.
# Bigger ones, and every XLSX and SQLite file (complete before the first byte, built in a
# temp file), are built by a background job (portal/exports/jobs.py). EXPORT_STREAM_ROWS
# in the config overrides it.
STREAM_ROWS = 20_000
STREAM_FORMATS = ("csv", "json", "pb")


def streams(fmt, rows, limit=STREAM_ROWS):
    """Whether an export of `rows` rows is sent from the request rather than by a job."""
    return fmt in STREAM_FORMATS and rows <= limit


def row_estimate(subject, fmt, part, *, ballots=0, proposals=0, comments=0):
    """How many rows an export writes, from the subject's counts."""
    if subject == "cycle":
        if fmt == "pb" or (fmt == "csv" and part == "ballots"):
            return ballots
        if fmt == "csv":
            return proposals
        return ballots + 2 * proposals
    return comments if fmt == "csv" else 2 * comments


def row_total(session, subject, obj, fmt, part):
    """How many rows an export writes (progress bars, and whether it streams)."""
    if subject == "cycle":
        ballots = session.scalar(
            select(func.count()).select_from(Ballot).where(Ballot.cycle_id == obj.id)
        )
        proposals = session.scalar(
            select(func.count()).select_from(Proposal).where(Proposal.cycle_id == obj.id)
        )
        return row_estimate(subject, fmt, part, ballots=ballots, proposals=proposals)
    comments = session.scalar(
        select(func.count()).select_from(Comment).where(Comment.draft_id == obj.id)
    )
    return row_estimate(subject, fmt, part, comments=comments)
