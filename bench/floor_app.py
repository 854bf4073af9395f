"""The floor for a durable vote: a tiny WSGI app that makes one INSERT and one COMMIT per POST.

Served by the same gunicorn command as the portal (`gunicorn ... floor_app:app` with
`--pythonpath bench`) against the same DATABASE_URL, with the portal's own engine settings
(portal/database.py: WAL, synchronous=FULL, busy timeout, BEGIN IMMEDIATE for a write), so
the difference to a ballot POST is the portal's own work. Used by bench/voting_load.py only.
"""

import os
import sys
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal import database  # noqa: E402  (the portal's SQLite connect/begin listeners)

database.configure_engines()
engine = sa.create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
metadata = sa.MetaData()
floor_vote = sa.Table(
    "bench_floor_vote",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("voter", sa.Integer, nullable=False),
    sa.Column("payload", sa.String(200), nullable=False),
)
metadata.create_all(engine, checkfirst=True)


def app(environ, start_response):
    if environ["REQUEST_METHOD"] != "POST":
        start_response("405 Method Not Allowed", [("Content-Type", "text/plain")])
        return [b"POST only\n"]
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(size).decode("utf-8", "replace")
    voter = int(environ.get("HTTP_X_VOTER", "0"))
    with engine.begin() as connection:
        connection.execute(floor_vote.insert().values(voter=voter, payload=body[:200]))
    start_response("302 Found", [("Location", "/done"), ("Content-Length", "0")])
    return [b""]
