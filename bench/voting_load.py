"""Voting under load: ballot POSTs against a durable-insert floor, sign-ins during voting,
and kill -9 of every server process during voting. Side by side, in one run, per database.

    .venv/bin/python bench/voting_load.py [--db sqlite,postgresql] [--seconds 10]

For each database it builds a fresh database (the real migrations, a voting cycle of 100
projects, 60,000 verified residents whose login cookies and CSRF tokens are forged with the
bench's secret key, so no client signs in before voting), then serves it with

    gunicorn --workers N --bind 127.0.0.1:PORT wsgi:app                    (the portal)
    gunicorn --workers N --bind 127.0.0.1:PORT --pythonpath bench floor_app:app

and measures, with `--seconds` per run:
  1. ballot POST vs the floor (bench/floor_app.py: one INSERT + COMMIT per POST, same
     database, same engine settings) at 8 and 32 clients, 1 and 2 workers (BENCH_WORKERS,
     e.g. "1,2,4": 4 is portal/deploy/gunicorn.conf.py's default on 2 cores), with the CPU
     a request cost on the machine by process (web server, database, writer, this client);
     BENCH_AUTH_FLOOR=1 adds the portal's signed-in floor between them
     (bench/auth_floor_app.py: session, resident, CSRF, rate limit, one INSERT + COMMIT);
  2. sign-ins (production Argon2id) while 8 clients vote on 2 workers, against voting alone:
     16 sign-ins started together every second (a burst; the target's shape) and 16 clients
     signing in back to back; `--signin` compares code or TYNDA_HASH_* variants side by side;
  3. kill -9 of every gunicorn process (master and workers) 5 times during voting, then a
     check that every acknowledged ballot is stored once and none is over budget.
BENCH_KEEP=1 keeps the database and gunicorn.log; BENCH_WRITER=1 serves ballots beside
the machine's ballot writer process (BALLOT_WRITER_SOCKET; its CPU is not in the
sign-ins' "server CPU" figures); BALLOT_GROUP_COMMIT=0 (passed to the portal) writes each SQLite
ballot in its request instead of the group writer.
PostgreSQL runs in a throw-away cluster that this script starts with fsync and synchronous
commit on (durable, unlike the test cluster) and removes at the end. Loopback only.
Targets (issue 9): ballot >= 0.5x floor, p99 < 100 ms at 32 clients, 0 errors, 2 workers
faster than 1; sign-in p99 < 500 ms with voting dropping at most a third; no lost ballot.
"""

import argparse
import http.client
import itertools
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECRET = "bench-secret-not-for-production"
BALLOT_KEY = "bench-ballot-key-not-for-production"
os.environ.update(
    TYNDA_ENV="production",
    SECRET_KEY=SECRET,
    IIN_HMAC_KEY="bench-iin-key-not-for-production",
    RECEIPT_KEY="bench-receipt-key-not-for-production",
    BALLOT_KEY=BALLOT_KEY,
)
PASSWORD = "bench-password-2026"
AGENT = "tynda-bench"
PROJECTS = 100
VOTERS = int(os.environ.get("BENCH_VOTERS", 60_000))
SIGNERS = 64
RESIDENTS = 256


