"""Headings end to end in the services: a city-wide pot and a district's pot in one cycle —
propose in a district, vote in two headings (one ballot and receipt each), tally and publish
each heading with its own budget and rule."""

import datetime as dt

import pytest
from helpers import make_user
from sqlalchemy import select

from portal.budgeting import headings, integrity, publishing, services
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.jobs import compute_and_store
from portal.budgeting.models import Ballot, BudgetHeading, CycleResult
from portal.regions.services import region_by_code

SECRET = "test-secret"
HOUR = dt.timedelta(hours=1)


def _code(call):
    with pytest.raises(BudgetRuleError) as caught:
        call()
    return caught.value.code


@pytest.fixture
def city(db, new_cycle):
    """A cycle in its proposals phase with a city-wide main heading and one district's."""
    region = region_by_code(db.session, "KZ-75")
    home, other = region.districts[0], region.districts[1]
    staff = make_user(role="staff")
    cycle = new_cycle("proposals", budget=1_000, winner_rule="greedy")
    district = headings.add_heading(
        db.session,
        staff,
        cycle,
        name=home.name_kk,
        budget=300,
        district_id=home.id,
        ballot_rule="k_approval",
        max_choices=2,
        winner_rule="greedy",
    )
    db.session.commit()
    return cycle, district, home, other, staff


def _propose(db, author, cycle, heading, title, cost):
    return services.submit_proposal(
        db.session,
        author,
        cycle,
        heading=heading,
        title=title,
        description="<p>Why</p>",
        category="yards",
        estimated_cost=cost,
    )


def test_a_new_cycle_has_one_main_heading_that_follows_its_rules(db, new_cycle):
    cycle = new_cycle("proposals", budget=5_000, min_votes=3, winner_rule="mes")
    (main,) = headings.headings_of(db.session, cycle)
    assert (main.position, main.name, main.budget, main.min_votes, main.winner_rule) == (
        0,
        cycle.title_en,
        5_000,
        3,
        "mes",
    )
    cycle.budget = 7_000
    cycle.ballot_rule, cycle.max_choices = "k_approval", 4
    db.session.commit()
    db.session.refresh(main)
    assert (main.budget, main.ballot_rule, main.max_choices) == (7_000, "k_approval", 4)


def test_staff_add_headings_with_checked_rules_before_voting_only(db, city):
    cycle, district, home, _other, staff = city
    resident = make_user()
    assert [h.name for h in headings.headings_of(db.session, cycle)] == [
        cycle.title_en,
        home.name_kk,
    ]
    add = headings.add_heading
    assert _code(lambda: add(db.session, resident, cycle, name="X", budget=10)) == "forbidden"
    assert (
        _code(lambda: add(db.session, staff, cycle, name=home.name_kk, budget=10))
        == "heading_name_taken"
    )
    assert _code(lambda: add(db.session, staff, cycle, name=" ", budget=10)) == (
        "heading_name_required"
    )
    assert _code(lambda: add(db.session, staff, cycle, name="Y", budget="-5")) == (
        "cost_not_positive"
    )
    assert (
        _code(lambda: add(db.session, staff, cycle, name="Y", budget=5, ballot_rule="k_approval"))
        == "k_required"
    )
    elsewhere = 10**6  # not a district of the cycle's region
    assert (
        _code(lambda: add(db.session, staff, cycle, name="Y", budget=5, district_id=elsewhere))
        == "district_region"
    )
    later = cycle.voting_open_at + HOUR
    assert (
        _code(lambda: add(db.session, staff, cycle, name="Z", budget=5, now=later))
        == "rules_frozen"
    )


