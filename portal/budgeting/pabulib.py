"""Reader and writer for pabulib ``.pb`` files (pure Python, stdlib only).

A ``.pb`` file has three sections, each a ``;``-separated table::

    META            key;value rows (budget, vote_type, rule, ...)
    PROJECTS        header row with at least project_id;cost, then one row per project
    VOTES           header row with at least voter_id;vote, then one row per voter

Real files come with a UTF-8 BOM, CRLF or mixed line endings, quoted fields
(``"..."`` with ``""`` for a quote, so ``;`` may appear inside a name), decimal
budgets and costs (``969245.38``), spaces inside vote lists and the sentinel
cost 999999999 for withdrawn projects. The reader accepts all of that and keeps
every column, known or not, as the raw (stripped) string, so nothing is lost.

The writer emits one canonical form (UTF-8 without BOM, ``\\n`` line endings,
minimal quoting), so ``dumps(loads(dumps(f))) == dumps(f)`` byte for byte.

Any malformed input raises :class:`PabulibError` whose message names the line.
``to_instance`` turns an ``approval`` (or ``choose-1``) file into a tally
:class:`~portal.budgeting.tally.Instance`; ``cumulative``, ``scoring`` and
``ordinal`` files are read but refused there with a clear message. Money is
kept exact: ``969245.38`` becomes ``Fraction(96924538, 100)``, which is what
pabutools does too (``gmpy2.mpq`` of the decimal string).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from portal.budgeting.tally import Instance, Project

__all__ = [
    "TALLY_VOTE_TYPES",
    "PabulibError",
    "PabulibFile",
    "city_selected",
    "dump",
    "dumps",
    "load",
    "loads",
    "parse_number",
    "threshold",
    "to_instance",
]

SECTIONS = ("meta", "projects", "votes")
TALLY_VOTE_TYPES = ("approval", "choose-1")
KNOWN_VOTE_TYPES = TALLY_VOTE_TYPES + ("cumulative", "scoring", "ordinal")
WITHDRAWN_COST = 999999999  # pabulib's sentinel cost for a withdrawn project

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class PabulibError(ValueError):
    """A ``.pb`` file (or a conversion of it) is not usable; the message says why and where."""


@dataclass
class PabulibFile:
    """A parsed ``.pb`` file; every value is the raw stripped string from the file."""

    meta: dict[str, str] = field(default_factory=dict)
    project_columns: list[str] = field(default_factory=lambda: ["project_id", "cost"])
    projects: list[dict[str, str]] = field(default_factory=list)
    vote_columns: list[str] = field(default_factory=lambda: ["voter_id", "vote"])
    votes: list[dict[str, str]] = field(default_factory=list)
    # Where things were in the file, for later error messages (empty when built in code):
    # {"meta": {key: line}, "projects": {project_id: line}, "votes": [line per vote]}.
    lines: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def vote_type(self) -> str:
        return self.meta.get("vote_type", "approval").strip().lower()

    @property
    def budget(self) -> Fraction | int:
        return parse_number(self.meta["budget"])


def parse_number(text: str) -> Fraction | int:
    """Parse a pabulib number exactly: an ``int`` when integral, else a ``Fraction``.

    A decimal comma is accepted (pabutools does the same); NaN and infinities are not.
    """
    cleaned = text.strip().replace(",", ".")
    try:
        value = Fraction(cleaned)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"not a number: {text!r}") from None
    return value.numerator if value.denominator == 1 else value


# ----------------------------------------------------------------- reading
def load(path: str | Path) -> PabulibFile:
    """Read a ``.pb`` file from disk (see :func:`loads`)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PabulibError(f"{path}: cannot read file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PabulibError(f"line {line}: not valid UTF-8") from None
    return loads(text)


def loads(text: str) -> PabulibFile:
    """Parse the text of a ``.pb`` file; raises :class:`PabulibError` naming the line."""
    return _Parser(text).parse()


_REQUIRED = {"projects": ("project_id", "cost"), "votes": ("voter_id", "vote")}


class _Parser:
    """One pass over the lines; remembers line numbers only for error messages."""

    def __init__(self, text: str):
        self.lines = _LINE_BREAK.split(text.removeprefix("\ufeff"))
        self.result = PabulibFile(project_columns=[], vote_columns=[])
        self.section_line: dict[str, int] = {}
        self.meta_line: dict[str, int] = {}
        self.vote_line: list[int] = []
        self.project_ids: set[str] = set()
        self.project_line: dict[str, int] = {}

    def parse(self) -> PabulibFile:
        rows = _rows(self.lines)
        section, header = None, []
        for number, row in rows:
            name = row[0].lower() if len(row) == 1 else None
            if name in SECTIONS:
                if name in self.section_line:
                    raise PabulibError(f"line {number}: second {name.upper()} section")
                self.section_line[name] = number
                section, header = name, self._header(rows, name, number)
                continue
            if section is None:
                raise PabulibError(f"line {number}: expected META, found {row[0]!r}")
            if len(row) != len(header):
                raise PabulibError(
                    f"line {number}: {len(row)} fields, but the header has {len(header)}"
                )
            getattr(self, f"_add_{section}")(row, header, number)
        self._check_sections()
        self._check_meta()
        self._check_votes()
        self.result.lines = {
            "meta": self.meta_line,
            "projects": self.project_line,
            "votes": self.vote_line,
        }
        return self.result

    def _header(self, rows, name: str, number: int) -> list[str]:
        try:
            header_number, header = next(rows)
        except StopIteration:
            raise PabulibError(f"line {number}: {name.upper()} section has no header row") from None
        if name == "meta":
            if len(header) != 2:
                raise PabulibError(f"line {header_number}: META header must be 'key;value'")
            return header
        for column in _REQUIRED[name]:
            if column not in header:
                raise PabulibError(
                    f"line {header_number}: {name.upper()} header has no '{column}' column"
                )
        if len(set(header)) != len(header) or "" in header:
            raise PabulibError(
                f"line {header_number}: {name.upper()} header has an empty or repeated column"
            )
        setattr(
            self.result,
            "project_columns" if name == "projects" else "vote_columns",
            header,
        )
        return header

    def _add_meta(self, row: list[str], header: list[str], number: int) -> None:
        key, value = row
        if not key:
            raise PabulibError(f"line {number}: META row without a key")
        if key in self.result.meta:
            raise PabulibError(f"line {number}: META key {key!r} given twice")
        self.result.meta[key] = value
        self.meta_line[key] = number

    def _add_projects(self, row: list[str], header: list[str], number: int) -> None:
        project = dict(zip(header, row))
        project_id = project["project_id"]
        if not project_id:
            raise PabulibError(f"line {number}: project without an id")
        if project_id in self.project_ids:
            raise PabulibError(f"line {number}: project {project_id} listed twice")
        try:
            cost = parse_number(project["cost"])
        except ValueError:
            raise PabulibError(
                f"line {number}: project {project_id}: bad cost {project['cost']!r}"
            ) from None
        if cost < 0:
            raise PabulibError(
                f"line {number}: project {project_id}: negative cost {project['cost']}"
            )
        self.project_ids.add(project_id)
        self.project_line[project_id] = number
        self.result.projects.append(project)

    def _add_votes(self, row: list[str], header: list[str], number: int) -> None:
        self.result.votes.append(dict(zip(header, row)))
        self.vote_line.append(number)

    def _check_sections(self) -> None:
        seen = self.section_line
        for name in SECTIONS:
            if name not in seen:
                raise PabulibError(
                    f"line {len(self.lines)}: end of file without a {name.upper()} section"
                )
        if not seen["meta"] < seen["projects"] < seen["votes"]:
            raise PabulibError(f"line {seen['votes']}: sections must come as META, PROJECTS, VOTES")

    def _check_meta(self) -> None:
        meta, top = self.result.meta, self.section_line["meta"]
        for key in ("budget", "vote_type"):
            if key not in meta:
                raise PabulibError(f"line {top}: META has no '{key}'")
        line = self.meta_line["budget"]
        try:
            budget = self.result.budget
        except ValueError:
            raise PabulibError(f"line {line}: bad budget {meta['budget']!r}") from None
        if budget < 0:
            raise PabulibError(f"line {line}: negative budget {meta['budget']}")
        if self.result.vote_type not in KNOWN_VOTE_TYPES:
            line = self.meta_line["vote_type"]
            raise PabulibError(f"line {line}: unknown vote_type {meta['vote_type']!r}")

    def _check_votes(self) -> None:
        known = self.project_ids
        scored = self.result.vote_type in ("cumulative", "scoring")
        for vote, number in zip(self.result.votes, self.vote_line):
            items = _split_list(vote["vote"])
            for project_id in items:
                if project_id not in known:
                    raise PabulibError(f"line {number}: vote for unknown project {project_id!r}")
            if scored and "points" in vote and len(_split_list(vote["points"])) != len(items):
                raise PabulibError(f"line {number}: 'points' and 'vote' have different lengths")


def _rows(lines: list[str]):
    """Yield ``(line_number, fields)`` for every non-blank line, fields stripped."""
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        if '"' in line:
            try:
                fields = next(csv.reader([line], delimiter=";", strict=True))
            except csv.Error as exc:
                raise PabulibError(f"line {index + 1}: bad quoting ({exc})") from None
        else:
            fields = line.split(";")
        yield index + 1, [f.strip() for f in fields]


def _split_list(text: str) -> list[str]:
    """Split a comma list, dropping spaces and empty items (``"1, 2,"`` -> ``["1", "2"]``)."""
    return [item.strip() for item in text.split(",") if item.strip()]


# ----------------------------------------------------------------- writing
def dumps(parsed: PabulibFile) -> str:
    """Serialise to the canonical ``.pb`` text (``\\n`` line endings, minimal quoting)."""
    lines = ["META", "key;value"]
    lines += [_join([key, value]) for key, value in parsed.meta.items()]
    lines += ["PROJECTS", _join(parsed.project_columns)]
    lines += [_join([p.get(c, "") for c in parsed.project_columns]) for p in parsed.projects]
    lines += ["VOTES", _join(parsed.vote_columns)]
    lines += [_join([v.get(c, "") for c in parsed.vote_columns]) for v in parsed.votes]
    return "\n".join(lines) + "\n"


def dump(parsed: PabulibFile, path: str | Path) -> None:
    """Write the canonical ``.pb`` text to ``path`` as UTF-8."""
    Path(path).write_bytes(dumps(parsed).encode("utf-8"))


def _join(fields: list[str]) -> str:
    return ";".join(_quote(str(f)) for f in fields)


def _quote(value: str) -> str:
    if any(ch in value for ch in ';"\r\n') or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


# ----------------------------------------------------------------- tallying
def to_instance(parsed: PabulibFile) -> Instance:
    """Projects, budget and approval ballots of an approval file, exact.

    Raises :class:`PabulibError` for vote types that cannot be tallied
    (``cumulative``, ``scoring``, ``ordinal``).
    """
    if parsed.vote_type not in TALLY_VOTE_TYPES:
        raise PabulibError(
            f"vote_type is {parsed.vote_type!r}: only approval ballots can be tallied "
            "(greedy and the Method of Equal Shares here use approval votes)"
        )
    projects = tuple(Project(p["project_id"], parse_number(p["cost"])) for p in parsed.projects)
    ballots = tuple(frozenset(_split_list(v["vote"])) for v in parsed.votes)
    return Instance(parsed.budget, projects, ballots, meta=dict(parsed.meta))


def city_selected(parsed: PabulibFile) -> list[str] | None:
    """Ids the city funded (``selected`` = 1), or None without a ``selected`` column.

    ``selected`` = 2 (funded outside the rule, e.g. partially) does not count,
    as in the pabulib reference results.
    """
    if "selected" not in parsed.project_columns:
        return None
    return [p["project_id"] for p in parsed.projects if p["selected"] == "1"]


def threshold(parsed: PabulibFile) -> int | None:
    """META ``min_project_score_threshold`` as an int (floored), or None."""
    text = parsed.meta.get("min_project_score_threshold")
    if text is None or not text.strip():
        return None
    try:
        return math.floor(parse_number(text))
    except ValueError:
        raise PabulibError(f"META min_project_score_threshold is not a number: {text!r}") from None
