"""Writers for exports: CSV, XLSX, JSON, SQLite and pabulib `.pb`. Pure: no Flask, no ORM.

A dataset is a `meta` dict and `Table`s whose rows are produced lazily by a callable, so
every writer consumes each row once and memory stays bounded whatever the row count: CSV,
JSON and `.pb` yield text chunks; XLSX (openpyxl write-only) and SQLite (sqlite-utils) are
written to a file the caller streams afterwards.

Formula injection: a text cell starting with = + - @ TAB or CR would be run by Excel or
LibreOffice. CSV gets a leading apostrophe (the OWASP advice); XLSX keeps the text but
stores it as a string cell with Excel's quote prefix. Numbers are never touched.
The cell rules (BOM, formula prefixes, number formats) are those of `portal.spreadsheets`,
imported from there; this module adds multi-table datasets, streaming and the other formats.
"""

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from portal.spreadsheets import (
    BOM,
    DATE_FORMAT,
    DATETIME_FORMAT,
    FORMULA_PREFIXES,
    TENGE_FORMAT,
    neutralise,
)

XLSX_MAX_ROWS = 1_048_576  # per sheet, header included
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
CHUNK_ROWS = 2000

# Column kinds: text, code (a machine code from a fixed list, e.g. "online" or a district
# slug: never formula-like, so written as it is), int, money (whole tenge), bool, date,
# datetime, ids (ints that reference another table: `ref`; a list, or the same ids already
# joined with commas as the database's string aggregate returns them).
KINDS = ("text", "code", "int", "money", "bool", "date", "datetime", "ids")


@dataclass(frozen=True)
class Column:
    key: str
    kind: str = "text"
    ref: str | None = None  # for ints and ids: the table whose `id` this refers to

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


@dataclass
class Table:
    name: str
    columns: list[Column]
    rows: Callable[[], Iterable[tuple]]  # called once per writer
    fts: tuple[str, ...] = ()  # text columns indexed for full-text search (SQLite)
    pk: str | None = "id"
    labels: dict[str, str] = field(default_factory=dict)  # key -> header in the reader's language
    # key -> {code: label in the reader's language}: the people's formats (CSV, XLSX) add a
    # "<key>_label" column beside each such code column; the code keeps its own column.
    value_labels: dict[str, dict] = field(default_factory=dict)

    def header(self):
        return [self.labels.get(c.key, c.key) for c in self.columns]

    def labelled(self):
        """This table with a translated-label column after every labelled code column."""
        wanted = [i for i, c in enumerate(self.columns) if c.key in self.value_labels]
        if not wanted:
            return self
        columns, maps = [], []
        for index, column in enumerate(self.columns):
            columns.append(column)
            if index in wanted:
                columns.append(Column(f"{column.key}_label"))
                maps.append((index, self.value_labels[column.key]))
        rows = self.rows

        def labelled_rows():
            for row in rows():
                out = list(row)
                # From the right, so earlier insertions do not shift later positions.
                for position, names in reversed(maps):
                    value = row[position]
                    out.insert(position + 1, None if value is None else names.get(value, value))
                yield tuple(out)

        # The label column takes the column's own header; the code column says it is a code.
        labels = dict(self.labels)
        for index in wanted:
            key = self.columns[index].key
            labels[f"{key}_label"] = self.labels.get(key, key)
            labels[key] = self.labels.get(f"{key}_code", key)
        return Table(self.name, columns, labelled_rows, self.fts, self.pk, labels)


@dataclass
class Dataset:
    meta: dict
    tables: list[Table]

    def table(self, name):
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)


def _tick(progress, count):
    if progress is not None:
        progress(count)


# ------------------------------------------------------------------ CSV
def _csv_converter(column):
    if column.kind == "text":
        return neutralise
    if column.kind == "ids":
        return lambda v: v if isinstance(v, str) else ",".join(map(str, v or ()))
    if column.kind == "bool":
        return lambda v: "" if v is None else int(v)
    if column.kind == "datetime":
        return lambda v: "" if v is None else v.strftime("%Y-%m-%d %H:%M")
    if column.kind == "date":
        return lambda v: "" if v is None else v.strftime("%Y-%m-%d")
    return None  # numbers: written as they are


