"""Parallel ballots on a real server and real connections: never two ballots for one voter.

These tests commit, so they run on their own throw-away database (SQLite file, or a fresh
PostgreSQL database when DATABASE_URL points at a server), not the per-test transaction.
"""

import http.client
import re
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from dbutil import fresh_database_url, prepare_schema
from helpers import make_iin, new_cycle
from werkzeug.serving import make_server

from portal import create_app
from portal.accounts import services as accounts
from portal.accounts.models import User, iin_key
from portal.budgeting import services
from portal.budgeting.models import Ballot, BallotChoice, BudgetCycle, Proposal
from portal.extensions import db
from portal.regions.services import region_by_code

PASSWORD = "correct-horse-battery"
PARALLEL = 20


@pytest.fixture(scope="module")
def live(tmp_path_factory, worker_id):
    url = fresh_database_url(tmp_path_factory.mktemp("conc"), f"tynda_budget_conc_{worker_id}")
    app = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": url})
    prepare_schema(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, server.server_port
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


_serial = iter(range(5000, 9000))


def _setup(app, *, final, voters=1):
    """Commit a voting cycle with three projects and `voters` verified residents."""
    with app.app_context():
        region = region_by_code(db.session, "KZ-75")
        cycle = new_cycle(
            "voting", title_en="Concurrency", budget=1_000, ballots_final=final, commit=False
        )
        users = []
        for _ in range(voters):
            iin = make_iin(next(_serial))
            user = accounts.register(
                db.session,
                full_name="Parallel Voter",
                iin=iin,
                email=f"p{iin}@example.kz",
                phone="+77011234567",
                password=PASSWORD,
                region=region,
                district=None,
                key=iin_key(),
            )
            user.verified_region_id = region.id
            users.append(user)
        db.session.flush()
        projects = [
            Proposal(
                cycle_id=cycle.id,
                author_id=users[0].id,
                title=f"P{cost}",
                description_html="<p>x</p>",
                category="yards",
                estimated_cost=cost,
                status="feasible",
            )
            for cost in (600, 400, 300)
        ]
        db.session.add_all(projects)
        db.session.commit()
        return cycle.id, [p.id for p in projects], [(u.id, u.email) for u in users]


def _count_ballots(app, cycle_id):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).where(Ballot.cycle_id == cycle_id))


class Browser:
    """A tiny cookie-keeping HTTP client for the live server (no redirects followed)."""

    def __init__(self, port):
        self.port, self.cookies = port, {}

    def request(self, method, path, form=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return response.status, text

    def token(self, path):
        _status, text = self.request("GET", path)
        return re.search(r'name="csrf-token" content="([^"]+)"', text).group(1)


def test_twenty_identical_parallel_posts_make_exactly_one_ballot(live):
    app, port = live
    cycle_id, project_ids, [(_uid, email)] = _setup(app, final=True)
    browser = Browser(port)
    status, _ = browser.request(
        "POST",
        "/login",
        {"email": email, "password": PASSWORD, "csrf_token": browser.token("/login")},
    )
    assert status == 302
    path = f"/budget/{cycle_id}/ballot"
    form = {
        "csrf_token": browser.token(path),
        "project": [str(project_ids[0]), str(project_ids[1])],
    }
    barrier = threading.Barrier(PARALLEL)

    def post(_):
        barrier.wait()
        return browser.request("POST", path, form)[0]

    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(pool.map(post, range(PARALLEL)))
    assert sorted(statuses) == [302] + [409] * (PARALLEL - 1), statuses
    assert _count_ballots(app, cycle_id) == 1


def test_parallel_different_ballots_for_one_voter_leave_one_valid_ballot(live):
    app, _port = live
    cycle_id, (a, b, c), [(user_id, _email)] = _setup(app, final=False)
    choices = [[a], [b, c], [a, b], [a, c], [c]] * 4
    barrier = threading.Barrier(len(choices))
    errors = []

    def vote(chosen):
        with app.app_context():
            session = sa.orm.Session(db.engine)
            try:
                barrier.wait()  # before any query: a waiting thread must hold no lock
                voter = session.get(User, user_id)
                cycle = session.get(BudgetCycle, cycle_id)
                services.cast_ballot(session, voter, cycle, chosen, secret="s")
                session.commit()
            except Exception as error:  # noqa: BLE001 — collected and asserted below
                session.rollback()
                errors.append(error)
            finally:
                session.close()

    threads = [threading.Thread(target=vote, args=(ch,)) for ch in choices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        ballots = db.session.scalars(sa.select(Ballot).where(Ballot.cycle_id == cycle_id)).all()
        assert len(ballots) == 1
        stored = sorted(
            db.session.scalars(
                sa.select(BallotChoice.proposal_id).where(BallotChoice.ballot_id == ballots[0].id)
            )
        )
        assert stored in [sorted(ch) for ch in choices]  # one whole ballot, never a mix
        costs = {a: 600, b: 400, c: 300}
        assert sum(costs[p] for p in stored) <= 1_000


def test_many_voters_in_parallel_all_count(live):
    app, _port = live
    cycle_id, (a, _b, _c), users = _setup(app, final=True, voters=PARALLEL)
    barrier = threading.Barrier(PARALLEL)

    def vote(user_id):
        with app.app_context():
            session = sa.orm.Session(db.engine)
            try:
                barrier.wait()
                services.cast_ballot(
                    session,
                    session.get(User, user_id),
                    session.get(BudgetCycle, cycle_id),
                    [a],
                    secret="s",
                )
                session.commit()
            finally:
                session.close()

    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(vote, [uid for uid, _ in users]))
    assert _count_ballots(app, cycle_id) == PARALLEL
