"""pabulib .pb reader/writer: real files, awkward formatting, round trips and clear errors."""

import json
from fractions import Fraction
from pathlib import Path

import pytest

from portal.budgeting import pabulib
from portal.budgeting.pabulib import PabulibError

DATA = Path(__file__).resolve().parents[1] / "data" / "pabulib"
REFERENCE = json.loads((DATA / "reference_results.json").read_text())
FILES = sorted(p.name for p in DATA.glob("*.pb"))


@pytest.mark.parametrize("name", FILES)
def test_real_files_parse_like_pabutools(name):
    info = REFERENCE["instances"][name]["info"]
    parsed = pabulib.load(DATA / name)
    instance = pabulib.to_instance(parsed)
    assert len(instance.projects) == info["num_projects"]
    assert len(instance.ballots) == info["num_voters"]
    assert instance.budget == info["budget"]
    assert parsed.meta["rule"] == info["meta_rule"]


@pytest.mark.parametrize("name", FILES)
def test_write_read_write_is_byte_stable_and_keeps_everything(name):
    original = pabulib.load(DATA / name)
    text = pabulib.dumps(original)
    again = pabulib.loads(text)
    assert again == original
    assert pabulib.dumps(again) == text


def test_dump_and_load_files(tmp_path):
    original = pabulib.load(DATA / "Netherlands_Assen_2024.pb")
    pabulib.dump(original, tmp_path / "out.pb")
    assert pabulib.load(tmp_path / "out.pb") == original
    assert (tmp_path / "out.pb").read_bytes() == pabulib.dumps(original).encode()


AWKWARD = (
    "\ufeffMETA\r\n"
    "key;value\r\n"
    'description;"Quoted; or not"\n'
    "vote_type;approval\r"
    "budget;969245.38\r\n"
    "min_project_score_threshold;2\n"
    "PROJECTS\n"
    "project_id;cost;name;selected;category\n"
    '1;500000.5;"Park; with ""quotes""";1;green,sport\n'
    "2;469244.88;Library;2;culture\n"
    "3;999999999;Withdrawn;0;\n"
    "\n"
    "VOTES\n"
    "voter_id;vote;age;sex\n"
    "a; 1 , 2 ;34;F\n"
    "b;2,3,;;M\n"
    "c;;51;\n"
)


def test_awkward_but_valid_file():
    parsed = pabulib.loads(AWKWARD)
    assert parsed.meta["description"] == "Quoted; or not"
    assert parsed.projects[0]["name"] == 'Park; with "quotes"'
    assert parsed.projects[0]["category"] == "green,sport"
    assert parsed.projects[1]["selected"] == "2"
    assert parsed.votes[0]["age"] == "34"
    instance = pabulib.to_instance(parsed)
    assert instance.budget == Fraction("969245.38")
    assert [p.cost for p in instance.projects] == [
        Fraction("500000.5"),
        Fraction("469244.88"),
        999999999,
    ]
    assert instance.ballots == (
        frozenset({"1", "2"}),
        frozenset({"2", "3"}),
        frozenset(),
    )
    assert pabulib.city_selected(parsed) == ["1"]
    assert pabulib.threshold(parsed) == 2
    text = pabulib.dumps(parsed)
    assert pabulib.dumps(pabulib.loads(text)) == text
    assert pabulib.loads(text) == parsed


def test_meta_value_with_unquoted_semicolon_is_a_field_count_error():
    # "description;Quoted; or not" has three fields: the file must quote it
    with pytest.raises(PabulibError, match="line 3: 3 fields"):
        pabulib.loads(AWKWARD.replace('"Quoted; or not"', "Quoted; or not"))


def test_greedy_on_float_costs_matches_exact_arithmetic():
    from portal.budgeting.tally import run

    parsed = pabulib.loads(AWKWARD)
    result = run(pabulib.to_instance(parsed), "greedy")
    assert result.selected == (
        "1",
        "2",
    )  # 500000.5 + 469244.88 = 969245.38 fits exactly
    assert result.total_cost == Fraction("969245.38")


VALID = (
    "META\nkey;value\nbudget;10\nvote_type;approval\n"
    "PROJECTS\nproject_id;cost\n1;5\n2;5\n"
    "VOTES\nvoter_id;vote\nv1;1,2\n"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            VALID.replace("VOTES\nvoter_id;vote\nv1;1,2\n", ""),
            "without a VOTES section",
        ),
        (VALID.replace("META\nkey;value\n", ""), "line 1: expected META"),
        (VALID.replace("v1;1,2", "v1;1,7"), "line 11: vote for unknown project '7'"),
        (VALID.replace("1;5", "1;-5"), "line 7: project 1: negative cost"),
        (VALID.replace("1;5", "1;five"), "line 7: project 1: bad cost"),
        (VALID.replace("budget;10", "budget;ten"), "line 3: bad budget"),
        (VALID.replace("budget;10", "budget;-10"), "line 3: negative budget"),
        (VALID.replace("budget;10\n", ""), "line 1: META has no 'budget'"),
        (
            VALID.replace("vote_type;approval", "vote_type;borda"),
            "line 4: unknown vote_type",
        ),
        (VALID.replace("2;5", "1;5"), "line 8: project 1 listed twice"),
        (VALID.replace("2;5", "2;5;extra"), "line 8: 3 fields, but the header has 2"),
        (
            VALID.replace("project_id;cost", "project_id;price"),
            "line 6: PROJECTS header has no 'cost'",
        ),
        (VALID.replace("v1;1,2", 'v1;"1,2'), "line 11: bad quoting"),
        (VALID + "PROJECTS\n", "line 12: second PROJECTS section"),
        (VALID.replace("budget;10", "budget;nan"), "line 3: bad budget"),
    ],
)
def test_malformed_files_name_the_line(text, message):
    with pytest.raises(PabulibError, match=message):
        pabulib.loads(text)


def test_unreadable_and_non_utf8_files(tmp_path):
    with pytest.raises(PabulibError, match="cannot read file"):
        pabulib.load(tmp_path / "missing.pb")
    bad = tmp_path / "bad.pb"
    bad.write_bytes(VALID.replace("v1", "v\xff").encode("latin-1"))
    with pytest.raises(PabulibError, match="line 11: not valid UTF-8"):
        pabulib.load(bad)


@pytest.mark.parametrize("vote_type", ["cumulative", "scoring", "ordinal"])
def test_other_vote_types_are_read_but_not_tallied(vote_type):
    text = VALID.replace("approval", vote_type).replace(
        "voter_id;vote\nv1;1,2", "voter_id;vote;points\nv1;1,2;3,1"
    )
    parsed = pabulib.loads(text)
    assert parsed.votes[0]["points"] == "3,1"
    assert pabulib.loads(pabulib.dumps(parsed)) == parsed
    with pytest.raises(PabulibError, match=f"vote_type is '{vote_type}': only approval"):
        pabulib.to_instance(parsed)


def test_points_must_match_votes():
    text = VALID.replace("approval", "cumulative").replace(
        "voter_id;vote\nv1;1,2", "voter_id;vote;points\nv1;1,2;3"
    )
    with pytest.raises(PabulibError, match="line 11: 'points' and 'vote' have different lengths"):
        pabulib.loads(text)


def test_parse_number():
    assert pabulib.parse_number("12") == 12
    assert pabulib.parse_number(" 12.50 ") == Fraction(25, 2)
    assert pabulib.parse_number("12,5") == Fraction(25, 2)
    for bad in ("", "inf", "1/0", "x"):
        with pytest.raises(ValueError):
            pabulib.parse_number(bad)