def iter_csv(table: Table, progress=None) -> Iterator[str]:
    """The table as CSV text chunks: BOM and translated header first, then rows in batches."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(h) for h in table.header()])
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    converters = [_csv_converter(c) for c in table.columns]
    plain = all(c is None for c in converters)
    if not plain and all(
        c.kind in ("code", "int", "money", "ids") for c in table.columns
    ):  # ids may arrive joined already: then the row needs no conversion at all
        plain = None
    rows, count = iter(table.rows()), 0
    while batch := list(islice(rows, CHUNK_ROWS)):  # one writerows and one chunk per batch
        if plain is None:  # decided on the first row: a table's ids come one way throughout
            plain = _joined_ids(table.columns, batch[0])
        if plain:
            writer.writerows(batch)
        else:
            writer.writerows(
                [v if f is None else f(v) for f, v in zip(converters, row)] for row in batch
            )
        count += len(batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(batch) == CHUNK_ROWS:
            _tick(progress, CHUNK_ROWS)
    _tick(progress, count % CHUNK_ROWS)


def _joined_ids(columns, row):
    return all(isinstance(v, str) or v is None for c, v in zip(columns, row) if c.kind == "ids")


def ids_list(value):
    """An ids cell as a list of ints (it may come joined with commas)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return list(map(int, value.split(",")))
    return list(value)


# ------------------------------------------------------------------ JSON
def _json_converter(column):
    """How a column's non-None values become JSON values (None: as they are)."""
    if column.kind == "datetime":
        return lambda v: v.strftime("%Y-%m-%dT%H:%M:%SZ")
    if column.kind == "date":
        return lambda v: v.isoformat()
    if column.kind == "bool":
        return bool
    if column.kind == "ids":
        return ids_list
    return None


def _json_default(value):
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def iter_json(dataset: Dataset, progress=None) -> Iterator[str]:
    """{"meta": {...}, "<table>": [{...}, ...], ...} as text chunks (UTF-8, not ASCII-escaped)."""
    dumps = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode
    yield '{"meta": ' + dumps(dataset.meta)
    for table in dataset.tables:
        yield f",\n{dumps(table.name)}: ["
        keys = [c.key for c in table.columns]
        converters = [_json_converter(c) for c in table.columns]
        simple = all(f is None for f in converters)
        parts, count = [], 0
        for row in table.rows():
            if not simple:
                row = [v if f is None or v is None else f(v) for f, v in zip(converters, row)]
            parts.append(dumps(dict(zip(keys, row))))
            count += 1
            if len(parts) == CHUNK_ROWS:
                yield ("\n" if count == CHUNK_ROWS else ",\n") + ",\n".join(parts)
                parts = []
                _tick(progress, CHUNK_ROWS)
        if parts:
            yield ("\n" if count <= CHUNK_ROWS else ",\n") + ",\n".join(parts)
        _tick(progress, count % CHUNK_ROWS)
        yield "\n]"
    yield "}\n"


