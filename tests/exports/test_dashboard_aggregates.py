"""Dashboards and counts do not read every ballot per request: turnout and votes come from
the aggregate cache versioned by the ballot ledger. Every figure is compared with a full
recount of the ballot table, after new ballots, replaced ballots and a damaged cache."""

import datetime as dt
import re
from collections import Counter

import pytest
from helpers import make_iin, make_user
from sqlalchemy import event, func, select, update

from portal.accounts.models import User
from portal.budgeting import figures, integrity, services
from portal.budgeting.models import Ballot, BallotChoice, Proposal
from portal.cache.models import CachedAggregate
from portal.exports import dashboards
from portal.exports.services import age_band
from portal.extensions import db as _db
from portal.regions.services import region_by_code

SECRET = "receipt-secret"
HOUR = dt.timedelta(hours=1)


def _projects(cycle, n, **values):
    author = make_user()
    rows = []
    for i in range(n):
        p = Proposal(
            cycle_id=cycle.id,
            author_id=author.id,
            title=values.get("title", "P{i}").format(i=i),
            description_html="<p>x</p>",
            category="yards",
            estimated_cost=1000 + i,
            status=values.get("status", "feasible"),
        )
        _db.session.add(p)
        rows.append(p)
    _db.session.commit()
    return rows


def _voter(i):
    region = region_by_code(_db.session, "KZ-75")
    districts = region.districts
    births = ("850505", "990101", "600303", "020202", "750707")
    return make_user(
        district=districts[i % len(districts)] if i % 4 else None,
        iin=make_iin(birth=births[i % len(births)], century_sex=3 + i % 2),
    )


def _cast(cycle, voter, ids, hours=1):
    services.cast_ballot(
        _db.session, voter, cycle, ids, secret=SECRET, now=cycle.voting_open_at + hours * HOUR
    )
    _db.session.commit()


def _recount(cycle):
    """Turnout and votes straight from every ballot row (what each request used to do)."""
    ballots = _db.session.scalars(select(Ballot).where(Ballot.cycle_id == cycle.id)).all()
    place = Counter((b.channel, b.district_id) for b in ballots)
    person = Counter((b.birth_year, b.sex) for b in ballots)
    day = Counter(b.created_at.date().isoformat() for b in ballots)
    votes = Counter(
        _db.session.scalars(
            select(BallotChoice.proposal_id)
            .join(Ballot, Ballot.id == BallotChoice.ballot_id)
            .where(Ballot.cycle_id == cycle.id)
        )
    )
    return {"ballots": len(ballots), "place": place, "person": person, "day": day}, dict(votes)


def _as_counters(turnout):
    return {
        "ballots": turnout["ballots"],
        "place": Counter({(c, d): n for c, d, n in turnout["place"]}),
        "person": Counter({(y, s): n for y, s, n in turnout["person"]}),
        "day": Counter({d: n for d, n in turnout["day"]}),
    }


def _cached(cycle, kind):
    _db.session.expire_all()
    return _db.session.get(CachedAggregate, f"budget.{kind}:{cycle.id}")


