"""The shared spreadsheet writers: read the files back with the csv module and openpyxl."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from portal import spreadsheets

DANGEROUS = ["=1+1", "+7 701", "-2+3", "@SUM(A1)", "\tcmd", "\rx"]


def _read_csv(text):
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_has_bom_and_neutralises_formula_cells_but_not_numbers():
    rows = [[value, -5, Decimal("-1.5"), None] for value in DANGEROUS]
    rows.append(['Жол, «кавычки» и "quotes"\nновая строка', 0, dt.date(2026, 3, 1), "ok"])
    text = spreadsheets.csv_text(["Мақала", "n", "x", "=header"], rows)
    read = _read_csv(text)
    assert read[0] == ["Мақала", "n", "x", "'=header"]
    assert [r[0] for r in read[1:-1]] == ["'" + v for v in DANGEROUS]
    assert all(r[1:] == ["-5", "-1.5", ""] for r in read[1:-1])
    assert read[-1] == ['Жол, «кавычки» и "quotes"\nновая строка', "0", "2026-03-01", "ok"]


def test_iter_csv_streams_one_chunk_per_row_and_joins_to_csv_text():
    def rows():
        for n in range(3):
            yield [f"row {n}", n]

    chunks = list(spreadsheets.iter_csv(["a", "b"], rows()))
    assert len(chunks) == 4 and chunks[0] == "\ufeffa,b\r\n" and chunks[3] == "row 2,2\r\n"
    assert "".join(chunks) == spreadsheets.csv_text(["a", "b"], rows())


def test_xlsx_header_is_bold_and_frozen_money_is_tenge_and_formulas_stay_text():
    rows = [
        ["Парк", 1_250_000, dt.date(2026, 3, 1), '=HYPERLINK("http://evil")'],
        ["Сквер", Decimal("990000"), None, "-1"],
        ["bad\x00\x07chars", 5, dt.datetime(2026, 3, 1, 14, 30), "@SUM(A1:A2)"],
    ]
    data = spreadsheets.xlsx_bytes(
        ["Жоба", "Сумма", "Күні", "Пікір"],
        rows,
        sheet_title="Summary: [draft] 1/2 with a very long title indeed",
        money_columns=[1],
        widths=[30, 15, None, 60],
    )
    book = load_workbook(io.BytesIO(data))
    sheet = book.active
    assert sheet.title == "Summary   draft  1 2 with a ver"
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == ["Жоба", "Сумма", "Күні", "Пікір"]
    assert all(c.font.bold for c in sheet[1]) and not sheet["A2"].font.bold
    assert sheet["B2"].value == 1_250_000 and sheet["B2"].number_format == '#,##0 "₸"'
    assert sheet["B3"].number_format == '#,##0 "₸"'
    assert sheet["C2"].value == dt.datetime(2026, 3, 1) and sheet["C2"].is_date
    # A formula-looking text is kept exactly, as a text cell Excel never evaluates.
    for ref, text in (("D2", '=HYPERLINK("http://evil")'), ("D3", "-1"), ("D4", "@SUM(A1:A2)")):
        assert sheet[ref].value == text
        assert sheet[ref].data_type == "s" and sheet[ref].quotePrefix
    assert sheet["A4"].value == "badchars"
    assert sheet.column_dimensions["A"].width == 30 and sheet.column_dimensions["D"].width == 60


def test_xlsx_writes_no_formula_anywhere():
    data = spreadsheets.xlsx_bytes(["h"], [[v] for v in DANGEROUS], sheet_title="x")
    sheet = load_workbook(io.BytesIO(data)).active
    assert [c.data_type for (c,) in sheet.iter_rows(min_row=2)] == ["s"] * len(DANGEROUS)
    assert b"<f>" not in _sheet_xml(data)


def _sheet_xml(data):
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("xl/worksheets/sheet1.xml")


@pytest.mark.parametrize("value", ["", None])
def test_empty_cells(value):
    assert spreadsheets.neutralise(value) == ""
