"""The group writer on committed databases: parallel ballots written in shared commits, each
request answered with its own outcome, and a failing group written again one by one.

Like test_budget_concurrency.py these commit, so they run on a throw-away database (SQLite
file, or a fresh PostgreSQL database when DATABASE_URL points at a server). The portal hands
ballots to the machine's writer process on both databases (BALLOT_WRITER_SOCKET) and to its
own writer thread on SQLite only (config.BALLOT_GROUP_COMMIT); the writers and the group
path of ballots.write_ballots are tested on both databases here.
"""

import dataclasses
import os
import pickle
import shutil
import socket
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from dbutil import fresh_database_url, prepare_schema
from test_budget_concurrency import PASSWORD, Browser, _count_ballots, _setup
from werkzeug.serving import make_server

from portal import create_app, group_commit
from portal.accounts.models import User
from portal.budgeting import ballots, integrity, services
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.models import Ballot, BudgetCycle
from portal.extensions import db

PARALLEL = 24


@pytest.fixture(scope="module")
def grouped(tmp_path_factory, worker_id):
    url = fresh_database_url(tmp_path_factory.mktemp("group"), f"tynda_group_{worker_id}")
    app = create_app(
        {"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": url, "BALLOT_GROUP_COMMIT": True}
    )
    prepare_schema(app)
    yield app
    with app.app_context():
        db.engine.dispose()


def _freeze(app, cycle_id):
    """Stamp the cycle's rules frozen, as its first ballot does (the writer takes the rest)."""
    with app.app_context():
        integrity.freeze(db.session.get(BudgetCycle, cycle_id), session=db.session)
        db.session.commit()


@pytest.fixture(scope="module")
def port(grouped):
    """The portal on a live server, for POSTs through the ballot page."""
    server = make_server("127.0.0.1", 0, grouped, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()


def _signed_in(port, email, path):
    """A browser signed in as `email`, and the CSRF token of the page at `path`."""
    browser = Browser(port)
    form = {"email": email, "password": PASSWORD, "csrf_token": browser.token("/login")}
    assert browser.request("POST", "/login", form)[0] == 302
    return browser, browser.token(path)


def _submit_together(writer, items):
    """Each item submitted from its own thread, all at once: their outcomes in order."""
    barrier = threading.Barrier(len(items))

    def submit(item):
        barrier.wait()
        return writer.submit(item)

    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(submit, items))


def _prepared(app, cycle_id, user_id, chosen):
    with app.app_context():
        voter = db.session.get(User, user_id)
        cycle = db.session.get(BudgetCycle, cycle_id)
        prepared = services.prepare_ballot(db.session, voter, cycle, chosen, secret="s")
        db.session.rollback()
        return prepared


def test_parallel_ballots_share_commits_and_each_gets_its_own_id(grouped):
    app = grouped
    cycle_id, (a, b, c), users = _setup(app, final=True, voters=PARALLEL)
    _freeze(app, cycle_id)
    choices = [[a], [b, c], [b], [c]]
    prepared = [_prepared(app, cycle_id, uid, choices[n % 4]) for n, (uid, _e) in enumerate(users)]
    groups = []

    def write(session, items):
        groups.append(len(items))
        for _ in range(500):  # the first group waits until others queue (a busy server)
            if len(groups) > 1 or writer.queue.qsize():
                break
            threading.Event().wait(0.01)
        return ballots.write_ballots(session, items)

    writer = group_commit.GroupWriter(app, write)
    ids = _submit_together(writer, prepared)
    assert len(set(ids)) == PARALLEL
    assert sum(groups) == PARALLEL and max(groups) > 1, groups  # shared commits
    with app.app_context():
        for ballot_id, item in zip(ids, prepared, strict=True):
            ballot = db.session.get(Ballot, ballot_id)
            assert sorted(ballot.project_ids) == sorted(item.chosen)
            assert services.receipt_is_current(ballot, "s")
        cycle = db.session.get(BudgetCycle, cycle_id)
        assert integrity.verify_cycle(db.session, cycle, "s") is None
    # A person who voted already is refused alone, the cycle's ballots final.
    with pytest.raises(BudgetRuleError) as refused:
        writer.submit(prepared[0])
    assert refused.value.code == "already_voted"
    assert _count_ballots(app, cycle_id) == PARALLEL


