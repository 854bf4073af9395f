"""Spreadsheet downloads shared by every capability: CSV (streamed or whole) and XLSX.

Pure: no Flask, no database. Rows are iterables of cell values (str, int, float, Decimal,
date, datetime or None); they are consumed once, so a generator over a query keeps memory
bounded for both formats.

Formula injection ("CSV injection"): a text cell starting with = + - @ TAB or CR would be
run as a formula by Excel or LibreOffice. In CSV such a cell gets a leading apostrophe (the
OWASP advice; spreadsheets show it as text). In XLSX the text is kept exactly but written as
a text cell with Excel's "quote prefix" flag, which is how Excel itself stores a value typed
with a leading apostrophe: it is never evaluated, not even after the cell is edited. Numbers
are never touched (a negative amount stays a number).
"""

import csv
import datetime as dt
import io
import numbers
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

__all__ = ["BOM", "FORMULA_PREFIXES", "csv_text", "iter_csv", "neutralise", "xlsx_bytes"]

BOM = "\ufeff"  # Excel opens UTF-8 CSV (Cyrillic, Kazakh letters) correctly only with it
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
TENGE_FORMAT = '#,##0 "₸"'
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
# Characters XML 1.0 cannot hold (openpyxl refuses them); TAB, LF and CR stay.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHEET_TITLE_BAD = re.compile(r"[\[\]:*?/\\]")
_MAX_SHEET_TITLE = 31


def is_formula_like(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def neutralise(value) -> str:
    """A CSV cell as text, with a leading apostrophe if a spreadsheet would run it."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        return str(value)  # numbers: "-5" is a number, not a formula
    return "'" + value if is_formula_like(value) else value


class _Line:
    """A file-like sink that hands back what csv.writer wrote for one row."""

    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text = text


def iter_csv(header: Sequence, rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV document as chunks: BOM and header first, then one chunk per row."""
    line = _Line()
    writer = csv.writer(line)
    writer.writerow([neutralise(cell) for cell in header])
    yield BOM + line.text
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        yield line.text


def csv_text(header: Sequence, rows: Iterable[Iterable]) -> str:
    """The whole CSV document as one string (with the BOM)."""
    return "".join(iter_csv(header, rows))


def _sheet_title(title: str) -> str:
    cleaned = _SHEET_TITLE_BAD.sub(" ", title or "").strip().strip("'")
    return cleaned[:_MAX_SHEET_TITLE] or "Sheet1"


def xlsx_bytes(
    header: Sequence,
    rows: Iterable[Iterable],
    *,
    sheet_title: str,
    money_columns: Iterable[int] = (),
    widths: Sequence[float | None] | None = None,
) -> bytes:
    """An .xlsx workbook with one sheet: a bold, frozen header row and the rows.

    money_columns: 0-based indexes of columns holding tenge amounts (shown as `1 234 ₸`).
    widths: column widths in characters, by column (None leaves one at the default).
    Written with openpyxl's write-only mode: rows stream to a temporary file, so memory
    does not grow with the number of rows.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    money = frozenset(money_columns)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_sheet_title(sheet_title))
    sheet.freeze_panes = "A2"
    for index, width in enumerate(widths or (), start=1):
        if width:
            sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)

    def header_cell(value):
        cell = WriteOnlyCell(sheet, _clean(value))
        cell.font = bold
        return cell

    def body_cell(index, value):
        value = _clean(value)
        if is_formula_like(value):
            cell = WriteOnlyCell(sheet, value)
            cell.data_type = "s"  # kept as text, never a formula
            cell.quotePrefix = True
            return cell
        if index in money and _is_number(value):
            cell = WriteOnlyCell(sheet, value)
            cell.number_format = TENGE_FORMAT
            return cell
        if isinstance(value, dt.datetime):
            cell = WriteOnlyCell(sheet, value)
            cell.number_format = DATETIME_FORMAT
            return cell
        if isinstance(value, dt.date):
            cell = WriteOnlyCell(sheet, value)
            cell.number_format = DATE_FORMAT
            return cell
        return value

    sheet.append([header_cell(value) for value in header])
    for row in rows:
        sheet.append([body_cell(index, value) for index, value in enumerate(row)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _is_number(value):
    return isinstance(value, numbers.Real | Decimal) and not isinstance(value, bool)


def _clean(value):
    """Drop characters XML cannot hold (openpyxl would refuse the whole file)."""
    return _ILLEGAL_XML.sub("", value) if isinstance(value, str) else value
