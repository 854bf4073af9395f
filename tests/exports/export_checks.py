"""Helpers for export tests: read each format back and look for personal data."""

import csv
import io
import sqlite3
import tempfile
from pathlib import Path

from openpyxl import load_workbook

from portal.budgeting import pabulib


def read_csv(data):
    assert data.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def read_xlsx(data):
    workbook = load_workbook(io.BytesIO(data))
    return workbook


def read_sqlite(data):
    with tempfile.NamedTemporaryFile(suffix=".sqlite", delete=False) as handle:
        handle.write(data)
    connection = sqlite3.connect(handle.name)
    connection.row_factory = sqlite3.Row
    Path(handle.name).unlink()  # the open connection keeps the file alive on POSIX
    return connection


def read_pb(data):
    return pabulib.loads(data.decode("utf-8"))


def personal_data(users):
    """Strings that must never appear in an export."""
    values = set()
    for user in users:
        values |= {user.email, user.full_name, user.phone, getattr(user, "iin", None)}
    return {v for v in values if v}