def test_a_failing_group_is_written_again_one_by_one(grouped):
    """A write that raises (not a refusal) rolls its group back; the writer then writes each
    item alone, so only the bad one fails and the others are stored."""
    app = grouped
    calls = []
    release = threading.Event()

    def write(session, items):
        calls.append(list(items))
        if len(calls) == 1:
            release.wait(5)  # hold the first group so the rest queue up behind it
        session.execute(sa.text("SELECT 1"))
        if "bad" in items:
            raise ValueError("bad item")
        return [f"stored {item}" for item in items]

    writer = group_commit.GroupWriter(app, write)
    items = ["first", "a", "bad", "b"]
    with ThreadPoolExecutor(len(items)) as pool:
        futures = [pool.submit(writer.submit, items[0])]
        while not calls:
            threading.Event().wait(0.01)
        futures += [pool.submit(writer.submit, item) for item in items[1:]]
        while writer.queue.qsize() < 3:
            threading.Event().wait(0.01)
        release.set()
        outcomes = []
        for future in futures:
            try:
                outcomes.append(future.result(10))
            except ValueError as error:
                outcomes.append(error)
    assert outcomes[:2] == ["stored first", "stored a"] and outcomes[3] == "stored b"
    assert isinstance(outcomes[2], ValueError)
    assert sorted(map(sorted, calls[1:])) == [["a"], ["a", "b", "bad"], ["b"], ["bad"]]


def test_served_ballots_go_through_the_writer(grouped, port, monkeypatch):
    """Through the portal's ballot page on a live server: parallel voters all stored, one
    voter's twenty identical POSTs make one ballot. On SQLite they pass the group writer."""
    app = grouped
    submitted = []
    real_submit = group_commit.GroupWriter.submit

    def counting(self, item, timeout=60):
        submitted.append(item)
        return real_submit(self, item, timeout)

    monkeypatch.setattr(group_commit.GroupWriter, "submit", counting)
    cycle_id, (a, b, _c), users = _setup(app, final=True, voters=8)
    _freeze(app, cycle_id)
    path = f"/budget/{cycle_id}/ballot"
    browsers = [_signed_in(port, email, path) for _uid, email in users]
    barrier = threading.Barrier(len(browsers))

    def vote(pair):
        browser, token = pair
        barrier.wait()
        return browser.request("POST", path, {"csrf_token": token, "project": [a, b]})[0]

    with ThreadPoolExecutor(len(browsers)) as pool:
        assert list(pool.map(vote, browsers)) == [302] * len(browsers)
    assert _count_ballots(app, cycle_id) == len(browsers)
    again, token = browsers[0]
    statuses = {again.request("POST", path, {"csrf_token": token, "project": a})[0]}
    assert statuses == {409}
    sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    assert len(submitted) == (len(browsers) + 1 if sqlite else 0)
    with app.app_context():
        cycle = db.session.get(BudgetCycle, cycle_id)
        assert integrity.verify_cycle(db.session, cycle) is None


@pytest.fixture
def writer_socket(grouped):
    """The machine's writer, as `flask budgeting ballot-writer` runs it, on a Unix socket
    (a thread here): (path, the group sizes it wrote)."""
    folder = tempfile.mkdtemp(prefix="tw-", dir="/tmp")  # socket paths must be short
    path = os.path.join(folder, "w.sock")
    groups = []

    def write(session, items):
        groups.append(len(items))
        return ballots.write_ballots(session, items)

    def serve():
        with grouped.app_context():
            group_commit.serve(path, write, ready=ready)

    ready = threading.Event()
    threading.Thread(target=serve, daemon=True).start()
    assert ready.wait(10)
    yield path, groups
    shutil.rmtree(folder, ignore_errors=True)


