"""Every page at a city's size: p50 time, SQL statements and HTML size, city vs a 100-row region.

    .venv/bin/python bench/pages.py [--db sqlite:////tmp/city.sqlite] [--db postgresql+psycopg://…]
                                    [--runs 15] [--only PAGE …]

Loads (once; idempotent) the demo, the city scale (10,000 proposals, 200,000 ballots, 100,000
comments) and the small scale (~100 rows of each) into each database (--db, repeatable;
default DATABASE_URL), then requests every page sequentially through the Flask test client,
signed in as the role the page needs. With several databases each page is measured on each
in turn, so they share the machine's load. For each page and database it prints the p50 in
ms on the city, the p50 of the CPU time the request cost (this process plus, on PostgreSQL,
its server backend, from /proc/<pid>/schedstat: what the page costs whatever the machine's
load, which on a shared machine inflates the wall-clock p50), the p50 of the time spent in
SQL (cursor execute), the SQL statements per request on the city and on the small region
(they should be equal: nothing grows with the data) and the size of the answer. Targets
(issue 9): p50 < 30 ms, same statement count, HTML < 300 KB.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", help="a database URL (repeatable)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", nargs="*", help="measure only these pages (labels)")
    args = parser.parse_args()
    urls = args.db or [os.environ.get("DATABASE_URL")]
    if not all(urls):
        parser.error("give --db or DATABASE_URL (sqlite:////tmp/city.sqlite)")
    sites = [_site(url) for url in urls]
    names = [site["name"] for site in sites]
    header = "".join(f" | {n[:6]:>6} p50   CPU   SQL stmts " for n in names)
    print("page".ljust(24) + header + " |     KB")
    rows = []
    for label, role, path, setup in _pages():
        if args.only and label not in args.only:
            continue
        cells, size = [], None
        for site in sites:
            result = _measure(site, role, path, setup, args.runs)
            cells.append(result)
            size = result["size"] if size is None else size
            rows.append((site["name"], label, result))
        line = label.ljust(24)
        for c in cells:
            same = " " if c["count"] == c["small"] else "*"
            line += (
                f" | {c['p50']:10.1f} {c['cpu']:5.1f} {c['sql']:5.1f}"
                f" {c['count']:2d}/{c['small']:2d}{same}"
            )
        print(f"{line} | {size / 1024:6.1f}", flush=True)
    for name in names:
        mine = [(label, r) for n, label, r in rows if n == name]
        slow = [label for label, r in mine if r["p50"] >= 30]
        costly = [label for label, r in mine if r["cpu"] >= 30]
        grows = [label for label, r in mine if r["count"] != r["small"]]
        big = [label for label, r in mine if r["size"] > 300 * 1024]
        print(f"# {name}: p50 over 30 ms: {slow or 'none'}; CPU over 30 ms: {costly or 'none'}; "
              f"statements differ: {grows or 'none'}; over 300 KB: {big or 'none'}")  # fmt: skip


def _site(url):
    """Create the app on `url`, load the demo, the city and the small region; sign in."""
    import sqlalchemy as sa
    from flask_migrate import upgrade
    from sqlalchemy import select

    from portal import create_app, demo, demo_city
    from portal.accounts.models import User
    from portal.extensions import db

    os.environ["DATABASE_URL"] = url
    app = create_app({"CONFIG": "development", "SQLALCHEMY_DATABASE_URI": url})
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["RATELIMIT_ENABLED"] = False
    with app.app_context():
        name = db.engine.dialect.name
        upgrade()
        demo.load_all(db.session)
        db.session.commit()
        staff = db.session.scalar(select(User).where(User.email == "staff@demo.tynda.kz"))
        targets = {}
        for scale_name in ("small", "city"):
            scale = demo_city.SCALES[scale_name]
            started = time.monotonic()
            cycle, draft = demo_city.load_scale(db.session, scale, staff)
            db.session.commit()
            print(f"# {name} {scale_name}: ready in {time.monotonic() - started:.1f} s", flush=True)
            targets[scale_name] = _ids(db.session, cycle, draft)
        timings, backends = _counter(db.engine, sa)
    clients = {role: _client(app, email) for role, email in _ROLES.items()}
    return {
        "name": name,
        "app": app,
        "targets": targets,
        "timings": timings,
        "backends": backends,
        "clients": clients,
    }


def _measure(site, role, path, setup, runs):
    app, timings, results = site["app"], site["timings"], {}
    for scale_name in ("small", "city"):
        ids = site["targets"][scale_name]
        with app.app_context():
            restore = setup(ids) if setup else None
        url = path.format(**ids)
        client = site["clients"][role]
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        times, cpu, sql, counts = [], [], [], []
        for _ in range(runs if scale_name == "city" else 3):
            timings.clear()
            server = _cpu_ns(site["backends"])
            mine = time.process_time()
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            server = _cpu_ns(site["backends"]) - server
            cpu.append((time.process_time() - mine) * 1000 + server / 1e6)
            sql.append(sum(timings))
            counts.append(len(timings))
        if restore:
            with app.app_context():
                restore()
        results[scale_name] = (times, cpu, sql, counts[-1], len(response.data))
    times, cpu, sql, count, size = results["city"]
    return {
        "p50": statistics.median(times),
        "cpu": statistics.median(cpu),
        "sql": statistics.median(sql),
        "count": count,
        "small": results["small"][3],
        "size": size,
    }


_ROLES = {
    "anonymous": None,
    "resident": "resident@demo.tynda.kz",
    "moderator": "moderator@demo.tynda.kz",
    "staff": "staff@demo.tynda.kz",
    "admin": "admin@demo.tynda.kz",
}


def _client(app, email):
    from portal.demo import PASSWORD

    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    if email:
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302, f"sign-in of {email} failed"
    return client


def _ids(session, cycle, draft):
    from sqlalchemy import func, select

    from portal.budgeting.models import Proposal
    from portal.consultations.models import Article, Comment

    middle = session.scalar(
        select(Proposal.id).where(Proposal.cycle_id == cycle.id).order_by(Proposal.id).offset(50)
    )
    article = session.scalar(select(Article.id).where(Article.draft_id == draft.id).limit(1))
    comments = session.scalar(select(func.count()).where(Comment.draft_id == draft.id))
    return {
        "cycle": cycle.id,
        "draft": draft.id,
        "proposal": middle,
        "article": article,
        "last_api_page": max(1, comments // 100),
        "deep": 50 if comments > 10_000 else 1,
        # A page that exists on both: page 50 is past the end of the small region's list.
        "list_page": 50 if comments > 10_000 else 3,
    }


def _voting(ids):
    """Open the cycle's voting for the ballot page; returns the undo."""
    from portal.budgeting.models import BudgetCycle
    from portal.extensions import db

    cycle = db.session.get(BudgetCycle, ids["cycle"])
    cycle.phase_override = "voting"
    db.session.commit()

    def restore():
        again = db.session.get(BudgetCycle, ids["cycle"])
        again.phase_override = None
        db.session.commit()

    return restore


