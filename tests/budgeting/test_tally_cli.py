"""``flask budgeting tally``, driven through click's CliRunner (no app needed)."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from portal.budgeting.cli import cli, tally_command

DATA = Path(__file__).resolve().parents[1] / "data" / "pabulib"
REFERENCE = json.loads((DATA / "reference_results.json").read_text())
ASSEN = str(DATA / "Netherlands_Assen_2024.pb")


def invoke(*args):
    return CliRunner().invoke(tally_command, list(args))


def test_group_and_command_names():
    assert cli.name == "budgeting"
    assert cli.get_command(None, "tally") is tally_command


@pytest.mark.parametrize("rule", ["greedy", "mes", "mes-add1"])
def test_json_output_is_one_object(rule):
    result = invoke(ASSEN, "--rule", rule, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["rule", "selected", "total_cost", "budget", "seconds"]
    expected = REFERENCE["instances"]["Netherlands_Assen_2024.pb"]["results"][rule]
    assert data["rule"] == rule
    assert data["selected"] == expected["selected"]
    assert data["total_cost"] == expected["total_cost"] and isinstance(data["total_cost"], int)
    assert data["budget"] == 100000 and isinstance(data["budget"], int)
    assert 0 <= data["seconds"] < 60


def test_text_output_lists_the_winners():
    result = invoke(ASSEN, "--rule", "greedy")
    assert result.exit_code == 0
    assert "rule greedy: 7 projects selected" in result.stdout
    assert "Jongerenplatform" in result.stdout
    assert "total cost 99200 of budget 100000" in result.stdout


def test_threshold_option_and_meta_default(tmp_path):
    text = (
        "META\nkey;value\nbudget;10\nvote_type;approval\nmin_project_score_threshold;2\n"
        "PROJECTS\nproject_id;cost\n1;5\n2;5\nVOTES\nvoter_id;vote\na;1,2\nb;1\n"
    )
    path = tmp_path / "t.pb"
    path.write_text(text)
    from_meta = json.loads(invoke(str(path), "--rule", "greedy-threshold", "--json").stdout)
    assert from_meta["selected"] == ["1"]
    given = json.loads(
        invoke(str(path), "--rule", "greedy-threshold", "--threshold", "1", "--json").stdout
    )
    assert given["selected"] == ["1", "2"]


def test_fractional_money_is_a_json_number(tmp_path):
    path = tmp_path / "f.pb"
    path.write_text(
        "META\nkey;value\nbudget;10.5\nvote_type;approval\nPROJECTS\nproject_id;cost\n1;2.25\nVOTES\nvoter_id;vote\na;1\n"
    )
    data = json.loads(invoke(str(path), "--rule", "greedy", "--json").stdout)
    assert data["budget"] == 10.5 and data["total_cost"] == 2.25


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.pb", "--rule", "greedy"], "cannot read file"),
        ([ASSEN, "--rule", "borda"], "unknown rule 'borda'"),
        ([ASSEN, "--rule", "greedy-threshold"], "needs a threshold"),
    ],
)
def test_bad_input_exits_2_with_a_message(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_malformed_and_non_approval_files(tmp_path):
    bad = tmp_path / "bad.pb"
    bad.write_text(
        "META\nkey;value\nbudget;x\nvote_type;approval\nPROJECTS\nproject_id;cost\nVOTES\nvoter_id;vote\n"
    )
    result = invoke(str(bad), "--rule", "greedy")
    assert result.exit_code == 2 and "line 3: bad budget" in result.stderr
    ordinal = tmp_path / "ordinal.pb"
    ordinal.write_text(
        "META\nkey;value\nbudget;1\nvote_type;ordinal\nPROJECTS\nproject_id;cost\n1;1\nVOTES\nvoter_id;vote\na;1\n"
    )
    result = invoke(str(ordinal), "--rule", "mes")
    assert result.exit_code == 2 and "only approval ballots can be tallied" in result.stderr


def test_missing_rule_is_a_usage_error():
    assert invoke(ASSEN).exit_code == 2


def test_no_progress_bar_when_piped():
    result = invoke(ASSEN, "--rule", "mes-add1-early", "--json")
    assert result.stderr == ""
