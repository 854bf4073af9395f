"""The tally-sheet page per heading: SQL statements and time, 10 vs 1,000 projects in a heading.

    .venv/bin/python bench/paper_batches.py [--runs 30]

Builds a throw-away SQLite database (migrated, demo data) with a voting cycle whose district
heading holds 10 projects, and a second one whose district heading holds 1,000, each with 60
batches typed. Requests, signed in as the demo staff member, the tally-sheet page of the
district heading and, as the baseline in the same run, the paper desk of the same heading
(a page of its ballot). Prints, per page and size, the p50 and p90 in ms (wall and process
CPU) and the statements per request: they should not grow with the heading's projects.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="tynda-bench-batches-")
    url = f"sqlite:///{folder}/bench.sqlite"
    os.environ["DATABASE_URL"] = url

    import sqlalchemy as sa
    from flask_migrate import upgrade
    from sqlalchemy import select

    from portal import create_app, demo
    from portal.accounts.models import User
    from portal.extensions import db

    app = create_app({"CONFIG": "development", "SQLALCHEMY_DATABASE_URI": url})
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["RATELIMIT_ENABLED"] = False
    with app.app_context():
        upgrade()
        demo.load_all(db.session)
        db.session.commit()
        staff = db.session.scalar(select(User).where(User.email == "staff@demo.tynda.kz"))
        email = staff.email
        cycles = {size: _cycle(db.session, staff, size) for size in (10, 1000)}
        statements = []
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(1))

    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post("/login", data={"email": email, "password": demo.PASSWORD})
    assert response.status_code == 302, "sign-in failed"
    print(f"{'page':<22} {'projects':>8} {'p50 ms':>7} {'p90 ms':>7} {'CPU p50':>8} {'SQL':>4}")
    for name, path in (("paper desk", "paper"), ("tally sheets", "paper/batches")):
        for size, (cycle_id, heading_id) in cycles.items():
            url = f"/budget/{cycle_id}/{path}?heading={heading_id}"
            walls, cpus = [], []
            for _ in range(args.runs):
                statements.clear()
                wall, cpu = time.perf_counter(), time.process_time()
                response = client.get(url)
                walls.append(1000 * (time.perf_counter() - wall))
                cpus.append(1000 * (time.process_time() - cpu))
                assert response.status_code == 200, (url, response.status_code)
            print(
                f"{name:<22} {size:>8} {statistics.median(walls):>7.1f} "
                f"{statistics.quantiles(walls, n=10)[-1]:>7.1f} {statistics.median(cpus):>8.1f} "
                f"{len(statements):>4}"
            )


def _cycle(session, staff, size):
    """A voting cycle with a district heading of `size` projects and 60 typed batches."""
    import datetime as dt

    from portal.accounts.models import utcnow
    from portal.budgeting import headings, paper, services
    from portal.budgeting.models import Proposal
    from portal.regions.services import region_by_code

    region = region_by_code(session, "KZ-75")
    start = utcnow() - dt.timedelta(days=2, hours=12)
    day = dt.timedelta(days=1)
    cycle = services.create_cycle(
        session, staff, region, title_kk="Бюджет", title_ru="Бюджет", title_en=f"Bench {size}",
        budget=10**9, ballot_rule="knapsack", winner_rule="greedy", proposals_open_at=start,
        review_open_at=start + day, voting_open_at=start + 2 * day,
        voting_close_at=start + 3 * day, implementation_at=start + 4 * day,
    )  # fmt: skip
    heading = headings.add_heading(
        session, staff, cycle, name=f"District {size}", budget=10**8,
        district_id=region.districts[0].id, now=start,
    )  # fmt: skip
    session.add_all(
        Proposal(
            cycle_id=cycle.id,
            heading_id=heading.id,
            author_id=staff.id,
            title=f"Yard {n}",
            description_html="<p>x</p>",
            category="yards",
            estimated_cost=1000 + n,
            status="feasible",
        )  # fmt: skip
        for n in range(size)
    )
    session.flush()
    ids = session.scalars(select_ids(cycle, heading)).all()
    for n in range(60):
        rows = [(line + 1, [ids[(n + line) % len(ids)]]) for line in range(5)]
        paper.enter_batch(session, staff, cycle, station=f"Station {n}", rows=rows, heading=heading)
    session.commit()
    return cycle.id, heading.id


def select_ids(cycle, heading):
    from sqlalchemy import select

    from portal.budgeting.models import Proposal

    return select(Proposal.id).where(Proposal.heading_id == heading.id).order_by(Proposal.id)


if __name__ == "__main__":
    main()