def _pages():
    return [
        # The floor: a page that reads nothing that grows (how fast the machine is right now).
        ("floor: receipt lookup", "anonymous", "/budget/receipt", None),
        ("cycle", "anonymous", "/budget/{cycle}", None),
        ("proposal list", "anonymous", "/budget/{cycle}/proposals", None),
        ("proposal list p.50", "anonymous",
         "/budget/{cycle}/proposals?page={list_page}&sort=cost", None),
        ("proposal", "anonymous", "/budget/proposals/{proposal}", None),
        ("ballot", "resident", "/budget/{cycle}/ballot", _voting),
        ("ballot p.20 lighting", "resident", "/budget/{cycle}/ballot?page=20&category=lighting",
         _voting),
        ("results", "anonymous", "/budget/{cycle}/results", None),
        ("results p.30", "anonymous", "/budget/{cycle}/results?page=30", None),
        ("implementation", "anonymous", "/budget/{cycle}/implementation", None),
        ("vote counts", "admin", "/budget/{cycle}/counts", None),
        ("review queue", "staff", "/budget/{cycle}/review", None),
        ("draft", "anonymous", "/consultations/{draft}", None),
        ("article", "anonymous", "/consultations/{draft}/articles/{article}", None),
        ("answers", "staff", "/consultations/{draft}/answers", None),
        ("summary table", "anonymous", "/consultations/{draft}/summary", None),
        ("summary table p.100", "anonymous", "/consultations/{draft}/summary?page=100", None),
        ("moderation queue", "moderator", "/moderation/?draft={draft}", None),
        ("campaigns", "moderator", "/moderation/drafts/{draft}/campaigns", None),
        ("staff overview", "staff", "/staff/", None),
        ("staff cycle", "staff", "/staff/cycles/{cycle}", None),
        ("staff draft", "staff", "/staff/drafts/{draft}", None),
        ("api cycles", "anonymous", "/api/v1/cycles", None),
        ("api projects", "anonymous", "/api/v1/cycles/{cycle}/projects", None),
        ("api projects deep", "anonymous",
         "/api/v1/cycles/{cycle}/projects?page={deep}&per_page=100", None),
        ("api results", "anonymous", "/api/v1/cycles/{cycle}/results", None),
        ("api comments", "anonymous", "/api/v1/drafts/{draft}/comments", None),
        ("api comments last page", "anonymous",
         "/api/v1/drafts/{draft}/comments?page={last_api_page}&per_page=100", None),
        ("api summary", "anonymous", "/api/v1/drafts/{draft}/summary", None),
    ]  # fmt: skip


def _counter(engine, sa):
    """ms spent in each statement's execute, one entry per statement; and the process ids
    of the PostgreSQL backends that ran them."""
    timings, backends = [], set()

    @sa.event.listens_for(engine, "before_cursor_execute")
    def start(conn, cursor, statement, parameters, context, executemany):
        pid = getattr(getattr(conn.connection.dbapi_connection, "info", None), "backend_pid", 0)
        if pid:
            backends.add(pid)
        conn.info["bench_started"] = time.perf_counter()

    @sa.event.listens_for(engine, "after_cursor_execute")
    def stop(conn, cursor, statement, parameters, context, executemany):
        timings.append((time.perf_counter() - conn.info.pop("bench_started")) * 1000)

    return timings, backends


def _cpu_ns(pids):
    """CPU time (ns) the processes have run (the first field of /proc/<pid>/schedstat)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/schedstat") as handle:
                total += int(handle.read().split()[0])
        except OSError:  # a backend that has exited (its pooled connection was recycled)
            pass
    return total


if __name__ == "__main__":
    main()