# ------------------------------------------------------------------ XLSX
def write_xlsx(dataset: Dataset, path, progress=None, sheet_titles=None) -> None:
    """One sheet per table (a table past Excel's row limit continues on the next sheet).

    Bold frozen header row in the reader's language, tenge and date number formats.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    titles = sheet_titles or {}

    def new_sheet(table, part):
        sheet = workbook.create_sheet(_sheet_title(titles.get(table.name, table.name), part))
        sheet.freeze_panes = "A2"
        for index, column in enumerate(table.columns, start=1):
            width = 40 if column.kind == "text" else 16
            sheet.column_dimensions[get_column_letter(index)].width = width
        header = []
        for value in table.header():
            cell = WriteOnlyCell(sheet, _clean(value))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        return sheet

    def cell(sheet, kind, value):
        if value is None:
            return None
        if kind == "text":
            value = _clean(value)
            if value.startswith(FORMULA_PREFIXES):
                c = WriteOnlyCell(sheet, value)
                c.data_type = "s"  # kept as text, never a formula
                c.quotePrefix = True
                return c
            return value
        if kind == "money":
            c = WriteOnlyCell(sheet, value)
            c.number_format = TENGE_FORMAT
            return c
        if kind in ("date", "datetime"):
            c = WriteOnlyCell(sheet, value)
            c.number_format = DATE_FORMAT if kind == "date" else DATETIME_FORMAT
            return c
        if kind == "ids":
            return value if isinstance(value, str) else ",".join(map(str, value))
        if kind == "bool":
            return int(value)
        return value

    for table in dataset.tables:
        kinds = [c.kind for c in table.columns]
        part = 1
        sheet, rows_in_sheet, count = new_sheet(table, part), 1, 0
        for row in table.rows():
            if rows_in_sheet >= XLSX_MAX_ROWS:
                part += 1
                sheet, rows_in_sheet = new_sheet(table, part), 1
            sheet.append([cell(sheet, k, v) for k, v in zip(kinds, row)])
            rows_in_sheet += 1
            count += 1
            if count % CHUNK_ROWS == 0:
                _tick(progress, CHUNK_ROWS)
        _tick(progress, count % CHUNK_ROWS)
    about = workbook.create_sheet(_sheet_title(titles.get("meta", "meta"), 1))
    for key, value in dataset.meta.items():
        about.append([key, _clean(str(value)) if value is not None else None])
    workbook.save(str(path))


def _sheet_title(title, part):
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", str(title)).strip().strip("'") or "Sheet"
    suffix = f" ({part})" if part > 1 else ""
    return cleaned[: 31 - len(suffix)] + suffix


def _clean(value):
    return _ILLEGAL_XML.sub("", value) if isinstance(value, str) else value


# ------------------------------------------------------------------ SQLite
SQLITE_TYPES = {
    "text": str,
    "code": str,
    "int": int,
    "money": int,
    "bool": int,
    "date": str,
    "datetime": str,
}


def write_sqlite(dataset: Dataset, path, progress=None, batch_size=5000) -> None:
    """A self-contained SQLite file (sqlite-utils): one table per dataset table, foreign keys,
    full-text search on the tables' `fts` columns, and a `meta` key/value table. An `ids`
    column becomes a link table `<table>_<column>` with foreign keys to both sides.
    """
    import sqlite_utils

    db = sqlite_utils.Database(str(path), recreate=True)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db["meta"].insert_all(
        ({"key": k, "value": None if v is None else str(v)} for k, v in dataset.meta.items()),
        pk="key",
    )
    for table in dataset.tables:
        scalar = [c for c in table.columns if c.kind != "ids"]
        lists = [c for c in table.columns if c.kind == "ids"]
        fks = [(c.key, c.ref, "id") for c in scalar if c.ref]
        db[table.name].create(
            {c.key: SQLITE_TYPES[c.kind] for c in scalar},
            pk=table.pk,
            foreign_keys=fks or None,
        )
        for column in lists:
            db[f"{table.name}_{column.key}"].create(
                {f"{table.name}_id": int, f"{column.ref}_id": int},
                pk=(f"{table.name}_id", f"{column.ref}_id"),
                foreign_keys=[
                    (f"{table.name}_id", table.name, table.pk),
                    (f"{column.ref}_id", column.ref, "id"),
                ],
            )
        _fill_sqlite(db, table, scalar, lists, progress, batch_size)
        if table.fts:
            db[table.name].enable_fts(list(table.fts), create_triggers=False, tokenize="unicode61")
    db.execute("PRAGMA foreign_keys = ON")
    db.conn.commit()
    db.close()


def _fill_sqlite(db, table, scalar, lists, progress, batch_size):
    positions = [i for i, c in enumerate(table.columns) if c.kind != "ids"]
    list_positions = [(i, c) for i, c in enumerate(table.columns) if c.kind == "ids"]
    # Table and column names come from the dataset definitions in code, never from a request.
    keys = ", ".join(f"[{c.key}]" for c in scalar)
    marks = ", ".join("?" for _ in scalar)
    insert = f"INSERT INTO [{table.name}] ({keys}) VALUES ({marks})"  # noqa: S608
    link_inserts = {
        c.key: f"INSERT INTO [{table.name}_{c.key}] VALUES (?, ?)"  # noqa: S608
        for _i, c in list_positions
    }
    pk_index = next((i for i, c in enumerate(table.columns) if c.key == table.pk), None)
    converters = [_sqlite_converter(table.columns[i]) for i in positions]
    batch, links, count = [], {k: [] for k in link_inserts}, 0
    conn = db.conn

    def flush():
        conn.executemany(insert, batch)
        for key, rows in links.items():
            conn.executemany(link_inserts[key], rows)
            rows.clear()
        batch.clear()

    for row in table.rows():
        batch.append([row[i] if f is None else f(row[i]) for i, f in zip(positions, converters)])
        for i, column in list_positions:
            owner = row[pk_index]
            links[column.key].extend((owner, ref) for ref in ids_list(row[i]))
        count += 1
        if len(batch) >= batch_size:
            flush()
            _tick(progress, batch_size)
    flush()
    _tick(progress, count % batch_size)
    conn.commit()


def _sqlite_converter(column):
    if column.kind == "datetime":
        return lambda v: None if v is None else v.strftime("%Y-%m-%d %H:%M:%S")
    if column.kind == "date":
        return lambda v: None if v is None else v.isoformat()
    if column.kind == "bool":
        return lambda v: None if v is None else int(v)
    return None


# ------------------------------------------------------------------ pabulib .pb
def pb_field(value) -> str:
    """Canonical pabulib quoting (as `portal.budgeting.pabulib.dumps` writes it)."""
    text = "" if value is None else str(value)
    if any(ch in text for ch in ';"\r\n') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


class PbFields(dict):
    """value -> its `.pb` field text, quoted once per distinct value: for the columns of a
    vote whose values come from a small vocabulary (method, district, age band, sex)."""

    def __init__(self, render=None):
        super().__init__()
        self.render = render or pb_field

    def __missing__(self, value):
        text = self[value] = self.render(value)
        return text


def _pb_line(fields) -> str:
    return ";".join(pb_field(f) for f in fields) + "\n"


def iter_pb(
    meta: dict,
    project_columns: list[str],
    projects: Iterable[tuple],
    vote_columns: list[str],
    votes: Iterable[tuple],
    progress=None,
) -> Iterator[str]:
    """A `.pb` file in pabulib's canonical form, streamed: META, PROJECTS, VOTES.

    A vote's `vote` field is a list of project ids, written comma-separated. A vote may also
    be given as its finished line (a str without the newline), fields already quoted.
    """
    lines = ["META\n", "key;value\n"]
    lines += [_pb_line([k, v]) for k, v in meta.items()]
    lines += ["PROJECTS\n", _pb_line(project_columns)]
    lines += [_pb_line(p) for p in projects]
    lines += ["VOTES\n", _pb_line(vote_columns)]
    yield "".join(lines)
    parts, count = [], 0
    for vote in votes:
        if isinstance(vote, str):  # a line the caller has already written (and quoted)
            parts.append(vote)
        else:
            parts.append(
                ";".join(
                    ",".join(map(str, f)) if isinstance(f, list | tuple) else pb_field(f)
                    for f in vote  # a str vote is already "id,id,...": ids never need quoting
                )
            )
        count += 1
        if len(parts) == CHUNK_ROWS:
            yield "\n".join(parts) + "\n"
            parts = []
            _tick(progress, CHUNK_ROWS)
    if parts:
        yield "\n".join(parts) + "\n"
    _tick(progress, count % CHUNK_ROWS)
