"""Export speed and memory: a cycle with 1,000,000 ballots and a draft with 100,000 comments.

    .venv/bin/python bench/exports.py [--ballots N] [--comments N] [--formats csv,pb]

Builds a temporary SQLite database (the real migrations, then bulk rows with sqlite3), then
runs each export in a fresh child process (so peak RSS is per format) and prints rows/s,
seconds, output size and the child's peak RSS (VmHWM from /proc/self/status). The cycle's
CSV is the ballots table; the other cycle formats hold every table. Targets (issue 6): CSV
>= 200,000 ballot rows/s; every format < 150 MB peak RSS.
"""

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _app(url):
    from portal import create_app

    return create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": url})


def generate(path, ballots, comments):
    """Migrate an empty database, then bulk-insert users, a closed cycle and a draft."""
    from flask_migrate import upgrade

    from portal.extensions import db
    from portal.regions.services import load_regions, region_by_code

    url = f"sqlite:///{path}"
    app = _app(url)
    with app.app_context():
        upgrade()
        load_regions(db.session)
        db.session.commit()
        region = region_by_code(db.session, "KZ-75")
        region_id, districts = region.id, [d.id for d in region.districts]
        db.engine.dispose()
    rng = random.Random(6)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    users = max(ballots, 1000)
    con.executemany(
        "INSERT INTO user_account (id, email, full_name, iin_hash, birth_year, sex, phone, "
        "password_hash, region_id, district_id, role, verified_region_id, session_token, "
        "created_at) VALUES (?, ?, 'Bench Resident', ?, ?, ?, '+77010000000', 'x', ?, ?, "
        "'resident', ?, ?, '2026-01-01 00:00:00')",
        (
            (i, f"u{i}@bench.kz", f"{i:064d}", rng.randint(1940, 2008), "MF"[i % 2],
             region_id, districts[i % len(districts)], region_id, f"t{i}")
            for i in range(1, users + 1)
        ),
    )  # fmt: skip
    con.execute(
        "INSERT INTO budget_cycle (id, title_kk, title_ru, title_en, summary_kk, summary_ru, "
        "summary_en, region_id, budget, ballot_rule, winner_rule, ballots_final, "
        "proposals_open_at, review_open_at, voting_open_at, voting_close_at, created_at) "
        "VALUES (1, 'Халық бюджеті', 'Народный бюджет', 'People''s budget', '', '', '', ?, "
        "500000000, 'knapsack', 'greedy', 0, '2026-01-01', '2026-02-01', '2026-03-01', "
        "'2026-04-01', '2026-01-01')",
        (region_id,),
    )
    projects = list(range(1, 41))
    con.executemany(
        "INSERT INTO budget_proposal (id, cycle_id, author_id, title, description_html, "
        "category, district_id, address, estimated_cost, status, funded, progress, "
        "created_at, updated_at) VALUES (?, 1, 1, ?, '<p>x</p>', 'yards', ?, '', ?, "
        "'feasible', 0, 0, '2026-01-02', '2026-01-02')",
        [(p, f"Жоба {p}: спорт алаңы", districts[p % len(districts)], 5_000_000 + p * 1000)
         for p in projects],
    )  # fmt: skip
    con.executemany(
        "INSERT INTO budget_ballot (id, cycle_id, voter_id, channel, district_id, receipt, "
        "created_at, updated_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
        (
            (i, i, "paper" if i % 10 == 0 else "online", districts[i % len(districts)],
             f"R{i:015d}", f"2026-03-{1 + i % 28:02d} 10:00:00", "2026-03-01")
            for i in range(1, ballots + 1)
        ),
    )  # fmt: skip
    con.executemany(
        "INSERT INTO budget_ballot_choice (ballot_id, proposal_id) VALUES (?, ?)",
        ((i, p) for i in range(1, ballots + 1) for p in sorted(rng.sample(projects, 1 + i % 5))),
    )
    con.execute(
        "INSERT INTO draft (id, title_kk, title_ru, title_en, summary_kk, summary_ru, "
        "summary_en, agency, kind, region_id, explanatory_note, preamble, status, "
        "period_start, period_end, answer_due, created_by_id, created_at) VALUES (1, 'Жоба', "
        "'Проект', 'Draft', '', '', '', 'Akimat', 'law', ?, '', '', 'closed', '2026-01-01', "
        "'2026-02-01', '2026-03-01', 1, '2026-01-01')",
        (region_id,),
    )
    con.executemany(
        "INSERT INTO draft_article (id, draft_id, position, number, title, chapter, text) "
        "VALUES (?, 1, ?, ?, ?, '', 'Текст статьи.')",
        [(a, a, str(a), f"Статья {a}") for a in range(1, 31)],
    )
    statuses = ["published"] * 7 + ["pending", "rejected", "hidden"]
    con.executemany(
        "INSERT INTO comment (id, draft_id, article_id, author_id, stance, text, "
        "proposed_wording, status, report_count, created_at, decision, justification, "
        "new_wording, answered_at) VALUES (?, 1, ?, ?, ?, ?, '', ?, 0, '2026-01-15', ?, ?, "
        "'', ?)",
        (
            (i, 1 + i % 30, 1 + i % users, ("support", "object", "reword")[i % 3],
             f"Предлагаю изменить пункт {i % 7}: жителям нужны тротуары и освещение. #{i}",
             statuses[i % 10], "accepted" if i % 4 == 0 and i % 10 < 7 else None,
             "Учтено." if i % 4 == 0 and i % 10 < 7 else "",
             "2026-02-10" if i % 4 == 0 and i % 10 < 7 else None)
            for i in range(1, comments + 1)
        ),
    )  # fmt: skip
    con.commit()
    con.close()
    return url


