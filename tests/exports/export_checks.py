"""Helpers for export tests: read each format back and look for personal data."""

import csv
import html
import io
import re
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


_FORM = re.compile(r'<form method="post" action="([^"]+/export)">(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
_DOWNLOAD = re.compile(r'id="job-download" href="([^"]+)"')


def queue_export(client, page_url, fmt, part=None):
    """Press the button of a page (dashboard or prepare page) that queues `fmt` (and `part`):
    returns the POST's response (a redirect to the job page)."""
    page = client.get(page_url).get_data(as_text=True)
    for action, body in _FORM.findall(page):
        fields = dict(_HIDDEN.findall(body))
        if fields.get("format") == fmt and (part is None or fields.get("part") == part):
            return client.post(html.unescape(action), data=fields)
    raise AssertionError(f"no button for {fmt} {part or ''} on {page_url}")


def job_download(client, job_url):
    """The job page's download link (None while there is none) and the page's text."""
    page = client.get(job_url).get_data(as_text=True)
    match = _DOWNLOAD.search(page)
    return (html.unescape(match.group(1)) if match else None), page


def export_by_job(client, page_url, fmt, part=None):
    """Queue an export from a page, run it (jobs run in-process in tests), fetch the file."""
    queued = queue_export(client, page_url, fmt, part)
    assert queued.status_code == 303 and "/jobs/" in queued.location, queued.status_code
    link, page = job_download(client, queued.location)
    assert link, page
    return client.get(link)
