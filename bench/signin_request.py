"""Where a sign-in's time goes apart from Argon2: CPU and SQL statements of POST /login.

    .venv/bin/python bench/signin_request.py [--db sqlite|postgresql URL] [--tries 200]

The production configuration (TYNDA_ENV=production: CSRF, throttling, session cookie, access
log, metrics) on a temporary SQLite database with the real migrations, or on the database
URL given (it must be empty; e.g. a throw-away cluster from .ci/postgres). One resident signs
in `--tries` times through the Flask test client, each time from a fresh anonymous session
(GET /login for the CSRF token first, not timed). Prints, per POST, the CPU time of this
process (`time.process_time`) with and without the Argon2 verification, the statements by
kind, and with `--profile` the functions that take the rest.
"""

import argparse
import collections
import cProfile
import logging
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update(
    TYNDA_ENV="production",
    SECRET_KEY="bench-secret-not-for-production",
    IIN_HMAC_KEY="bench-iin-key-not-for-production",
    RECEIPT_KEY="bench-receipt-key-not-for-production",
    BALLOT_KEY="bench-ballot-key-not-for-production",
)
PASSWORD = "bench-password-2026"
EMAIL = "known@example.kz"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--tries", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    url = args.db
    if url == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='tynda-bench-')}/bench.sqlite"
    os.environ["DATABASE_URL"] = url
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from portal import create_app
    from portal.accounts import hashing, services
    from portal.extensions import db
    from portal.regions.services import load_regions, region_by_code

    app = create_app("production")
    app.config.update(SESSION_COOKIE_SECURE=False)  # the test client speaks plain HTTP
    with app.app_context():
        upgrade()
        load_regions(db.session)
        services.register(
            db.session,
            full_name="Bench Person",
            iin="900101300077",
            email=EMAIL,
            phone="+77011234567",
            password=PASSWORD,
            region=region_by_code(db.session, "KZ-75"),
            district=None,
            key=app.config["IIN_HMAC_KEY"],
        )
        db.session.commit()

    statements, counting = collections.Counter(), [False]

    @sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):
        if counting[0]:
            text = re.sub(r"\s+", " ", statement.strip())
            table = re.search(r"(?:FROM|INTO|UPDATE) \"?(\w+)", text)
            statements[f"{text.split(' ')[0].upper()} {table.group(1) if table else ''}"] += 1

    argon = []
    real_run = hashing.run

    def timed_run(function, *arguments):
        started = time.process_time()  # the whole process: the hashing thread included
        try:
            return real_run(function, *arguments)
        finally:
            argon.append((time.process_time() - started) * 1000)

    hashing.run = timed_run
    cpu, wall, rest = [], [], []
    profiler = cProfile.Profile() if args.profile else None
    logging.disable(logging.INFO)  # the access log of every request
    # No app context around the requests: each request must get its own (and its own `g`).
    for n in range(args.tries):
        client = app.test_client()
        address = {"REMOTE_ADDR": f"10.0.{n // 250}.{n % 250}"}
        page = client.get("/login", environ_base=address)
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page.data)
        form = {"csrf_token": token.group(1).decode(), "email": EMAIL, "password": PASSWORD}
        argon_before = sum(argon)
        counting[0] = True
        started, started_cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        response = client.post("/login", data=form, environ_base=address)
        if profiler:
            profiler.disable()
        spent = (time.process_time() - started_cpu) * 1000
        wall.append((time.perf_counter() - started) * 1000)
        counting[0] = False
        assert response.status_code == 302, response.status_code
        cpu.append(spent)
        rest.append(spent - (sum(argon) - argon_before))
    median = statistics.median
    print(f"{url.split(':')[0]}; load average {os.getloadavg()}")
    print(
        f"POST /login x{args.tries}: CPU median {median(cpu):.1f} ms (Argon2 {median(argon):.1f}, "
        f"the rest {median(rest):.1f}); wall median {median(wall):.1f} ms; statements per POST "
        f"{sum(statements.values()) / args.tries:.1f}:"
    )
    for kind, number in statements.most_common():
        print(f"  {number / args.tries:5.2f}  {kind}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)


if __name__ == "__main__":
    main()
