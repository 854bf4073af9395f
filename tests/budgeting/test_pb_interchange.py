"""``flask budgeting import`` / ``export``: pabulib files to and from closed cycles."""

import json
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import make_user
from sqlalchemy import func, select

from portal.budgeting import interchange, pabulib, publishing, services, tally
from portal.budgeting.models import Ballot, BallotChoice, BudgetCycle, Proposal
from portal.regions.services import region_by_code

DATA = Path(__file__).resolve().parents[1] / "data" / "pabulib"
REFERENCE = json.loads((DATA / "reference_results.json").read_text())
SMALL = [
    "Netherlands_Assen_2024.pb",
    "Poland_Warszawa_2019_Anin.pb",
    "Poland_Swiecie_2023.pb",
    "Netherlands_Amsterdam_166.pb",
]


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["budgeting", *map(str, args)])


def import_file(app, db, path, region="KZ-75"):
    result = cli(app, "import", path, "--region", region)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].isdigit(), result.stdout
    return db.session.get(BudgetCycle, int(lines[0]))


def row_counts(db):
    return [
        db.session.scalar(select(func.count()).select_from(model))
        for model in (BudgetCycle, Proposal, Ballot, BallotChoice)
    ]


def ballot_multiset(parsed):
    return Counter(pabulib.to_instance(parsed).ballots)


def projects_of(parsed):
    return {(p["project_id"], pabulib.parse_number(p["cost"])) for p in parsed.projects}


def pb_text(meta=None, projects=None, votes=None):
    meta = {"description": "Tiny", "budget": "100", "vote_type": "approval", **(meta or {})}
    projects = projects or ["1;60", "2;50", "3;40"]
    votes = votes or ["a;1,2", "b;2,3", "c;1"]
    lines = ["META", "key;value", *(f"{k};{v}" for k, v in meta.items())]
    lines += ["PROJECTS", "project_id;cost", *projects, "VOTES", "voter_id;vote", *votes]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ real files
@pytest.mark.parametrize("name", SMALL)
def test_import_real_file_gives_closed_cycle_with_reference_winners(app, db, name):
    original = pabulib.load(DATA / name)
    cycle = import_file(app, db, DATA / name)

    assert cycle.phase() == "results" and cycle.implementation_at is None
    assert cycle.region.code == "KZ-75"
    assert cycle.budget == original.budget
    assert cycle.title_en == cycle.title_ru == cycle.title_kk == original.meta["description"]
    proposals = db.session.scalars(select(Proposal).where(Proposal.cycle_id == cycle.id)).all()
    assert len(proposals) == len(original.projects)
    assert all(p.status == "feasible" and p.author_id is None for p in proposals)
    assert {p.external_id for p in proposals} == {p["project_id"] for p in original.projects}
    ballots = db.session.scalars(select(Ballot).where(Ballot.cycle_id == cycle.id)).all()
    assert len(ballots) == len(original.votes)
    assert {(b.channel, b.voter_key, b.receipt) for b in ballots} == {("imported", None, "")}
    approvals = sum(len(b) for b in pabulib.to_instance(original).ballots)
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(BallotChoice)
            .join(Ballot, Ballot.id == BallotChoice.ballot_id)
            .where(Ballot.cycle_id == cycle.id)
        )
        == approvals
    )
    city = pabulib.city_selected(original)
    if city is not None:
        assert {p.external_id for p in proposals if p.funded} == set(city)

    exported = interchange.export_pabulib(db.session, cycle)
    expected = REFERENCE["instances"][name]["results"]["greedy"]["selected"]
    assert list(tally.run(pabulib.to_instance(exported), "greedy").selected) == expected


@pytest.mark.parametrize("name", ["Netherlands_Assen_2024.pb", "Poland_Warszawa_2019_Anin.pb"])
def test_round_trip_keeps_projects_costs_budget_and_ballots(app, db, tmp_path, name):
    original = pabulib.load(DATA / name)
    cycle = import_file(app, db, DATA / name)
    out = tmp_path / "out.pb"

    result = cli(app, "export", cycle.id, "--format", "pb", "-o", out)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # human info goes to stderr
    exported = pabulib.load(out)
    assert exported.budget == original.budget
    assert projects_of(exported) == projects_of(original)
    assert ballot_multiset(exported) == ballot_multiset(original)
    assert [v["voter_id"] for v in exported.votes] == [
        str(n) for n in range(1, len(original.votes) + 1)
    ]
    meta = exported.meta
    assert meta["country"] == "Kazakhstan" and meta["unit"] == "KZ-75"
    assert meta["instance"] == str(cycle.id) and meta["vote_type"] == "approval"
    assert meta["num_projects"] == str(len(original.projects))
    assert meta["num_votes"] == str(len(original.votes))
    assert meta["date_begin"] == original.meta["date_begin"]
    assert meta["date_end"] == original.meta["date_end"]
    votes = {p["project_id"]: p["votes"] for p in original.projects}
    assert {p["project_id"]: p["votes"] for p in exported.projects} == votes
    if pabulib.city_selected(original) is not None:
        assert set(pabulib.city_selected(exported)) == set(pabulib.city_selected(original))

    # A re-import of the export gives the same winners.
    again = import_file(app, db, out)
    second = interchange.export_pabulib(db.session, again)
    assert projects_of(second) == projects_of(original)
    for rule in ("greedy", "mes"):
        assert (
            tally.run(pabulib.to_instance(second), rule).selected
            == tally.run(pabulib.to_instance(original), rule).selected
        )