def run_one(url, subject, fmt, out):
    """In a child: export one format to `out`, print a JSON line with the figures."""
    from portal.exports import services
    from portal.extensions import db

    app = _app(url)
    with app.app_context():
        if subject == "cycle":
            obj = services.cycle_for_export(db.session, None, 1)
            part = "ballots"
        else:
            obj = services.draft_for_export(db.session, None, 1)
            part = "comments"
        rows = services.row_total(db.session, subject, obj, "csv", part)
        db.session.rollback()
        start = time.perf_counter()
        size = 0
        with open(out, "wb") as handle, services.reading_session(db.engine) as reader:
            target = reader.get(type(obj), obj.id)
            for chunk in services.build(reader, subject, target, fmt, part):
                handle.write(chunk)
                size += len(chunk)
        seconds = time.perf_counter() - start
    print(json.dumps({"rows": rows, "seconds": seconds, "bytes": size, "peak_mb": peak_rss_mb()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ballots", type=int, default=1_000_000)
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--formats", default="csv,pb,json,sqlite,xlsx")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_one(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        start = time.perf_counter()
        url = generate(path, args.ballots, args.comments)
        print(f"generated {args.ballots:,} ballots and {args.comments:,} comments in "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
        print(f"{'subject':<8} {'format':<7} {'rows':>10} {'s':>8} {'rows/s':>10} "
              f"{'MB out':>8} {'peak RSS MB':>12}")  # fmt: skip
        for subject in ("cycle", "draft"):
            for fmt in args.formats.split(","):
                if subject == "draft" and fmt == "pb":
                    continue
                out = Path(tmp) / f"out.{fmt}"
                result = subprocess.run(
                    [sys.executable, __file__, "--child", url, subject, fmt, str(out)],
                    capture_output=True,
                    text=True,
                    check=False,
                    env={**os.environ, "PYTHONWARNINGS": "ignore"},
                )
                if result.returncode:
                    print(f"{subject} {fmt} failed:\n{result.stderr[-2000:]}")
                    continue
                r = json.loads(result.stdout.strip().splitlines()[-1])
                print(f"{subject:<8} {fmt:<7} {r['rows']:>10,} {r['seconds']:>8.1f} "
                      f"{r['rows'] / r['seconds']:>10,.0f} {r['bytes'] / 1e6:>8.1f} "
                      f"{r['peak_mb']:>12.1f}")  # fmt: skip
                out.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
