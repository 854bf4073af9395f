"""pabulib interchange per heading: Warsaw's Mokotów district and Anin local area imported as
two headings of one cycle, listed, exported one by one or as a zip, and imported again."""

import io
import json
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from helpers import make_user
from sqlalchemy import select

from portal.budgeting import headings, pabulib, publishing, tally
from portal.budgeting.models import BudgetCycle, Proposal

DATA = Path(__file__).resolve().parents[1] / "data" / "pabulib"
MOKOTOW = DATA / "Poland_Warszawa_2020_Mokotow.pb"
ANIN = DATA / "Poland_Warszawa_2019_Anin.pb"
REFERENCE = json.loads((DATA / "reference_results.json").read_text())


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["budgeting", *map(str, args)])


def import_files(app, db, *paths):
    result = cli(app, "import", *paths, "--region", "KZ-75")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].isdigit(), result.stdout
    return db.session.get(BudgetCycle, int(lines[0]))


def heading_list(app, cycle_id):
    result = cli(app, "headings", cycle_id, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def projects_of(parsed):
    return {(p["project_id"], pabulib.parse_number(p["cost"])) for p in parsed.projects}


def ballots_of(parsed):
    return Counter(pabulib.to_instance(parsed).ballots)


def same_vote(exported, original):
    assert exported.budget == original.budget
    assert projects_of(exported) == projects_of(original)
    assert ballots_of(exported) == ballots_of(original)
    assert len(exported.votes) == len(original.votes)
    votes = {p["project_id"]: p["votes"] for p in exported.projects}
    assert votes == {p["project_id"]: p["votes"] for p in original.projects}


@pytest.fixture(scope="module")
def originals():
    return {"Mokotów": pabulib.load(MOKOTOW), "Anin": pabulib.load(ANIN)}


def test_two_files_become_two_headings_of_one_closed_cycle(app, db, originals):
    cycle = import_files(app, db, MOKOTOW, ANIN)
    assert cycle.phase() == "results"
    listed = heading_list(app, cycle.id)
    assert [(h["name"], h["budget"], h["projects"], h["ballots"]) for h in listed] == [
        (name, original.budget, len(original.projects), len(original.votes))
        for name, original in originals.items()
    ]
    # The first file gives the cycle its title and rules (its heading is the main one).
    assert cycle.budget == originals["Mokotów"].budget
    assert cycle.title_en == originals["Mokotów"].meta["description"]


def test_each_heading_exports_as_its_file_and_tallies_like_it(app, db, tmp_path, originals):
    cycle = import_files(app, db, MOKOTOW, ANIN)
    staff = None
    for name, original in originals.items():
        out = tmp_path / f"{name}.pb"
        result = cli(app, "export", cycle.id, "--format", "pb", "--heading", name, "-o", out)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
        exported = pabulib.load(out)
        same_vote(exported, original)
        assert exported.meta["subunit"] == name

        # Tallied on its own: the heading's winners are the file's winners.
        staff = staff or make_user(role="staff")
        heading = headings.by_name(db.session, cycle, name)
        ((_rule, data, _total),) = publishing.tally_results(
            db.session, staff, cycle, ["greedy"], heading=heading
        )
        external = dict(
            db.session.execute(
                select(Proposal.id, Proposal.external_id).where(Proposal.heading_id == heading.id)
            ).all()
        )
        expected = tally.run(pabulib.to_instance(original), "greedy").selected
        assert sorted(external[i] for i in data["selected"]) == sorted(expected)
    anin = REFERENCE["instances"]["Poland_Warszawa_2019_Anin.pb"]["results"]["greedy"]
    assert sorted(tally.run(pabulib.to_instance(originals["Anin"]), "greedy").selected) == sorted(
        anin["selected"]
    )


def test_without_heading_a_cycle_of_several_writes_a_zip_that_imports_again(
    app, db, tmp_path, originals
):
    cycle = import_files(app, db, MOKOTOW, ANIN)
    out = tmp_path / "warsaw.zip"
    result = cli(app, "export", cycle.id, "--format", "pb", "-o", out)
    assert result.exit_code == 0, result.stderr
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert names == ["Mokotów.pb", "Anin.pb"]
        paths = []
        for member, original in zip(names, originals.values()):
            text = archive.read(member).decode("utf-8")
            same_vote(pabulib.loads(text), original)
            path = tmp_path / member
            path.write_text(text, encoding="utf-8")
            paths.append(path)
    # To stdout as well (binary zip).
    piped = app.test_cli_runner().invoke(args=["budgeting", "export", str(cycle.id)])
    assert zipfile.ZipFile(io.BytesIO(piped.stdout_bytes)).namelist() == names

    again = import_files(app, db, *paths)
    assert [
        {k: h[k] for k in ("name", "budget", "projects", "ballots")}
        for h in heading_list(app, again.id)
    ] == [
        {k: h[k] for k in ("name", "budget", "projects", "ballots")}
        for h in heading_list(app, cycle.id)
    ]


def test_a_one_heading_cycle_exports_as_before(app, db, tmp_path, originals):
    cycle = import_files(app, db, ANIN)
    (only,) = heading_list(app, cycle.id)
    assert (only["name"], only["budget"], only["ballots"]) == ("Anin", 152813, 457)
    whole = cli(app, "export", cycle.id, "--format", "pb")
    named = cli(app, "export", cycle.id, "--format", "pb", "--heading", "Anin")
    assert whole.exit_code == named.exit_code == 0
    assert whole.stdout == named.stdout
    exported = pabulib.loads(whole.stdout)
    same_vote(exported, originals["Anin"])
    assert "subunit" not in exported.meta  # exactly the single-cycle export of before


def test_refusals_name_the_problem_and_write_nothing(app, db, tmp_path):
    cycle = import_files(app, db, MOKOTOW, ANIN)
    out = tmp_path / "x.pb"
    unknown = cli(app, "export", cycle.id, "--heading", "Praga", "-o", out)
    assert unknown.exit_code == 2
    assert "no heading 'Praga'" in unknown.stderr and "'Anin'" in unknown.stderr
    assert not out.exists()
    missing = cli(app, "headings", 999999, "--json")
    assert missing.exit_code == 2 and "no budget cycle 999999" in missing.stderr
    before = db.session.scalar(select(BudgetCycle.id).order_by(BudgetCycle.id.desc()).limit(1))
    bad = tmp_path / "bad.pb"
    bad.write_text("META\nkey;value\nbudget;1.5\nvote_type;approval\nPROJECTS\nproject_id;cost\n")
    refused = cli(app, "import", ANIN, bad, "--region", "KZ-75")
    assert refused.exit_code == 2 and str(bad) in refused.stderr and refused.stdout == ""
    after = db.session.scalar(select(BudgetCycle.id).order_by(BudgetCycle.id.desc()).limit(1))
    assert after == before


def test_compute_and_publish_every_heading_from_the_command_line(app, db, originals):
    cycle = import_files(app, db, MOKOTOW, ANIN)
    staff = make_user(role="staff")
    computed = cli(app, "compute-results", cycle.id, "--as", staff.email, "--rule", "greedy")
    assert computed.exit_code == 0, computed.output
    assert [line.split(":")[0] for line in computed.stdout.splitlines()] == ["Mokotów", "Anin"]
    one = cli(app, "publish-results", cycle.id, "--as", staff.email, "--heading", "Anin")
    assert one.exit_code == 0 and one.stdout.startswith("published greedy v1"), one.output
    rest = cli(app, "publish-results", cycle.id, "--as", staff.email, "--heading", "Mokotów")
    assert rest.exit_code == 0, rest.output
    again = cli(app, "publish-results", cycle.id, "--as", staff.email)
    assert again.exit_code != 0 and "already_published" in again.output
    for name, original in originals.items():
        heading = headings.by_name(db.session, cycle, name)
        result = publishing.published_result(db.session, cycle, heading)
        winners = set(tally.run(pabulib.to_instance(original), "greedy").selected)
        funded = db.session.scalars(
            select(Proposal.external_id).where(
                Proposal.heading_id == heading.id, Proposal.funded.is_(True)
            )
        ).all()
        assert set(funded) == winners and len(result.data["selected"]) == len(winners)