def test_export_to_stdout_and_rules_and_dates(app, db):
    assen = import_file(app, db, DATA / "Netherlands_Assen_2024.pb")
    amsterdam = import_file(app, db, DATA / "Netherlands_Amsterdam_166.pb")
    assert assen.winner_rule == "mes" and amsterdam.winner_rule == "greedy"

    result = cli(app, "export", amsterdam.id)  # --format pb and stdout are the defaults

    assert result.exit_code == 0, result.stderr
    exported = pabulib.loads(result.stdout)
    assert exported.meta["rule"] == "greedy"
    assert (exported.meta["date_begin"], exported.meta["date_end"]) == ("01.01.2019", "31.12.2019")
    assert "selected" not in exported.project_columns  # the file has no results
    assert pabulib.loads(cli(app, "export", assen.id).stdout).meta["rule"] == "equalshares/add1"


def test_published_results_show_imported_turnout(app, db, as_role):
    cycle = import_file(app, db, DATA / "Netherlands_Assen_2024.pb")
    staff = make_user(role="staff")
    publishing.compute_results(db.session, staff, cycle, rules=["greedy"])
    publishing.publish_results(db.session, staff, cycle, rule="greedy")
    db.session.commit()
    assert services.turnout(db.session, cycle)["channel"] == {"imported": 84}

    page = as_role("anonymous").get(f"/budget/{cycle.id}/results")
    assert page.status_code == 200
    assert "Imported from a data file" in page.get_data(as_text=True)
    proposal = db.session.scalar(select(Proposal).where(Proposal.cycle_id == cycle.id))
    assert as_role("anonymous").get(f"/budget/proposals/{proposal.id}").status_code == 200

    # The export's `selected` follows the published result.
    exported = interchange.export_pabulib(db.session, cycle)
    winners = publishing.published_result(db.session, cycle).data["selected"]
    ids = {p.id: p.external_id for p in db.session.scalars(select(Proposal))}
    assert set(pabulib.city_selected(exported)) == {ids[w] for w in winners}


# ------------------------------------------------------------------ file details
def test_withdrawn_sentinel_threshold_and_categories(app, db, tmp_path):
    path = tmp_path / "t.pb"
    path.write_text(
        pb_text(
            meta={"rule": "greedy-threshold", "min_project_score_threshold": "2"},
            projects=[
                "1;60;Park;urban greenery,sport",
                "2;50;Football;sport",
                "3;999999999;Gone;culture",
                "4;10;;welfare",
            ],
            votes=["a;1,2,3", "b;2,3", "c;1", "d;"],
        ).replace("project_id;cost", "project_id;cost;name;category")
    )
    cycle = import_file(app, db, path)

    assert cycle.min_votes == 2 and cycle.winner_rule == "greedy"
    proposals = {
        p.external_id: p
        for p in db.session.scalars(select(Proposal).where(Proposal.cycle_id == cycle.id))
    }
    assert {k: p.status for k, p in proposals.items()} == {
        "1": "feasible",
        "2": "feasible",
        "3": "withdrawn",
        "4": "feasible",
    }
    assert {k: p.category for k, p in proposals.items()} == {
        "1": "greenery",
        "2": "sports",
        "3": "culture",
        "4": "other",
    }
    assert proposals["4"].title == "Project 4"
    exported = interchange.export_pabulib(db.session, cycle)
    assert [p["project_id"] for p in exported.projects] == ["1", "2", "4"]
    assert [v["vote"] for v in exported.votes] == ["1,2", "2", "1", ""]
    assert exported.meta["rule"] == "greedy-threshold"
    assert exported.meta["min_project_score_threshold"] == "2"


def test_descriptions_are_escaped_and_future_dates_become_past(app, db, tmp_path):
    path = tmp_path / "t.pb"
    path.write_text(
        pb_text(
            meta={"date_begin": "01.01.2999", "date_end": "02.01.2999"},
            projects=['1;60;"<script>x</script>";<b>bold</b> & co', "2;50;Two;", "3;40;Three;"],
        ).replace("project_id;cost", "project_id;cost;name;description")
    )
    cycle = import_file(app, db, path)

    assert cycle.phase() == "results"
    first = db.session.scalar(select(Proposal).where(Proposal.external_id == "1"))
    assert first.title == "<script>x</script>"  # Jinja escapes titles when shown
    assert first.description_html == "<p>&lt;b&gt;bold&lt;/b&gt; &amp; co</p>"