# ------------------------------------------------------------------ databases
def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(keep):
    """User + system CPU seconds of the live processes for which keep(pid, ppid, pgrp) is
    true (from /proc; a process that exited meanwhile is not counted)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid, pgrp = int(fields[1]), int(fields[2])
        if keep(int(entry.name), ppid, pgrp):
            total += int(fields[11]) + int(fields[12])
    return total / tick


class PostgresCluster:
    """A durable throw-away cluster (fsync on, synchronous_commit on) in a temp folder."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="tynda-bench-pg-"))
        self.bin = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        self.port = free_port()

    def _run(self, *args):
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

    def start(self):
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            f"{self.dir}/data",
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=on "
            "-c synchronous_commit=on -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            f"{self.dir}/data",
            "-l",
            f"{self.dir}/log",
            "-w",
            "-o",
            options,
            "start",
        )
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def cpu(self):
        """CPU seconds of the cluster's postmaster and its backends, so far."""
        postmaster = int((self.dir / "data" / "postmaster.pid").read_text().split()[0])
        return cpu_seconds(lambda pid, ppid, _pgrp: postmaster in (pid, ppid))

    def stop(self):
        try:
            self._run("pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def seed(url):
    """Migrate, load regions, add a voting cycle and the residents; return what clients need."""
    import datetime as dt

    import sqlalchemy as sa
    from argon2 import PasswordHasher
    from flask import session
    from flask_login.utils import _create_identifier
    from flask_migrate import upgrade
    from flask_wtf.csrf import generate_csrf

    from config import Config
    from portal import create_app
    from portal.accounts.models import User
    from portal.budgeting.models import BudgetCycle, Proposal
    from portal.extensions import db
    from portal.regions.services import load_regions, region_by_code

    app = create_app({"CONFIG": "production", "SQLALCHEMY_DATABASE_URI": url})
    rng = random.Random(9)
    with app.app_context():
        upgrade()
        load_regions(db.session)
        region = region_by_code(db.session, "KZ-75")
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        day = dt.timedelta(days=1)
        author = User(
            email="author@bench.kz",
            full_name="Author",
            iin_hash="0" * 64,
            birth_year=1980,
            sex="F",
            phone="+77010000000",
            password_hash="x",
            region_id=region.id,
        )
        db.session.add(author)
        costs = [rng.randrange(1, 50) * 100_000 for _ in range(PROJECTS)]
        cycle = BudgetCycle(
            title_kk="Бюджет",
            title_ru="Бюджет",
            title_en="Budget",
            region_id=region.id,
            budget=sum(costs) // 4,
            ballot_rule="knapsack",
            winner_rule="greedy",
            proposals_open_at=now - 3 * day,
            review_open_at=now - 2 * day,
            voting_open_at=now - day,
            voting_close_at=now + 30 * day,
        )
        db.session.add(cycle)
        db.session.flush()
        for number, cost in enumerate(costs):
            db.session.add(
                Proposal(
                    cycle_id=cycle.id,
                    author_id=author.id,
                    title=f"Project {number}",
                    description_html="<p>Bench</p>",
                    category="yards",
                    estimated_cost=cost,
                    status="feasible",
                )
            )
        db.session.commit()
        password_hash = PasswordHasher(**Config.ARGON2_PARAMS).hash(PASSWORD)
        rows = [
            {
                "email": f"voter{n}@bench.kz",
                "full_name": f"Voter {n}",
                "iin_hash": f"{n:064x}",
                "birth_year": 1990,
                "sex": "M",
                "phone": "+77010000001",
                "password_hash": password_hash,
                "region_id": region.id,
                "role": "resident",
                "verified_region_id": region.id,
                "verified_at": now,
                "verified_via": "register",
                "session_token": f"token{n}",
                "created_at": now,
            }
            for n in range(1, VOTERS + 1)
        ]
        db.session.execute(sa.insert(User), rows)
        db.session.commit()
        voters = db.session.execute(
            sa.select(User.id, User.session_token, User.email)
            .where(User.email.like("voter%"))
            .order_by(User.id)
        ).all()
        projects = dict(
            db.session.execute(
                sa.select(Proposal.id, Proposal.estimated_cost).where(Proposal.cycle_id == cycle.id)
            ).all()
        )
        budget, cycle_id = cycle.budget, cycle.id
        db.engine.dispose()
    serializer = app.session_interface.get_signing_serializer(app)
    environ = {"REMOTE_ADDR": "127.0.0.1"}
    cookies = []
    for voter_id, token, email in voters:
        with app.test_request_context(environ_base=environ, headers={"User-Agent": AGENT}):
            if email.startswith("voter") and len(cookies) < VOTERS - SIGNERS:
                session["_user_id"], session["_fresh"] = f"{voter_id}:{token}", True
                session["_id"] = _create_identifier()
            csrf = generate_csrf()
            cookies.append((voter_id, email, serializer.dumps(dict(session)), csrf))
    signers = cookies[VOTERS - SIGNERS :]
    # Signed-in residents for the signed-in floor (it casts no ballot, so they repeat); the
    # voters never reach them.
    residents = cookies[VOTERS - SIGNERS - RESIDENTS : VOTERS - SIGNERS]
    return {
        "cycle_id": cycle_id,
        "budget": budget,
        "projects": projects,
        "voters": iter(cookies[: VOTERS - SIGNERS - RESIDENTS]),
        "signers": signers,
        "residents": residents,
    }


# ------------------------------------------------------------------ servers and clients
class Server:
    # gthread workers, as portal/deploy/gunicorn.conf.py serves in production; the floor
    # runs under the very same command. BENCH_THREADS=1 gives sync workers.
    threads = int(os.environ.get("BENCH_THREADS", 16))

    def __init__(self, app_spec, workers, url, log, root=ROOT, env=None):
        self.args = [
            str(ROOT / ".venv/bin/gunicorn"),
            "--workers",
            str(workers),
            "--bind",
            "",
            "--pythonpath",
            str(root / "bench"),
            "--timeout",
            "60",
            *(
                ["--worker-class", "gthread", "--threads", str(self.threads)]
                if self.threads > 1
                else []
            ),
            app_spec,
        ]
        self.env = dict(os.environ, DATABASE_URL=url, **(env or {}))
        self.root = root
        self.log = log
        self.process = None
        # BENCH_WRITER=1: the portal beside the machine's ballot writer process,
        # started, killed and stopped with it (`flask budgeting ballot-writer`).
        self.writer = None
        self.writer_socket = None
        if app_spec == "wsgi:app" and os.environ.get("BENCH_WRITER"):
            self.writer_socket = tempfile.mktemp(prefix="tynda-writer-", suffix=".sock")
            self.env["BALLOT_WRITER_SOCKET"] = self.writer_socket

    def _spawn(self, args):
        """A server process in its own process group (kill9 kills the group)."""
        return subprocess.Popen(
            args,
            cwd=self.root,
            env=self.env,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )

    def _start_writer(self):
        self.writer = self._spawn(
            [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "budgeting", "ballot-writer"]
        )
        deadline = time.monotonic() + 60
        while not os.path.exists(self.writer_socket):
            if time.monotonic() > deadline or self.writer.poll() is not None:
                raise RuntimeError("the ballot writer did not start")
            time.sleep(0.05)

    def start(self, port=None):
        if self.writer_socket:
            self._start_writer()
        self.port = port or free_port()
        self.args[4] = f"127.0.0.1:{self.port}"
        self.process = self._spawn(self.args)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def port_of(self):
        return self.port

    def cpu(self):
        """CPU seconds of the gunicorn master and workers so far (their own process group)."""
        return cpu_seconds(lambda _pid, _ppid, pgrp: pgrp == self.process.pid)

    def writer_cpu(self):
        """CPU seconds of the machine's ballot writer so far (0 without one)."""
        if self.writer is None:
            return 0.0
        return cpu_seconds(lambda _pid, _ppid, pgrp: pgrp == self.writer.pid)

    def kill9(self):
        """SIGKILL the master and every worker at once (its own process group)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        if self.writer is not None:
            os.killpg(self.writer.pid, signal.SIGKILL)
            self.writer.wait()
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        if self.writer is not None and self.writer.poll() is None:
            os.killpg(self.writer.pid, signal.SIGTERM)
            self.writer.wait(timeout=30)


def post(port, path, body, cookie=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        all_headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": AGENT,
            "Connection": "close",
        }
        if cookie:
            all_headers["Cookie"] = f"session={cookie}"
        all_headers.update(headers or {})
        connection.request("POST", path, body=body, headers=all_headers)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location", "")
    finally:
        connection.close()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies, self.errors, self.down = [], 0, 0

    def add(self, seconds, ok):
        with self.lock:
            if ok:
                self.latencies.append(seconds)
            else:
                self.errors += 1

    def summary(self, seconds):
        ordered = sorted(self.latencies)

        def pick(q):
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0

        return {
            "rate": len(ordered) / seconds,
            "n": len(ordered),
            "p50": pick(0.5),
            "p99": pick(0.99),
            "errors": self.errors,
            "down": self.down,
        }


def choose(data, rng):
    """A random knapsack ballot within the budget."""
    left, chosen = data["budget"], []
    for project_id in rng.sample(list(data["projects"]), 12):
        if data["projects"][project_id] <= left:
            chosen.append(project_id)
            left -= data["projects"][project_id]
    return chosen


def ballot_request(data, acked, path=None):
    lock = threading.Lock()
    signed_in = itertools.cycle(data["residents"]) if path else None
    path = path or f"/budget/{data['cycle_id']}/ballot"
    floor_voters = itertools.count(1)

    def request(port, rng, floor=False):
        with lock:
            if floor:
                voter_id, cookie, csrf = next(floor_voters), None, "x" * 80
            elif signed_in is not None:  # the signed-in floor casts no ballot: they repeat
                voter_id, _email, cookie, csrf = next(signed_in)
            else:
                voter_id, _email, cookie, csrf = next(data["voters"])
        chosen = choose(data, rng)
        body = urllib.parse.urlencode([("csrf_token", csrf)] + [("project", p) for p in chosen])
        if floor:
            status, _ = post(port, path, body, headers={"X-Voter": str(voter_id)})
        else:
            status, location = post(port, path, body, cookie=cookie)
            # Any other answer (a refusal, a redirect to sign in) is an error.
            if status == 302 and "/receipt" in location:
                if signed_in is None:
                    acked.append((voter_id, tuple(chosen)))
                return True
            return False
        return status == 302

    return request


def signin_request(data):
    signers = itertools.cycle(data["signers"])
    lock = threading.Lock()

    def request(port, rng, floor=False):
        with lock:
            _voter_id, email, cookie, csrf = next(signers)
        body = urllib.parse.urlencode({"csrf_token": csrf, "email": email, "password": PASSWORD})
        status, _ = post(port, "/login", body, cookie=cookie)
        return status == 302

    return request


def load(port_of, request, clients, seconds, floor=False, stop=None):
    """`clients` threads send requests back to back for `seconds`; returns Stats.
    A refused connection (server being restarted) counts as `down`, not as an error."""
    stats = Stats()
    end = time.monotonic() + seconds

    def client(number):
        rng = random.Random(number)
        while time.monotonic() < end and not (stop and stop.is_set()):
            started = time.perf_counter()
            try:
                ok = request(port_of(), rng, floor)
            except StopIteration:  # out of voters
                return
            except (ConnectionError, http.client.HTTPException, OSError):
                with stats.lock:
                    stats.down += 1
                time.sleep(0.05)
                continue
            stats.add(time.perf_counter() - started, ok)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return stats


# ------------------------------------------------------------------ scenarios
def throughput(url, data, seconds, log, cluster=None):
    """Ballot POSTs against the floor, each on a freshly started server, per worker count and
    client count. BENCH_AUTH_FLOOR=1 adds the portal's signed-in floor (bench/auth_floor_app.py).
    Each line also gives the CPU a request cost on the whole machine, by process: the web
    server (gunicorn), the database (PostgreSQL's backends), the machine's ballot writer and
    this load generator; on two cores, CPU per request bounds the rate."""
    rows = []
    servers = [("floor", "floor_app:app"), ("ballot", "wsgi:app")]
    paths = {}
    if os.environ.get("BENCH_AUTH_FLOOR"):  # the portal's signed-in floor between the two
        servers.insert(1, ("auth floor", "auth_floor_app:app"))
        paths["auth floor"] = "/bench/vote"
    # The floor's table, made once here: workers making it at once could race.
    subprocess.run(
        [sys.executable, "-c", "import floor_app"],
        cwd=ROOT / "bench",
        env=dict(os.environ, DATABASE_URL=url),
        check=True,
    )
    for workers in map(int, os.environ.get("BENCH_WORKERS", "1,2").split(",")):
        for clients in (8, 32):
            figures = {}
            for name, spec in servers:
                server = Server(spec, workers, url, log).start()
                try:
                    request = ballot_request(data, [], paths.get(name))
                    port_of = server.port_of
                    load(port_of, request, 2, 1, floor=name == "floor")  # warm-up
                    before = _machine_cpu(server, cluster)
                    figures[name] = load(
                        port_of, request, clients, seconds, floor=name == "floor"
                    ).summary(seconds)
                    spent = [b - a for a, b in zip(before, _machine_cpu(server, cluster))]
                    figures[name]["cpu"] = [1000 * s / max(figures[name]["n"], 1) for s in spent]
                finally:
                    server.stop()
            rows.append((workers, clients, figures))
            print(f"  {workers} worker(s), {clients:>2} clients:", flush=True)
            floor = figures["floor"]
            for name, _spec in servers:
                got = figures[name]
                web, database_, writer, client = got["cpu"]
                ratio = got["rate"] / max(floor["rate"], 1e-9)
                print(
                    f"    {name:>10} {got['rate']:6.1f}/s p50 {got['p50']:5.1f} p99 "
                    f"{got['p99']:6.1f} ms errors {got['errors']} | ratio {ratio:.2f} | CPU a "
                    f"request {web + database_ + writer + client:.2f} ms (web {web:.2f}, "
                    f"database {database_:.2f}, writer {writer:.2f}, client {client:.2f})",
                    flush=True,
                )
    return rows


def _machine_cpu(server, cluster):
    """CPU seconds so far: (gunicorn, PostgreSQL's backends, the ballot writer, this process)."""
    times = os.times()
    return (
        server.cpu(),
        cluster.cpu() if cluster else 0.0,
        server.writer_cpu(),
        times.user + times.system,
    )


def signin_variants(spec):
    """`--signin` spec: variants separated by ";", each `name` or `name:VAR=VALUE,...`
    (this tree with other environment, e.g. `nice0:TYNDA_HASH_NICE=0`) or `name=PATH` (the
    code in PATH, e.g. `git archive` of an older commit, same venv and migrations)."""
    variants = []
    for item in filter(None, spec.split(";")):
        root, env = ROOT, {}
        if "=" in item.split(":")[0]:
            name, path = item.split("=", 1)
            root = Path(path).resolve()
        else:
            name, _, settings = item.partition(":")
            env = dict(pair.split("=", 1) for pair in filter(None, settings.split(",")))
        params = subprocess.run(
            [sys.executable, "-c", "from config import Config; print(Config.ARGON2_PARAMS)"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        variants.append((name, root, env, eval(params)))  # noqa: S307 (our own config's dict)
    return variants


def _store_signer_hashes(url, data, params):
    """The signers' passwords hashed with the parameters of the code under test, so no
    variant pays for rehashing hashes made for another."""
    import sqlalchemy as sa
    from argon2 import PasswordHasher

    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE user_account SET password_hash = :h WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {
                "h": PasswordHasher(**params).hash(PASSWORD),
                "ids": [voter_id for voter_id, *_rest in data["signers"]],
            },
        )
    engine.dispose()


def signins(url, data, seconds, log, spec="now", cluster=None):
    """Sign-ins while 8 clients vote on 2 workers, for each variant in turn (same run):
    voting alone, then voting during each of two shapes of sign-in load:
      burst         16 sign-ins started together at the start of every second (open loop:
                    a crowd after an announcement); the target's shape (issue 9);
      back to back  16 clients, each signing in again as soon as answered (closed loop:
                    as many sign-ins as the server can take).
    Prints voting's drop against voting alone, the sign-ins' rate, p50 and p99, and the CPU
    the server used (gunicorn, plus PostgreSQL's backends): per ballot when voting alone, and
    per sign-in (what the phase used beyond its ballots at that price). CPU figures hold on a
    loaded machine where wall-clock rates do not."""
    rows = []
    for name, root, env, params in signin_variants(spec):
        _store_signer_hashes(url, data, params)
        server = Server("wsgi:app", 2, url, log, root=root, env=env)
        phases = _signins_on(server, data, seconds, cluster)
        alone, alone_cpu, _load = phases["alone"]
        per_ballot = alone_cpu / max(alone["n"], 1)
        label = f"{name} (m={params['memory_cost']} t={params['time_cost']}{env or ''})"
        print(
            f"  {label}: voting alone {alone['rate']:.1f}/s, server CPU {per_ballot * 1000:.1f} ms "
            "a ballot",
            flush=True,
        )
        for shape in ("burst", "back to back"):
            (during, sign), cpu, load1 = phases[shape]
            drop = 1 - during["rate"] / max(alone["rate"], 1e-9)
            per_signin = (cpu - during["n"] * per_ballot) / max(sign["n"], 1)
            print(
                f"    {shape:>12}: voting {during['rate']:.1f}/s (drop {drop:.0%}); sign-in "
                f"{sign['rate']:.1f}/s p50 {sign['p50']:.0f} p99 {sign['p99']:.0f} ms; server "
                f"CPU {per_signin * 1000:.1f} ms a sign-in; errors {sign['errors']}+"
                f"{during['errors']}; load {load1:.1f}",
                flush=True,
            )
        rows.append((name, phases))
    return rows


def _signins_on(server, data, seconds, cluster=None):
    """Voting alone, then during each shape of sign-ins, on one freshly started server:
    {phase: (figures, server CPU seconds, load average)}."""
    phases, started = {}, {}

    def cpu():
        return server.cpu() + (cluster.cpu() if cluster else 0)

    def sign(shape, run, port_of):
        started[shape] = run(port_of, signin_request(data), 16, seconds)

    server.start()
    try:
        voting = ballot_request(data, [])
        load(server.port_of, signin_request(data), 2, 1)  # warm-up
        before = cpu()
        alone = load(server.port_of, voting, 8, seconds).summary(seconds)
        phases["alone"] = (alone, cpu() - before, os.getloadavg()[0])
        for shape, run in (("burst", bursts), ("back to back", load)):
            before = cpu()
            thread = threading.Thread(target=sign, args=(shape, run, server.port_of))
            thread.start()
            during = load(server.port_of, voting, 8, seconds).summary(seconds)
            thread.join()
            figures = (during, started[shape].summary(seconds))
            phases[shape] = (figures, cpu() - before, os.getloadavg()[0])
    finally:
        server.stop()
    return phases


def bursts(port_of, request, size, seconds):
    """Open loop: every second `size` requests start at once (a burst of sign-ins, as when
    a crowd signs in after an announcement), whether or not the last burst has finished."""
    stats = Stats()
    end = time.monotonic() + seconds
    threads = []

    def one(number):
        started = time.perf_counter()
        try:
            ok = request(port_of(), random.Random(number))
        except (ConnectionError, http.client.HTTPException, OSError):
            ok = False
        stats.add(time.perf_counter() - started, ok)

    number = 0
    while time.monotonic() < end:
        tick = time.monotonic()
        for _ in range(size):
            number += 1
            thread = threading.Thread(target=one, args=(number,))
            thread.start()
            threads.append(thread)
        time.sleep(max(0.0, 1 - (time.monotonic() - tick)))
    for thread in threads:
        thread.join()
    return stats


def kill9(url, data, seconds, log, kills=5):
    """Vote with 16 clients; `kills` times, once the server has answered ballots for
    `seconds` / 2, SIGKILL every gunicorn process and start it again."""
    import sqlalchemy as sa

    acked = []
    server = Server("wsgi:app", 2, url, log).start()
    stop = threading.Event()
    result = {}

    def vote():
        result["stats"] = load(server.port_of, ballot_request(data, acked), 16, 3600, stop=stop)

    thread = threading.Thread(target=vote)
    thread.start()
    started = time.monotonic()
    try:
        for _ in range(kills):
            before = len(acked)
            time.sleep(seconds / 2)
            while len(acked) == before:  # the restarted server answers again
                if not thread.is_alive():
                    raise RuntimeError("the voting clients stopped: out of voters (BENCH_VOTERS)")
                time.sleep(0.2)
            server.kill9()
            server.start(server.port)
        time.sleep(seconds / 2)
    finally:
        stop.set()
        thread.join()
        server.stop()
    elapsed = time.monotonic() - started
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        stored = dict(
            connection.execute(
                sa.text(
                    "SELECT b.voter_key, count(DISTINCT b.id) FROM budget_ballot b "
                    "WHERE b.cycle_id = :c GROUP BY b.voter_key"
                ),
                {"c": data["cycle_id"]},
            ).all()
        )
        over = connection.scalar(
            sa.text(
                "SELECT count(*) FROM (SELECT bc.ballot_id, sum(p.estimated_cost) AS total "
                "FROM budget_ballot_choice bc JOIN budget_proposal p ON p.id = bc.proposal_id "
                "GROUP BY bc.ballot_id) t WHERE t.total > :budget"
            ),
            {"budget": data["budget"]},
        )
        choices = {
            (voter, proposal)
            for voter, proposal in connection.execute(
                sa.text(
                    "SELECT b.voter_key, bc.proposal_id FROM budget_ballot b "
                    "JOIN budget_ballot_choice bc "
                    "ON bc.ballot_id = b.id WHERE b.cycle_id = :c"
                ),
                {"c": data["cycle_id"]},
            )
        }
    engine.dispose()
    # Ballot rows carry only the voter's keyed pseudonym (ballot secrecy); the bench knows the key.
    from portal.budgeting.integrity import voter_key

    acked = [(voter_key(BALLOT_KEY, data["cycle_id"], v), chosen) for v, chosen in acked]
    lost = [v for v, _chosen in acked if v not in stored]
    stored_acked = sum(1 for v, _chosen in acked if v in stored)
    wrong = [v for v, chosen in acked if any((v, p) not in choices for p in chosen)]
    doubles = sum(1 for n in stored.values() if n > 1)
    stats = result["stats"].summary(elapsed)
    print(
        f"  kill -9 x{kills} in {elapsed:.0f} s: {len(acked)} acknowledged, {stored_acked} of them "
        f"stored, lost {len(lost)}, "
        f"wrong choices {len(wrong)}, double {doubles}, over budget {over}; "
        f"refused while down {stats['down']}, HTTP errors {stats['errors']}",
        flush=True,
    )
    return {
        "acked": len(acked),
        "stored": len(stored),
        "lost": len(lost),
        "wrong": len(wrong),
        "double": doubles,
        "over": over,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--skip", default="", help="comma list: throughput,signin,kill")
    parser.add_argument(
        "--signin", default="now", help="sign-in variants side by side (see signin_variants)"
    )
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()}", flush=True)
    for backend in args.db.split(","):
        cluster = None
        folder = Path(tempfile.mkdtemp(prefix="tynda-bench-"))
        log = open(folder / "gunicorn.log", "w")  # noqa: SIM115
        try:
            if backend == "sqlite":
                url = f"sqlite:///{folder / 'bench.sqlite'}"
            else:
                cluster = PostgresCluster()
                url = cluster.start()
            started = time.monotonic()
            data = seed(url)
            print(f"== {backend}: seeded in {time.monotonic() - started:.0f} s", flush=True)
            if "throughput" not in skip:
                throughput(url, data, args.seconds, log, cluster)
            if "signin" not in skip:
                signins(url, data, args.seconds, log, args.signin, cluster)
            if "kill" not in skip:
                kill9(url, data, args.seconds, log)
            print(f"   load average after {backend}: {os.getloadavg()}", flush=True)
        finally:
            log.close()
            if cluster:
                cluster.stop()
            if os.environ.get("BENCH_KEEP"):  # the database and gunicorn.log, to look into
                print(f"   kept {folder}", flush=True)
            else:
                shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