def test_propose_vote_tally_and_publish_per_heading(db, city):
    cycle, district, home, other, staff = city
    local = make_user(district=home)
    outsider = make_user(district=other)

    # Proposals: the district's pot takes its own residents' projects only.
    assert _code(lambda: _propose(db, outsider, cycle, district, "Not mine", 100)) == (
        "not_resident"
    )
    bench = _propose(db, local, cycle, district, "Benches", 200)
    lamps = _propose(db, local, cycle, district, "Lamps", 150)
    park = _propose(db, outsider, cycle, None, "City park", 900)
    square = _propose(db, local, cycle, None, "Square", 400)
    assert (bench.heading_id, bench.district_id) == (district.id, home.id)
    assert park.heading_id == headings.main_heading(db.session, cycle).id
    review_at = cycle.review_open_at + HOUR
    for project in (bench, lamps, park, square):
        services.review_proposal(db.session, staff, project, feasible=True, now=review_at)
    db.session.commit()

    # Voting: the resident votes in both pots, the outsider only city-wide.
    vote_at = cycle.voting_open_at + HOUR
    assert [h.id for h in headings.open_to(db.session, local, cycle)] == [
        headings.main_heading(db.session, cycle).id,
        district.id,
    ]
    cast = services.cast_ballot
    city_ballot = cast(db.session, local, cycle, [park.id], secret=SECRET, now=vote_at)
    mine = cast(
        db.session, local, cycle, [bench.id, lamps.id], secret=SECRET, now=vote_at, heading=district
    )
    cast(db.session, outsider, cycle, [square.id], secret=SECRET, now=vote_at)
    db.session.commit()
    assert city_ballot.receipt != mine.receipt and mine.heading_id == district.id
    assert city_ballot.voter_key == mine.voter_key  # one pseudonym, one ballot per heading
    # Each heading has its own ballot rule and projects.
    assert (
        _code(
            lambda: cast(
                db.session,
                outsider,
                cycle,
                [bench.id],
                secret=SECRET,
                now=vote_at,
                heading=district,
            )
        )  # fmt: skip
        == "not_resident"
    )
    assert (
        _code(
            lambda: cast(
                db.session, local, cycle, [park.id], secret=SECRET, now=vote_at, heading=district
            )
        )  # fmt: skip
        == "unknown"
    )
    # Changing the district ballot replaces it and leaves the city-wide one alone.
    cast(db.session, local, cycle, [bench.id], secret=SECRET, now=vote_at, heading=district)
    db.session.commit()
    ballots = db.session.scalars(select(Ballot).where(Ballot.cycle_id == cycle.id)).all()
    assert sorted((b.heading_id, b.project_ids[0]) for b in ballots) == sorted(
        [
            (city_ballot.heading_id, park.id),
            (district.id, bench.id),
            (city_ballot.heading_id, square.id),
        ]
    )
    summary = {
        s["name"]: (s["budget"], s["projects"], s["ballots"])
        for s in headings.summary(db.session, cycle)
    }
    assert summary == {cycle.title_en: (1_000, 2, 2), home.name_kk: (300, 2, 1)}

    # Results: each heading tallied with its own budget (1000 city-wide, 300 in the district).
    cycle.phase_override = None
    results_at = cycle.voting_close_at + HOUR
    tallies = publishing.tally_results(db.session, staff, cycle, now=results_at, heading=district)
    assert tallies[0][1]["selected"] == [bench.id]
    results = publishing.store_results(db.session, staff, cycle, tallies, now=results_at)
    results += publishing.store_results(
        db.session,
        staff,
        cycle,
        publishing.tally_results(db.session, staff, cycle, now=results_at),
        now=results_at,
    )
    db.session.commit()
    by_heading = {r.heading_id: r.data["selected"] for r in results}
    # City-wide: the park (900) and the square (400) tie on votes; only one fits in 1000.
    assert by_heading[district.id] == [bench.id]
    assert len(by_heading[city_ballot.heading_id]) == 1
    publishing.publish_results(db.session, staff, cycle, now=results_at, heading=district)
    db.session.commit()
    assert publishing.published_result(db.session, cycle, district).heading_id == district.id
    assert (
        publishing.published_result(db.session, cycle, headings.main_heading(db.session, cycle))
        is None
    )
    db.session.refresh(bench)
    db.session.refresh(park)
    assert bench.funded and not park.funded
    # The server-side check reruns each heading's tally on its own ballots and budget.
    publishing.publish_results(db.session, staff, cycle, now=results_at)
    db.session.commit()
    assert integrity.verify_cycle(db.session, cycle, SECRET) is None


