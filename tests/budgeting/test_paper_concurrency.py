"""Paper desks in parallel on real connections: one person, one ballot; one batch, one decision.

These tests commit, so they run on their own throw-away database (SQLite file, or a fresh
PostgreSQL database when DATABASE_URL points at a server), not the per-test transaction.
"""

import threading

import pytest
import sqlalchemy as sa
from dbutil import fresh_database_url, prepare_schema
from helpers import make_iin, new_cycle

from portal import create_app
from portal.accounts import services as accounts
from portal.accounts.models import User
from portal.budgeting import paper, services
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.models import Ballot, BudgetCycle, LedgerLeaf, PaperBatch, Proposal
from portal.extensions import db
from portal.regions.services import region_by_code

PARALLEL = 8
SECRET = "s"
_serial = iter(range(7000, 9000))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, worker_id):
    url = fresh_database_url(tmp_path_factory.mktemp("paper"), f"tynda_paper_conc_{worker_id}")
    app = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": url})
    prepare_schema(app)
    yield app
    with app.app_context():
        db.engine.dispose()


def _setup(app, staff=2, residents=0, final=False):
    """Commit a voting cycle with two projects, `staff` staff members and `residents`
    verified residents; returns (cycle id, project ids, staff ids, [(user id, iin)])."""
    with app.app_context():
        region = region_by_code(db.session, "KZ-75")
        cycle = new_cycle(
            "voting", title_en="Paper race", budget=1_000, ballots_final=final, commit=False
        )
        people = []
        for number in range(staff + residents):
            iin = make_iin(next(_serial))
            user = accounts.register(
                db.session,
                full_name="Desk",
                iin=iin,
                email=f"d{iin}@example.kz",
                phone="+77011234567",
                password="correct-horse-battery",
                region=region,
                district=None,
                key=app.config["IIN_HMAC_KEY"],
            )
            user.verified_region_id = region.id
            if number < staff:
                accounts.grant_role(db.session, user, "staff", region)
            people.append((user, iin))
        db.session.flush()
        projects = [
            Proposal(
                cycle_id=cycle.id,
                title=f"P{cost}",
                description_html="<p>x</p>",
                category="yards",
                estimated_cost=cost,
                status="feasible",
            )
            for cost in (600, 400)
        ]
        db.session.add_all(projects)
        db.session.commit()
        return (
            cycle.id,
            [p.id for p in projects],
            [u.id for u, _ in people[:staff]],
            [(u.id, iin) for u, iin in people[staff:]],
        )


def _run_together(app, calls):
    """Run each call(session) in its own thread and session, all released at once; returns
    the refusal codes in call order (None for a success)."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(number, call):
        with app.app_context():
            session = sa.orm.Session(db.engine)
            try:
                barrier.wait()  # before any query: a waiting thread must hold no lock
                call(session)
                session.commit()
            except BudgetRuleError as error:
                session.rollback()
                outcomes[number] = error.code
            except Exception as error:  # noqa: BLE001 — reported by the assertion below
                session.rollback()
                outcomes[number] = repr(error)
            finally:
                session.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _desk(app, cycle_id, staff_id, iin, project_id):
    def call(session):
        paper.enter_ballot(
            session,
            session.get(User, staff_id),
            session.get(BudgetCycle, cycle_id),
            [project_id],
            iin=iin,
            iin_key=app.config["IIN_HMAC_KEY"],
            secret=SECRET,
            ballot_key=app.config["BALLOT_KEY"],
            declared=True,
        )

    return call


def _count(app, model, *where):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_desks_entering_one_iin_at_once_make_one_ballot(fresh):
    app = fresh
    cycle_id, (a, b), staff, _ = _setup(app)
    iin = make_iin(next(_serial))  # a resident without an account
    calls = [_desk(app, cycle_id, staff[n % 2], iin, (a, b)[n % 2]) for n in range(PARALLEL)]
    outcomes = _run_together(app, calls)
    assert sorted(outcomes, key=str) == [None] + ["already_voted"] * (PARALLEL - 1), outcomes
    assert _count(app, Ballot, Ballot.cycle_id == cycle_id) == 1
    assert _count(app, LedgerLeaf, LedgerLeaf.cycle_id == cycle_id) == 1


def test_online_and_desk_at_once_for_one_person_make_one_ballot(fresh):
    app = fresh
    cycle_id, (a, b), staff, [(user_id, iin)] = _setup(app, residents=1, final=True)

    def online(session):
        services.cast_ballot(
            session,
            session.get(User, user_id),
            session.get(BudgetCycle, cycle_id),
            [b],
            secret=SECRET,
            ballot_key=app.config["BALLOT_KEY"],
        )

    calls = [online, _desk(app, cycle_id, staff[0], iin, a)] * (PARALLEL // 2)
    outcomes = _run_together(app, calls)
    assert outcomes.count(None) == 1, outcomes
    assert _count(app, Ballot, Ballot.cycle_id == cycle_id) == 1
    winner = "online" if outcomes.index(None) % 2 == 0 else "paper"
    with app.app_context():
        channel = db.session.scalar(sa.select(Ballot.channel).where(Ballot.cycle_id == cycle_id))
    assert channel == winner
    # The same channel hears "already voted", the other "already voted online/on paper".
    for number, outcome in enumerate(outcomes):
        if outcome is not None:
            same = ("online", "paper")[number % 2] == winner
            assert outcome == ("already_voted" if same else "other_channel"), outcomes


def test_two_staff_confirming_one_batch_at_once_count_it_once(fresh):
    app = fresh
    cycle_id, (a, b), staff, _ = _setup(app, staff=3)
    with app.app_context():
        batch = paper.enter_batch(
            db.session,
            db.session.get(User, staff[0]),
            db.session.get(BudgetCycle, cycle_id),
            station="School 7",
            rows=[(1, [a]), (2, [b]), (3, [a, b])] * 3,
        )
        db.session.commit()
        batch_id = batch.id

    def confirm(staff_id):
        def call(session):
            paper.confirm_batch(
                session,
                session.get(User, staff_id),
                session.get(PaperBatch, batch_id),
                secret=SECRET,
            )

        return call

    outcomes = _run_together(app, [confirm(staff[1]), confirm(staff[2])] * (PARALLEL // 2))
    assert sorted(outcomes, key=str) == [None] + ["batch_decided"] * (PARALLEL - 1), outcomes
    assert _count(app, Ballot, Ballot.cycle_id == cycle_id) == 9
    assert _count(app, LedgerLeaf, LedgerLeaf.cycle_id == cycle_id) == 9