class Statements:
    def __init__(self):
        self.seen = []

    def __enter__(self):
        event.listen(_db.engine, "before_cursor_execute", self._add)
        return self

    def __exit__(self, *exc):
        event.remove(_db.engine, "before_cursor_execute", self._add)

    def _add(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append((statement, parameters))


def test_turnout_matches_a_full_recount_as_ballots_come_in(db, new_cycle):
    cycle = new_cycle("voting")
    a, b, c = (p.id for p in _projects(cycle, 3))
    voters = [_voter(i) for i in range(8)]
    for i, voter in enumerate(voters[:5]):
        _cast(cycle, voter, [(a, b, c)[i % 3]], hours=1 + 5 * i)
    expected, votes = _recount(cycle)
    assert _as_counters(figures.turnout(db.session, cycle)) == expected
    assert expected["ballots"] == 5
    size = integrity.head_of(db.session, cycle)[0]
    assert _cached(cycle, "turnout").version == str(size)
    assert figures.votes(db.session, cycle) == votes

    # Three more ballots and one replaced: turnout reads only the leaves after the cached
    # position; the replacement is not a new ballot.
    for i, voter in enumerate(voters[5:]):
        _cast(cycle, voter, [a, c], hours=2 + i)
    _cast(cycle, voters[0], [b, c], hours=3)  # replaces voter 0's ballot
    expected, votes = _recount(cycle)
    assert expected["ballots"] == 8
    with Statements() as statements:
        turnout = figures.turnout(db.session, cycle)
    assert _as_counters(turnout) == expected
    reads = [s for s in statements.seen if "budget_ledger_leaf" in s[0] and "GROUP BY" in s[0]]
    assert len(reads) == 1 and size in _values(reads[0][1])
    assert not any(re.search(r"FROM budget_ballot\b(?! JOIN)", s) for s, _p in statements.seen)
    new_size = integrity.head_of(db.session, cycle)[0]
    assert new_size == size + 4 and _cached(cycle, "turnout").version == str(new_size)
    assert figures.votes(db.session, cycle) == votes

    # Unchanged ledger: served from the cache, no ballot or leaf is read.
    with Statements() as statements:
        assert _as_counters(figures.turnout(db.session, cycle)) == expected
        figures.votes(db.session, cycle)
    assert not any("budget_ballot" in s or "budget_ledger_leaf" in s for s, _p in statements.seen)


def _values(parameters):
    return list(parameters.values()) if isinstance(parameters, dict) else list(parameters)


def test_a_damaged_or_foreign_cache_is_recounted(db, new_cycle):
    cycle = new_cycle("voting")
    (a,) = (p.id for p in _projects(cycle, 1))
    for i in range(3):
        _cast(cycle, _voter(i), [a], hours=1 + i)
    figures.turnout(db.session, cycle)
    # A version ahead of the ledger (another database's row restored by hand, say).
    db.session.execute(
        update(CachedAggregate)
        .where(CachedAggregate.name == f"budget.turnout:{cycle.id}")
        .values(version="999", data={"place": [["online", None, 1000]], "person": [], "day": []})
    )
    db.session.commit()
    expected, _votes = _recount(cycle)
    assert _as_counters(figures.turnout(db.session, cycle)) == expected


def test_cycle_without_a_ledger_is_counted_directly(db, new_cycle):
    """Ballots written by hand (no ledger head): counted from the table, nothing cached."""
    cycle = new_cycle("results")
    (a,) = (p.id for p in _projects(cycle, 1))
    for n in range(3):
        ballot = Ballot(cycle_id=cycle.id, channel="imported", receipt=f"hand{n}")
        db.session.add(ballot)
        db.session.flush()
        db.session.add(BallotChoice(ballot_id=ballot.id, proposal_id=a))
    db.session.commit()
    assert figures.turnout(db.session, cycle)["ballots"] == 3
    assert figures.votes(db.session, cycle) == {a: 3}
    assert _cached(cycle, "turnout") is None and _cached(cycle, "votes") is None


def test_staff_dashboard_figures_match_a_recount(db, as_role, new_cycle):
    cycle = new_cycle("voting")
    a, b = (p.id for p in _projects(cycle, 2))
    for i in range(7):
        _cast(cycle, _voter(i), [a] if i % 2 else [a, b], hours=1 + 3 * i)
    staff = as_role("staff")
    page = staff.get(f"/staff/cycles/{cycle.id}")
    assert page.status_code == 200
    user = db.session.get(User, staff.user.id)
    figures_ = dashboards.cycle_figures(db.session, cycle, user)
    expected, _votes = _recount(cycle)
    assert figures_["ballots"] == expected["ballots"] == 7
    by_channel, by_district = Counter(), Counter()
    for (channel, district), n in expected["place"].items():
        by_channel[channel] += n
        by_district[district] += n
    assert figures_["by_channel"] == dict(by_channel)
    assert figures_["ballots_by_district"] == dict(by_district)
    bands = {}
    for (year, sex), n in expected["person"].items():
        band = age_band(year, cycle.voting_open_at.year)
        bands.setdefault(band, Counter())[sex] += n
    assert figures_["by_band_sex"] == {k: dict(v) for k, v in bands.items()}
    assert figures_["per_day"] == sorted(expected["day"].items())
    assert "7" in page.get_data(as_text=True)


def test_dashboard_top_projects_without_a_result_match_a_recount(db, as_role, new_cycle):
    cycle = new_cycle("voting")
    projects = [p.id for p in _projects(cycle, 4)]
    plan = [[projects[0]], [projects[2], projects[0]], [projects[2]], [projects[3], projects[2]]]
    for i, ids in enumerate(plan):
        _cast(cycle, _voter(i), ids, hours=1 + i)
    services.move_phase(db.session, make_user(role="admin"), cycle, "results")
    db.session.commit()
    staff = as_role("staff")
    shown = dashboards.cycle_figures(db.session, cycle, db.session.get(User, staff.user.id))
    _expected, votes = _recount(cycle)
    ranked = sorted(projects, key=lambda pid: (-votes.get(pid, 0), pid))
    assert [r["id"] for r in shown["results"]] == ranked
    assert [r["votes"] for r in shown["results"]] == [votes.get(pid, 0) for pid in ranked]


@pytest.fixture
def closed_with_ballots(db, new_cycle):
    cycle = new_cycle("voting")
    projects = [p.id for p in _projects(cycle, 5, title="Counted {i}")]
    plan = [[0, 1], [1], [1, 2], [3], [1, 3], [0]]
    for i, picks in enumerate(plan):
        _cast(cycle, _voter(i), [projects[k] for k in picks], hours=1 + i)
    services.move_phase(db.session, make_user(role="admin"), cycle, "results")
    db.session.commit()
    return cycle, projects


def test_counts_page_is_ranked_and_paged_like_a_recount(
    db, app, as_role, monkeypatch, closed_with_ballots
):
    cycle, projects = closed_with_ballots
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    _expected, votes = _recount(cycle)
    ranked = sorted(projects, key=lambda pid: (-votes.get(pid, 0), pid))
    titles = {pid: f"Counted {projects.index(pid)}" for pid in projects}
    client = as_role("admin")
    seen = []
    for number in (1, 2, 3):
        html = client.get(f"/budget/{cycle.id}/counts?page={number}").get_data(as_text=True)
        assert "Ballots so far: 6" in html
        rows = re.findall(r'<th scope="row">(Counted \d)</th><td class="num">(\d+)</td>', html)
        seen.extend(rows)
    assert seen == [(titles[pid], str(votes.get(pid, 0))) for pid in ranked]


def test_review_queue_order_and_pages(db, app, as_role, monkeypatch, new_cycle):
    cycle = new_cycle("review")
    author = make_user()
    base = cycle.proposals_open_at
    statuses = ["feasible", "submitted", "withdrawn", "infeasible", "submitted", "submitted"]
    made = []
    for i, status in enumerate(statuses):
        p = Proposal(
            cycle_id=cycle.id,
            author_id=author.id,
            title=f"Review {i}",
            description_html="<p>x</p>",
            category="yards",
            estimated_cost=1000,
            status=status,
            created_at=base + dt.timedelta(minutes=(7 * i) % 5),
        )
        db.session.add(p)
        made.append(p)
    db.session.commit()
    expected = [
        p.title
        for p in sorted(
            (p for p in made if p.status != "withdrawn"),
            key=lambda p: (p.status != "submitted", p.created_at, p.id),
        )
    ]
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    client = as_role("staff")
    seen = []
    for number in (1, 2, 3):
        html = client.get(f"/budget/{cycle.id}/review?page={number}").get_data(as_text=True)
        seen.extend(re.findall(r"#review-h\">(Review \d)</a>", html))
    assert seen == expected and len(seen) == 5
    assert client.get(f"/budget/{cycle.id}/review?page=x").status_code == 400


def test_ballot_totals_for_the_home_page_match_a_recount(db, new_cycle):
    voting, other = new_cycle("voting"), new_cycle("voting")
    empty = new_cycle("proposals")
    a, b = _projects(voting, 2)
    (c,) = _projects(other, 1)
    voters = [_voter(i) for i in range(5)]
    for voter in voters[:3]:
        _cast(voting, voter, [a.id, b.id])
    _cast(other, voters[3], [c.id])
    ids = [voting.id, other.id, empty.id]

    def recount():
        return {
            cid: db.session.scalar(select(func.count()).where(Ballot.cycle_id == cid))
            for cid in ids
        }

    assert (
        figures.ballot_totals(db.session, ids)
        == recount()
        == {
            voting.id: 3,
            other.id: 1,
            empty.id: 0,
        }
    )
    figures.turnout(db.session, voting)  # the dashboard caches the voting cycle's turnout
    assert figures.ballot_totals(db.session, ids) == recount()
    _cast(voting, voters[4], [a.id])  # the cache is now behind the ledger: counted again
    _cast(voting, voters[0], [b.id])  # a replaced ballot is still one ballot
    assert (
        figures.ballot_totals(db.session, ids)
        == recount()
        == {
            voting.id: 4,
            other.id: 1,
            empty.id: 0,
        }
    )
    figures.turnout(db.session, voting)
    assert figures.ballot_totals(db.session, ids)[voting.id] == 4
    # Ballots per heading (the cycle page's headings table) come from the same cache.
    per_heading = dict(
        db.session.execute(
            select(Ballot.heading_id, func.count())
            .where(Ballot.cycle_id == voting.id)
            .group_by(Ballot.heading_id)
        ).all()
    )
    assert dict(map(tuple, figures.turnout(db.session, voting)["heading"])) == per_heading
    assert sum(per_heading.values()) == 4