def test_one_ballot_per_heading_is_kept_by_the_database(db, city):
    cycle, district, home, _other, _staff = city
    db.session.add(Ballot(cycle_id=cycle.id, heading_id=district.id, voter_key="k", receipt=""))
    db.session.add(Ballot(cycle_id=cycle.id, voter_key="k", receipt=""))  # main heading
    db.session.commit()
    db.session.add(Ballot(cycle_id=cycle.id, heading_id=district.id, voter_key="k", receipt=""))
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.commit()
    db.session.rollback()


def test_the_results_job_tallies_every_heading(db, city, app):
    cycle, district, home, _other, staff = city
    local = make_user(district=home)
    bench = _propose(db, local, cycle, district, "Benches", 200)
    park = _propose(db, local, cycle, None, "Park", 500)
    review_at = cycle.review_open_at + HOUR
    for project in (bench, park):
        services.review_proposal(db.session, staff, project, feasible=True, now=review_at)
    vote_at = cycle.voting_open_at + HOUR
    services.cast_ballot(db.session, local, cycle, [park.id], secret=SECRET, now=vote_at)
    services.cast_ballot(
        db.session, local, cycle, [bench.id], secret=SECRET, now=vote_at, heading=district
    )
    cycle.phase_override = "results"
    db.session.commit()
    compute_and_store(db.session, staff.id, cycle.id)
    db.session.commit()
    stored = db.session.scalars(select(CycleResult).where(CycleResult.cycle_id == cycle.id)).all()
    assert sorted((r.heading_id, r.data["selected"][0]) for r in stored) == sorted(
        [(district.id, bench.id), (headings.main_heading(db.session, cycle).id, park.id)]
    )
    assert db.session.get(BudgetHeading, district.id).budget == 300


def test_once_voting_opens_the_database_refuses_changing_headings(db, city):
    cycle, district, home, _other, staff = city
    local = make_user(district=home)
    bench = _propose(db, local, cycle, district, "Benches", 200)
    services.review_proposal(
        db.session, staff, bench, feasible=True, now=cycle.review_open_at + HOUR
    )
    db.session.commit()
    services.cast_ballot(
        db.session,
        local,
        cycle,
        [bench.id],
        secret=SECRET,
        now=cycle.voting_open_at + HOUR,
        heading=district,
    )
    db.session.commit()
    assert cycle.rules_frozen_at is not None
    main = headings.main_heading(db.session, cycle)
    for change in (
        lambda: setattr(district, "budget", 999),
        lambda: setattr(district, "winner_rule", "mes"),
        lambda: setattr(bench, "heading_id", main.id),
        lambda: db.session.delete(district),
        lambda: db.session.add(BudgetHeading(cycle_id=cycle.id, position=5, name="Late", budget=1)),
    ):
        change()
        with pytest.raises(Exception, match="frozen"):
            db.session.commit()
        db.session.rollback()
    district.name = "Renamed"  # a name is no rule
    db.session.commit()


def test_staff_remove_an_unused_heading_before_voting_only(db, city, app):
    cycle, district, home, _other, staff = city
    spare = headings.add_heading(db.session, staff, cycle, name="Spare", budget=10)
    main = headings.main_heading(db.session, cycle)
    remove = headings.remove_heading
    assert _code(lambda: remove(db.session, make_user(), cycle, spare)) == "forbidden"
    assert _code(lambda: remove(db.session, staff, cycle, main)) == "heading_main"
    _propose(db, make_user(district=home), cycle, district, "Benches", 100)
    assert _code(lambda: remove(db.session, staff, cycle, district)) == "heading_not_empty"
    later = cycle.voting_open_at + HOUR
    assert _code(lambda: remove(db.session, staff, cycle, spare, now=later)) == "rules_frozen"
    # On the web: the cycle page's button removes it.
    from helpers import login, post_form

    client = app.test_client()
    login(client, staff)
    url = f"/budget/{cycle.id}"
    page = client.get(url).get_data(as_text=True)
    assert f"/headings/{spare.id}/remove" in page and f"/headings/{main.id}/remove" not in page
    db.session.commit()
    kept = post_form(client, f"{url}/headings/{district.id}/remove", {}, token_from=url)
    assert kept.status_code == 303
    done = post_form(client, f"{url}/headings/{spare.id}/remove", {}, token_from=url)
    assert done.status_code == 302
    assert [h.name for h in headings.headings_of(db.session, cycle)] == [main.name, district.name]
