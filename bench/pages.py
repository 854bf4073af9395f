"""Every page at a city's size: p50 time, SQL statements and HTML size, city vs a 100-row region.

    .venv/bin/python bench/pages.py [--db sqlite:////tmp/city.sqlite] [--runs 15]

Loads (once; idempotent) the demo, the city scale (10,000 proposals, 200,000 ballots, 100,000
comments) and the small scale (~100 rows of each) into DATABASE_URL, then requests every page
sequentially through the Flask test client, signed in as the role the page needs. For each
page it prints the p50 and p90 in ms for the city, the SQL statements per request on the city
and on the small region (they should be equal: nothing grows with the data) and the size of
the answer. Targets (issue 9): p50 < 30 ms, same statement count, HTML < 300 KB.
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
    parser.add_argument("--db", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if not args.db:
        parser.error("give --db or DATABASE_URL (sqlite:////tmp/city.sqlite)")
    os.environ["DATABASE_URL"] = args.db

    import sqlalchemy as sa
    from flask_migrate import upgrade
    from sqlalchemy import select

    from portal import create_app, demo, demo_city
    from portal.accounts.models import User
    from portal.extensions import db

    app = create_app({"CONFIG": "development", "SQLALCHEMY_DATABASE_URI": args.db})
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["RATELIMIT_ENABLED"] = False
    with app.app_context():
        upgrade()
        demo.load_all(db.session)
        db.session.commit()
        staff = db.session.scalar(select(User).where(User.email == "staff@demo.tynda.kz"))
        targets = {}
        for name in ("small", "city"):
            scale = demo_city.SCALES[name]
            started = time.monotonic()
            cycle, draft = demo_city.load_scale(db.session, scale, staff)
            db.session.commit()
            print(f"# {name}: ready in {time.monotonic() - started:.1f} s", flush=True)
            targets[name] = _ids(db.session, cycle, draft)
        statements = _counter(db.engine, sa)

    clients = {role: _client(app, email) for role, email in _ROLES.items()}
    print(f"{'page':<28} {'p50 ms':>7} {'p90 ms':>7} {'SQL city':>8} {'SQL 100':>8} {'KB':>7}")
    rows = []
    for label, role, path, setup in _pages():
        results = {}
        for name in ("small", "city"):
            ids = targets[name]
            with app.app_context():
                restore = setup(ids) if setup else None
            url = path.format(**ids)
            client = clients[role]
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            times, counts = [], []
            for _ in range(args.runs if name == "city" else 3):
                statements.clear()
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                counts.append(len(statements))
            if restore:
                with app.app_context():
                    restore()
            results[name] = (times, counts[-1], len(response.data))
        times, count, size = results["city"]
        p50 = statistics.median(times)
        p90 = statistics.quantiles(times, n=10)[-1] if len(times) >= 2 else times[0]
        same = "" if count == results["small"][1] else " *"
        print(
            f"{label:<28} {p50:7.1f} {p90:7.1f} {count:8d} {results['small'][1]:8d}"
            f" {size / 1024:7.1f}{same}",
            flush=True,
        )
        rows.append((label, p50, count, results["small"][1], size))
    slow = [r[0] for r in rows if r[1] >= 30]
    grows = [r[0] for r in rows if r[2] != r[3]]
    big = [r[0] for r in rows if r[4] > 300 * 1024]
    print(f"# over 30 ms: {slow or 'none'}; statements differ: {grows or 'none'}; "
          f"over 300 KB: {big or 'none'}")  # fmt: skip


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
        ("cycle", "anonymous", "/budget/{cycle}", None),
        ("proposal list", "anonymous", "/budget/{cycle}/proposals", None),
        ("proposal list p.50", "anonymous", "/budget/{cycle}/proposals?page=50&sort=cost", None),
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
        ("moderation queue", "moderator", "/moderation/?draft={draft}", None),
        ("campaigns", "moderator", "/moderation/drafts/{draft}/campaigns", None),
        ("staff overview", "staff", "/staff/", None),
        ("staff cycle", "staff", "/staff/cycles/{cycle}", None),
        ("staff draft", "staff", "/staff/drafts/{draft}", None),
        ("api cycles", "anonymous", "/api/v1/cycles", None),
        ("api projects", "anonymous", "/api/v1/cycles/{cycle}/projects", None),
        ("api projects p.50", "anonymous", "/api/v1/cycles/{cycle}/projects?page=50&per_page=100",
         None),
        ("api results", "anonymous", "/api/v1/cycles/{cycle}/results", None),
        ("api comments", "anonymous", "/api/v1/drafts/{draft}/comments", None),
        ("api comments last page", "anonymous",
         "/api/v1/drafts/{draft}/comments?page={last_api_page}&per_page=100", None),
        ("api summary", "anonymous", "/api/v1/drafts/{draft}/summary", None),
    ]  # fmt: skip


def _counter(engine, sa):
    statements = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    return statements


if __name__ == "__main__":
    main()
