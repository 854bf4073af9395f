"""Ballots imported from a pabulib file (no voter account) are exported like any other."""

import json

from export_checks import read_csv, read_pb
from sqlalchemy import select

from portal.budgeting import interchange, pabulib
from portal.budgeting.models import Proposal
from portal.exports import formats, services
from portal.regions.services import region_by_code

PB = """META
key;value
description;Imported
budget;100
vote_type;approval
date_begin;2020-01-01
date_end;2020-01-31
PROJECTS
project_id;cost
1;60
2;50
3;40
VOTES
voter_id;vote
a;1,2
b;2,3
c;1
d;3
"""


def _export(db, cycle, fmt, part="ballots"):
    cycle = services.cycle_for_export(db.session, None, cycle.id)
    return b"".join(services.build(db.session, "cycle", cycle, fmt, part))


def test_imported_ballots_are_in_csv_pb_and_json(db):
    parsed = pabulib.loads(PB)
    cycle = interchange.import_pabulib(db.session, parsed, region_by_code(db.session, "KZ-75"))
    db.session.commit()

    rows = read_csv(_export(db, cycle, "csv"))
    assert len(rows) - 1 == len(parsed.votes) == 4
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    head = rows[0]
    band, sex, choices = head.index("age_band"), head.index("sex"), head.index("choices")
    assert all(r[1] == "imported" and r[band] == "" and r[sex] == "" for r in rows[1:])
    assert sorted(r[choices] for r in rows[1:]) == sorted(
        ",".join(str(p.id) for p in ps) for ps in _proposal_sets(db, cycle, parsed)
    )

    exported = read_pb(_export(db, cycle, "pb"))
    assert len(exported.votes) == len(parsed.votes)
    assert exported.meta["num_votes"] == "4"
    assert sorted(len(v["vote"].split(",")) for v in exported.votes) == [1, 1, 2, 2]

    data = json.loads(_export(db, cycle, "json"))
    assert data["meta"]["ballots"] == 4 and len(data["ballots"]) == 4
    assert all(b["age_band"] is None and b["sex"] is None for b in data["ballots"])


def _proposal_sets(db, cycle, parsed):
    by_external = {
        p.external_id: p
        for p in db.session.scalars(select(Proposal).where(Proposal.cycle_id == cycle.id))
    }
    return [
        sorted((by_external[i] for i in v["vote"].split(",")), key=lambda p: p.id)
        for v in parsed.votes
    ]


def test_pb_votes_stream_in_chunks_whether_tuples_or_finished_lines(monkeypatch):
    monkeypatch.setattr(formats, "CHUNK_ROWS", 2)
    ticks = []
    votes = [(1, [3, 4], "internet"), "2;5;paper", (3, "6", None), "4;7;paper", "5;8;x"]
    chunks = list(
        formats.iter_pb({"k": "v"}, ["project_id"], [], ["voter_id"], votes, ticks.append)
    )
    assert chunks[1:] == ["1;3,4;internet\n2;5;paper\n", "3;6;\n4;7;paper\n", "5;8;x\n"]
    assert ticks == [2, 2, 1]


def test_pb_fields_quote_each_value_once():
    fields = formats.PbFields()
    assert fields[None] == "" and fields["a;b"] == '"a;b"' and fields[" x"] == '" x"'
    assert fields["north"] == "north" and len(fields) == 4
