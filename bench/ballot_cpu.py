"""CPU per ballot POST, in process: what the server spends on one vote, without HTTP or load.

    .venv/bin/python bench/ballot_cpu.py [--db sqlite,postgresql] [--posts 400] [--profile 25]

Seeds a database exactly as bench/voting_load.py does (a voting cycle of 100 projects,
verified residents with forged login cookies and CSRF tokens; BENCH_VOTERS of them, 1,500 by
default here), then sends `--posts` ballot POSTs through `app.test_client()` with a Cookie
header, one new voter each, and reports the process CPU time (`time.process_time`) per POST
and the statements per POST. `--profile N` also prints the N functions with the most own time
(cProfile, a separate pass). PostgreSQL runs in voting_load's durable throw-away cluster.
"""

import argparse
import cProfile
import io
import logging
import os
import pstats
import random
import shutil
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

os.environ.setdefault("BENCH_VOTERS", "1500")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import voting_load  # noqa: E402  (sets the production keys in the environment)


class Timed:
    """WSGI middleware: the process CPU spent inside the app (not in the test client)."""

    def __init__(self, wsgi_app):
        self.wsgi_app, self.cpu = wsgi_app, 0.0

    def __call__(self, environ, start_response):
        started = time.process_time()
        try:
            return list(self.wsgi_app(environ, start_response))
        finally:
            self.cpu += time.process_time() - started


def posts(app, data, count, rng, show=False, floor=None):
    """Send `count` ballot POSTs (or, with `floor`, POSTs to the floor app); returns (CPU
    seconds in the app, statements) summed over them."""
    from sqlalchemy import event
    from werkzeug.test import Client

    from portal.extensions import db

    timed = Timed(floor.app if floor else app.wsgi_app)
    client = Client(timed) if floor else app.test_client(use_cookies=False)
    if not floor:
        app.wsgi_app = timed
    path = f"/budget/{data['cycle_id']}/ballot"
    statements = [0]

    def counted(_conn, _cursor, statement, *_args):
        statements[0] += 1
        if show:
            print("   ", " ".join(statement.split())[:160])

    if floor:
        engine = floor.engine
    else:
        with app.app_context():
            engine = db.engine
    event.listen(engine, "before_cursor_execute", counted)
    try:
        for number in range(count):
            _voter_id, _email, cookie, csrf = next(data["voters"])
            chosen = voting_load.choose(data, rng)
            body = urllib.parse.urlencode([("csrf_token", csrf)] + [("project", p) for p in chosen])
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": voting_load.AGENT,
            }
            if floor:
                headers["X-Voter"] = str(number)
            else:
                headers["Cookie"] = f"session={cookie}"
            response = client.post(path, data=body, headers=headers)
            if response.status_code != 302 or (
                not floor and "/receipt" not in response.headers["Location"]
            ):
                raise SystemExit(f"POST answered {response.status_code}")
    finally:
        event.remove(engine, "before_cursor_execute", counted)
        if not floor:
            app.wsgi_app = timed.wsgi_app
    return timed.cpu, statements[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--posts", type=int, default=400)
    parser.add_argument("--profile", type=int, default=0, help="print the top N by own time")
    parser.add_argument("--rounds", type=int, default=3, help="floor/ballot pairs to measure")
    parser.add_argument("--statements", action="store_true", help="print one POST's SQL")
    parser.add_argument("--sort", default="tottime", help="cProfile order (tottime, cumulative)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}", flush=True)
    from portal import create_app

    for backend in args.db.split(","):
        cluster = None
        folder = Path(tempfile.mkdtemp(prefix="tynda-cpu-"))
        try:
            if backend == "sqlite":
                url = f"sqlite:///{folder / 'bench.sqlite'}"
            else:
                cluster = voting_load.PostgresCluster()
                url = cluster.start()
            data = voting_load.seed(url)
            # The seed's migrations configure the root logger; a served worker has no handler
            # there, so its access lines are written once, as here.
            logging.getLogger().handlers.clear()
            app = create_app({"CONFIG": "production", "SQLALCHEMY_DATABASE_URI": url})
            rng = random.Random(1)
            posts(app, data, 50, rng)  # warm-up: imports, statement caches, pool
            if args.statements:
                print(f"{backend}: the statements of one ballot POST")
                posts(app, data, 1, rng, show=True)
            os.environ["DATABASE_URL"] = url
            import floor_app

            posts(app, data, 50, rng, floor=floor_app)
            for _round in range(args.rounds):
                figures = []
                for floor in (floor_app, None):
                    cpu, statements = posts(app, data, args.posts, rng, floor=floor)
                    figures.append((cpu / args.posts * 1000, statements / args.posts))
                (floor_ms, floor_sql), (ballot_ms, ballot_sql) = figures
                print(
                    f"{backend}: ballot POST {ballot_ms:.2f} ms CPU, {ballot_sql:.1f} statements;"
                    f" floor POST {floor_ms:.2f} ms, {floor_sql:.1f} statements "
                    f"({args.posts} POSTs each, CPU inside the WSGI app)",
                    flush=True,
                )
            floor_app.engine.dispose()
            del sys.modules["floor_app"]
            if args.profile:
                profile = cProfile.Profile(time.process_time)  # CPU, not fsync waits
                profile.enable()
                posts(app, data, args.posts, rng)
                profile.disable()
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.profile)
                print(out.getvalue(), flush=True)
            with app.app_context():
                from portal.extensions import db

                db.engine.dispose()
        finally:
            if cluster:
                cluster.stop()
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