# ------------------------------------------------------------------ bad input
BAD_FILES = {
    "malformed": (
        pb_text().replace("b;2,3", "b;2,3;extra"),
        "line 14: 3 fields, but the header has 2",
    ),
    "non-approval": (
        pb_text(meta={"vote_type": "cumulative"}),
        "line 5: vote_type is 'cumulative'",
    ),
    "fractional cost": (
        pb_text(projects=["1;60", "2;969245.38", "3;40"]),
        "line 9: project 2: cost 969245.38 is not a whole amount",
    ),
    "fractional budget": (pb_text(meta={"budget": "100.5"}), "line 4: budget 100.5 is not"),
    "zero cost": (pb_text(projects=["1;60", "2;0", "3;40"]), "line 9: project 2: the cost"),
    "unknown project": (pb_text(votes=["a;1,9"]), "line 13: vote for unknown project '9'"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_exit_2_and_write_nothing(app, db, tmp_path, case):
    text, message = BAD_FILES[case]
    path = tmp_path / "bad.pb"
    path.write_text(text)
    before = row_counts(db)

    result = cli(app, "import", path, "--region", "KZ-75")

    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""
    assert row_counts(db) == before


def test_missing_file_and_unknown_region(app, db, tmp_path):
    before = row_counts(db)
    missing = cli(app, "import", tmp_path / "nope.pb", "--region", "KZ-75")
    assert missing.exit_code == 2 and "cannot read file" in missing.stderr
    region = cli(app, "import", DATA / "Netherlands_Assen_2024.pb", "--region", "KZ-99")
    assert region.exit_code == 2 and "unknown region 'KZ-99'" in region.stderr
    assert row_counts(db) == before


def test_failure_after_writing_rolls_back(app, db, monkeypatch):
    """Even an error raised after rows were flushed leaves nothing behind."""
    before = row_counts(db)
    real = interchange.import_pabulib

    def failing(session, *args, **kwargs):
        real(session, *args, **kwargs)
        raise pabulib.PabulibError("boom after the flush")

    monkeypatch.setattr(interchange, "import_pabulib", failing)
    result = cli(app, "import", DATA / "Netherlands_Assen_2024.pb", "--region", "KZ-75")
    assert result.exit_code == 2 and "boom after the flush" in result.stderr
    assert row_counts(db) == before


def test_export_refusals(app, db, tmp_path, new_cycle):
    cycle = import_file(app, db, DATA / "Netherlands_Assen_2024.pb")
    out = tmp_path / "out.pb"

    unknown = cli(app, "export", 999999, "--format", "pb", "-o", out)
    assert unknown.exit_code == 2 and "no budget cycle 999999" in unknown.stderr
    bad_format = cli(app, "export", cycle.id, "--format", "csv", "-o", out)
    assert bad_format.exit_code == 2 and "unknown format 'csv'" in bad_format.stderr
    voting = new_cycle("voting")
    secret = cli(app, "export", voting.id, "-o", out)
    assert secret.exit_code == 2 and "voting" in secret.stderr
    nowhere = cli(app, "export", cycle.id, "-o", tmp_path / "missing" / "out.pb")
    assert nowhere.exit_code == 2 and "cannot write" in nowhere.stderr
    assert not out.exists()


def test_import_service_is_usable_without_the_cli(db):
    parsed = pabulib.loads(pb_text())
    region = region_by_code(db.session, "KZ-71")
    cycle = interchange.import_pabulib(db.session, parsed, region)
    assert cycle.id is not None and cycle.source.startswith("pabulib")
    exported = interchange.export_pabulib(db.session, cycle)
    assert ballot_multiset(exported) == ballot_multiset(parsed)
    assert exported.meta["unit"] == "KZ-71"


def test_import_tells_postgresql_the_ballot_tables_hold_rows(app, db):
    """Statistics that still say "empty" made every choice's foreign-key check scan the whole
    ballot table (an import of 20,000 ballots took minutes): the import analyses the tables
    once its first ballots are in."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner statistics")
    db.session.execute(sa.text("ANALYZE budget_proposal, budget_ballot"))  # as if empty
    import_file(app, db, DATA / "Poland_Warszawa_2019_Anin.pb")
    known = dict(
        db.session.execute(
            sa.text(
                "SELECT relname, reltuples FROM pg_class "
                "WHERE relname IN ('budget_proposal', 'budget_ballot')"
            )
        ).all()
    )
    assert known["budget_ballot"] > 0 and known["budget_proposal"] > 0, known
