"""Benchmark the moderation queue on one draft with 100,000 comments.

    python bench/moderation_queue.py                  # temp SQLite database
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
        python bench/moderation_queue.py              # a fresh database tynda_bench_queue
    python bench/moderation_queue.py --n 20000        # a smaller run

Comments come from the clustering generator (70 % campaign copies, 30 % slot-built), spread
over the draft's three articles and three stances; 80 % pending, 15 % published, 5 % rejected.
Pages are requested through the Flask test client as a signed-in moderator (templates
included); each figure is the median of --repeat requests. Then one bulk publish of 500
comments and `flask moderation cluster` on all comments.
"""

from __future__ import annotations

import argparse
import html
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from make_clustering_sample import TEMPLATES, generate  # noqa: E402

from portal import create_app  # noqa: E402

PASSWORD = "bench-password-2026"
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def database_url(tmp: Path) -> str:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgresql"):
        return f"sqlite:///{tmp / 'queue.sqlite'}"
    url = sa.engine.make_url(base)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql('DROP DATABASE IF EXISTS "tynda_bench_queue" WITH (FORCE)')
        connection.exec_driver_sql('CREATE DATABASE "tynda_bench_queue"')
    admin.dispose()
    return url.set(database="tynda_bench_queue").render_as_string(hide_password=False)


def setup(app, n: int):
    """Migrate, then create a moderator, a draft and `n` comments; return their ids."""
    from flask_migrate import upgrade

    from portal.accounts import services as accounts
    from portal.accounts.models import iin_key
    from portal.consultations import services
    from portal.consultations.models import Comment
    from portal.extensions import db
    from portal.regions.services import load_regions, region_by_code

    upgrade()
    load_regions(db.session)
    almaty = region_by_code(db.session, "KZ-75")
    users = {}
    for role, iin in (("staff", "800416300257"), ("moderator", "760212350620")):
        user = accounts.register(
            db.session, full_name=f"Bench {role}", iin=iin, email=f"{role}@bench.kz",
            phone="+77010000000", password=PASSWORD, region=almaty, district=None,
            key=iin_key(),
        )  # fmt: skip
        user.verified_region_id, user.verified_via = almaty.id, "staff"
        accounts.grant_role(db.session, user, role, almaty)
        users[role] = user
    text = "\n\n".join(
        f"Статья {k}. Заголовок {k}\n1. Текст пункта один.\n2. Текст пункта два." for k in (1, 2, 3)
    )
    draft = services.create_draft(
        db.session, users["staff"], titles={"ru": "Нагрузочный проект"}, agency="Bench",
        kind="law", region=almaty, text=text,
    )  # fmt: skip
    services.open_draft(db.session, users["staff"], draft)
    db.session.commit()
    articles = [a.id for a in draft.articles]

    per_template = int(n * 0.7) // len(TEMPLATES)
    rows = generate(seed=1, distinct=n - per_template * len(TEMPLATES),
                    copies=[per_template] * len(TEMPLATES), check_distinct=False)  # fmt: skip
    rng = random.Random(7)
    now = services.now_utc()
    records = []
    for _id, _label, _lang, body in rows:
        roll = rng.random()
        status = "pending" if roll < 0.8 else "published" if roll < 0.95 else "rejected"
        records.append(
            {
                "draft_id": draft.id,
                "article_id": rng.choice(articles),
                "author_id": users["staff"].id,
                "stance": rng.choice(("support", "object", "reword")),
                "text": html.escape(body, quote=False),
                "proposed_wording": "",
                "status": status,
                "reject_reason": "spam" if status == "rejected" else None,
                "report_count": 1 if rng.random() < 0.01 else 0,
                "created_at": now,
                "justification": "",
                "new_wording": "",
            }
        )
    started = time.perf_counter()
    for start in range(0, len(records), 10_000):
        db.session.execute(sa.insert(Comment), records[start : start + 10_000])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE comment")
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    print(f"inserted {len(records):,} comments in {time.perf_counter() - started:.1f} s")
    return draft.id, articles


def login(client, email):
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token})  # fmt: skip
    assert response.status_code == 302, response.status_code
    # Signing in starts a new session: take the token from a page of that session.
    return CSRF_RE.search(client.get("/moderation/").get_data(as_text=True)).group(1)


def timed(client, url, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), response.get_data(as_text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url(Path(tmp))
        app = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": url})
        print(f"database: {sa.engine.make_url(url).get_backend_name()}")
        with app.app_context():
            draft_id, articles = setup(app, args.n)
        run(app, draft_id, articles, args)


def run(app, draft_id, articles, args):
    from portal.consultations.models import Campaign, Comment
    from portal.extensions import db

    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = login(client, "moderator@bench.kz")
    with app.app_context():
        ids = db.session.scalars(
            sa.select(Comment.id)
            .where(Comment.draft_id == draft_id, Comment.status == "pending")
            .order_by(Comment.id)
        ).all()
    deep_after = ids[int(len(ids) * 0.9)]
    q = f"/moderation/?draft={draft_id}"
    results = []

    def page(label, url):
        seconds, body = timed(client, url, args.repeat)
        rows = body.count('class="queue-row')
        status = re.search(r'id="queue-status"[^>]*>([^<]*)<', body).group(1)
        results.append((label, seconds))
        print(f"  {label:<44} {seconds * 1000:8.1f} ms  ({rows} rows; {status})")

    print(f"queue pages (median of {args.repeat}):")
    page("first page (pending, oldest first)", q)
    page("first page, newest first", q + "&sort=newest")
    page("deep page (keyset, 90 % into the queue)", q + f"&after={deep_after}")
    page("state = published", q + "&status=published")
    page("stance = object", q + "&stance=object")
    page("article = 2", q + f"&article={articles[1]}")
    page("state + stance + article", q + f"&status=pending&stance=reword&article={articles[2]}")
    page("reported only, any state", q + "&status=&reported=y")
    page("whole region queue (no draft filter)", "/moderation/")

    batch = ids[:500]
    started = time.perf_counter()
    response = client.post(
        "/moderation/bulk",
        data={"action": "publish", "ids": [str(i) for i in batch], "csrf_token": token},
    )
    bulk = time.perf_counter() - started
    assert response.status_code == 302, response.status_code
    print(f"bulk publish of 500 comments: {bulk * 1000:.0f} ms")

    started = time.perf_counter()
    result = app.test_cli_runner().invoke(args=["moderation", "cluster", str(draft_id)])
    clustering = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    print(f"flask moderation cluster: {clustering:.1f} s ({result.output.strip()})")

    with app.app_context():
        campaign = db.session.scalar(
            sa.select(Campaign.id)
            .where(Campaign.draft_id == draft_id)
            .order_by(Campaign.size.desc())
        )
    page("cluster filter (largest campaign, pending)", q + f"&campaign={campaign}")
    page("cluster filter, any state", q + f"&campaign={campaign}&status=")


if __name__ == "__main__":
    main()