def test_the_machines_writer_answers_each_worker_thread(grouped, writer_socket):
    """Through the socket: parallel ballots stored with their own ids, a refusal comes back
    as the same error with its details, and a second writer at the same socket is refused."""
    app = grouped
    path, groups = writer_socket
    cycle_id, (a, b, _c), users = _setup(app, final=True, voters=PARALLEL)
    _freeze(app, cycle_id)
    prepared = [
        dataclasses.replace(_prepared(app, cycle_id, uid, [a, b][: 1 + n % 2]), cycle=None)
        for n, (uid, _e) in enumerate(users)
    ]
    remote = group_commit.RemoteWriter(path)
    ids = _submit_together(remote, prepared)
    assert len(set(ids)) == PARALLEL and sum(groups) == PARALLEL
    with pytest.raises(BudgetRuleError) as refused:
        remote.submit(prepared[0])
    assert refused.value.code == "already_voted"
    with app.app_context():
        cycle = db.session.get(BudgetCycle, cycle_id)
        assert integrity.verify_cycle(db.session, cycle, "s") is None
    with pytest.raises(RuntimeError, match="already listens"):
        group_commit.serve(path, None)


def test_an_unreachable_writer_is_told_apart(grouped, port, monkeypatch):
    """No writer at the socket: Unreachable (nothing sent), and the ballot page writes the
    ballot through its own worker's writer instead."""
    app = grouped
    missing = os.path.join(tempfile.mkdtemp(prefix="tw-", dir="/tmp"), "none.sock")
    with pytest.raises(group_commit.Unreachable):
        group_commit.RemoteWriter(missing).submit("anything")
    monkeypatch.setitem(app.config, "BALLOT_WRITER_SOCKET", missing)
    _vote_through_the_page(app, port, voters=3)


def test_served_ballots_go_through_the_machines_writer(grouped, port, writer_socket, monkeypatch):
    app = grouped
    path, groups = writer_socket
    monkeypatch.setitem(app.config, "BALLOT_WRITER_SOCKET", path)
    _vote_through_the_page(app, port, voters=6)
    assert sum(groups) == 6


def _vote_through_the_page(app, port, voters):
    cycle_id, (a, _b, _c), users = _setup(app, final=True, voters=voters)
    _freeze(app, cycle_id)
    path = f"/budget/{cycle_id}/ballot"
    for _uid, email in users:
        browser, token = _signed_in(port, email, path)
        status, _ = browser.request("POST", path, {"csrf_token": token, "project": a})
        assert status == 302
    assert _count_ballots(app, cycle_id) == voters


def test_the_writer_reads_items_split_and_joined_on_the_wire():
    """A frame that arrives in pieces waits for the rest; two frames in one read are two
    items, in order; a closed connection says so."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        frames = [pickle.dumps(item) for item in ("first", {"second": 2})]
        wire = b"".join(group_commit._LENGTH.pack(len(f)) + f for f in frames)
        buffer, waiting = bytearray(), []
        theirs.sendall(wire[:3])
        assert group_commit._read(ours, buffer, waiting) and waiting == []
        theirs.sendall(wire[3:])
        assert group_commit._read(ours, buffer, waiting)
        assert [item for _c, item in waiting] == ["first", {"second": 2}] and not buffer
        theirs.close()
        assert not group_commit._read(ours, buffer, waiting)


def test_an_unconfirmed_ballot_says_what_to_do(grouped, port, monkeypatch):
    """The writer took the ballot and gave no answer in time: 503 with a page that says the
    ballot may be recorded and links to the ballot page, which tells (no stack trace)."""
    app = grouped

    class Unanswering:  # the machine's writer took the ballot and went silent
        def submit(self, item, timeout=60):
            raise group_commit.Unconfirmed("no answer in 60 s")

    monkeypatch.setitem(app.config, "BALLOT_WRITER_SOCKET", "/nonexistent/writer.sock")
    monkeypatch.setattr(group_commit, "remote", lambda path: Unanswering())
    cycle_id, (a, _b, _c), [(_uid, email)] = _setup(app, final=True, voters=1)
    _freeze(app, cycle_id)
    path = f"/budget/{cycle_id}/ballot"
    browser, token = _signed_in(port, email, path)
    browser.cookies["lang"] = "en"
    status, body = browser.request("POST", path, {"csrf_token": token, "project": a})
    assert status == 503
    assert "could not confirm in time" in body and f'href="{path}"' in body, body
    assert "Traceback" not in body
    assert _count_ballots(app, cycle_id) == 0
