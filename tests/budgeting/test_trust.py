"""Trust in a vote: frozen rules, immutable results, the ballot ledger, ballot secrecy and
the verifiers. Every refusal is checked in the services AND in the database (raw SQL, as an
operator with a database shell would try), on SQLite and on PostgreSQL."""

import datetime as dt
import importlib.util
import json
from pathlib import Path

import budget_fixtures
import pytest
import sqlalchemy as sa
from helpers import make_user, post_form

from portal.audit.models import AuditEntry
from portal.budgeting import integrity, ledger, publishing, services
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.models import Ballot, CycleDateChange, CycleResult

make_project = budget_fixtures.make_project
SECRET = "testing-receipt-key"  # = TestingConfig.RECEIPT_KEY, so the CLI checks receipts too
KEY = "testing-ballot-key"
ROOT = Path(__file__).resolve().parents[2]


def _code(call):
    with pytest.raises(BudgetRuleError) as caught:
        call()
    return caught.value.code


def _refused(db, statement, **params):
    """The database refuses the statement (a trigger raises)."""
    with pytest.raises(sa.exc.DatabaseError) as caught, db.session.begin_nested():
        db.session.execute(sa.text(statement), params)
    return str(caught.value)


def _vote(db, cycle, choices, voter=None):
    voter = voter or make_user()
    ballot = services.cast_ballot(
        db.session, voter, cycle, [p.id for p in choices], secret=SECRET, ballot_key=KEY
    )
    return voter, ballot


@pytest.fixture
def voting(new_cycle, make_project):
    cycle = new_cycle("voting", budget=1_000)
    projects = [make_project(cycle, cost, title=f"P{cost}") for cost in (600, 500, 400)]
    return cycle, projects


def _close(db, cycle):
    staff = make_user(role="staff")
    services.move_phase(db.session, staff, cycle, "results")
    return staff


# ------------------------------------------------------------------ frozen rules
def test_services_refuse_rule_changes_once_voting_opens(db, voting):
    cycle, _ = voting
    staff = make_user(role="staff")
    for change in (
        {"budget": 2_000},
        {"ballot_rule": "single"},
        {"winner_rule": "mes"},
        {"min_votes": 3},
        {"voting_open_at": cycle.voting_open_at - dt.timedelta(hours=1)},
        {"voting_close_at": cycle.voting_close_at - dt.timedelta(hours=1)},
    ):
        code = _code(lambda c=change: services.update_cycle(db.session, staff, cycle, **c))
        assert code == "rules_frozen", change
        assert cycle.budget == 1_000 and cycle.ballot_rule == "knapsack"
    later = cycle.voting_close_at + dt.timedelta(days=2)
    dates = {"voting_close_at": later, "implementation_at": later + dt.timedelta(days=1)}
    assert (
        _code(lambda: services.update_cycle(db.session, staff, cycle, **dates))
        == "extension_reason"
    )
    assert cycle.voting_close_at < later  # nothing half-applied
    services.update_cycle(
        db.session, staff, cycle, reason="Flooding closed two polling stations", **dates
    )
    change = db.session.scalar(
        sa.select(CycleDateChange).where(CycleDateChange.cycle_id == cycle.id)
    )
    assert change.new_value == later and "Flooding" in change.reason


def test_cycle_page_shows_the_public_reason_for_an_extension(db, voting, as_role):
    cycle, _ = voting
    staff = make_user(role="staff")
    later = cycle.voting_close_at + dt.timedelta(hours=6)
    services.update_cycle(
        db.session, staff, cycle, reason="Internet outage in the region", voting_close_at=later
    )
    db.session.commit()
    page = as_role("anonymous").get(f"/budget/{cycle.id}").get_data(as_text=True)
    assert "Internet outage in the region" in page


def test_edit_page_refuses_a_new_budget_during_voting(db, voting, as_role):
    cycle, _ = voting
    staff = as_role("staff")
    url = f"/budget/{cycle.id}/edit"
    form = {
        "title_kk": "a",
        "title_ru": "b",
        "title_en": "c",
        "budget": "999",
        "ballot_rule": "knapsack",
        "winner_rule": "greedy",
        "district_id": "0",
    }
    for name in (
        "proposals_open_at",
        "review_open_at",
        "voting_open_at",
        "voting_close_at",
        "implementation_at",
    ):
        local = services.domain.utc_to_local(getattr(cycle, name))
        form[name] = local.strftime("%Y-%m-%dT%H:%M")
    response = post_form(staff, url, form, token_from=url, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "can no longer change" in response.get_data(as_text=True)
    db.session.expire_all()
    assert cycle.budget == 1_000


def test_phase_cannot_go_back_before_voting_once_frozen(db, voting):
    cycle, projects = voting
    _vote(db, cycle, projects[:1])
    staff = make_user(role="staff")
    assert _code(lambda: services.move_phase(db.session, staff, cycle, "review")) == "rules_frozen"


def test_database_refuses_rule_and_ballot_project_changes_once_frozen(db, voting, make_project):
    cycle, (a, b, _c) = voting
    _vote(db, cycle, [a])  # the first ballot freezes the rules
    db.session.flush()
    assert cycle.rules_frozen_at is not None
    cid, pid = cycle.id, a.id
    assert "frozen" in _refused(db, "UPDATE budget_cycle SET budget = 5 WHERE id = :i", i=cid)
    _refused(db, "UPDATE budget_cycle SET ballot_rule = 'single' WHERE id = :i", i=cid)
    _refused(db, "UPDATE budget_cycle SET district_id = 1 WHERE id = :i", i=cid)
    _refused(db, "UPDATE budget_cycle SET rules_frozen_at = NULL WHERE id = :i", i=cid)
    _refused(
        db,
        "UPDATE budget_cycle SET voting_close_at = voting_open_at WHERE id = :i",
        i=cid,
    )
    _refused(db, "UPDATE budget_proposal SET estimated_cost = 1 WHERE id = :i", i=pid)
    _refused(db, "UPDATE budget_proposal SET status = 'infeasible' WHERE id = :i", i=pid)
    _refused(db, "DELETE FROM budget_proposal WHERE id = :i", i=b.id)
    _refused(  # a new project on a frozen ballot
        db,
        "INSERT INTO budget_proposal (cycle_id, title, description_html, category, address, "
        "estimated_cost, status, funded, progress, created_at, updated_at) VALUES "
        "(:c, 'New', '<p>x</p>', 'yards', '', 10, 'feasible', false, 0, :t, :t)",
        c=cid,
        t=dt.datetime(2026, 1, 1),
    )
    # Titles and a later closing date are still allowed at the database level.
    with db.session.begin_nested():
        db.session.execute(
            sa.text("UPDATE budget_cycle SET title_en = 'New', voting_close_at = :t WHERE id = :i"),
            {"t": cycle.voting_close_at + dt.timedelta(days=1), "i": cid},
        )


# ------------------------------------------------------------------ immutable results
def test_published_results_never_change_and_corrections_are_versions(db, voting, as_role):
    cycle, (a, b, c) = voting
    for choices in ([a], [a], [b, c]):
        _vote(db, cycle, choices)
    staff = _close(db, cycle)
    (first,) = publishing.compute_results(db.session, staff, cycle)
    publishing.publish_results(db.session, staff, cycle)
    assert (
        _code(lambda: publishing.publish_results(db.session, staff, cycle)) == "already_published"
    )
    db.session.flush()
    _refused(db, "UPDATE budget_result SET total_cost = 1 WHERE id = :i", i=first.id)
    _refused(db, "DELETE FROM budget_result WHERE id = :i", i=first.id)
    # Computing again keeps the published version and prepares version 2.
    (second,) = publishing.compute_results(db.session, staff, cycle)
    assert second.id != first.id and second.version == 2 and first.published_at is not None
    assert publishing.published_result(db.session, cycle).id == first.id
    assert (
        _code(lambda: publishing.publish_results(db.session, staff, cycle)) == "correction_reason"
    )
    publishing.publish_results(db.session, staff, cycle, reason="A paper ballot box was recounted")
    assert publishing.published_result(db.session, cycle).version == 2
    db.session.commit()
    page = as_role("anonymous").get(f"/budget/{cycle.id}/results").get_data(as_text=True)
    assert "A paper ballot box was recounted" in page and "version 1" in page


def test_nobody_sees_counts_while_voting(db, voting, as_role):
    cycle, projects = voting
    _vote(db, cycle, projects[:1])
    db.session.commit()
    for role in ("admin", "staff", "resident", "anonymous"):
        assert as_role(role).get(f"/budget/{cycle.id}/counts").status_code == 403, role


# ------------------------------------------------------------------ ledger and secrecy
def test_every_cast_and_replacement_appends_a_leaf(db, voting, client):
    cycle, (a, b, _c) = voting
    voter, ballot = _vote(db, cycle, [a])
    _vote(db, cycle, [b])
    services.cast_ballot(db.session, voter, cycle, [b.id], secret=SECRET, ballot_key=KEY)
    db.session.commit()
    head = client.get(f"/api/v1/cycles/{cycle.id}/ledger").get_json()
    assert head["size"] == 3 and head["algorithm"] == ledger.ALGORITHM
    datas = [e.encode() for e in integrity.leaves(db.session, cycle.id)]
    assert head["root"] == ledger.root([ledger.leaf_hash(d) for d in datas]).hex()
    assert json.loads(datas[-1]) == {
        "ballot": ballot.id,
        "choices": [b.id],
        "cycle": cycle.id,
        "v": 2,
    }
    proof = client.get(f"/api/v1/cycles/{cycle.id}/ledger/proof?receipt={ballot.receipt}")
    body = proof.get_json()
    assert body["leaf_index"] == 2 and body["leaf_data"] == datas[-1].decode()
    assert ledger.verify_path(
        body["leaf_index"],
        body["tree_size"],
        bytes.fromhex(body["leaf_hash"]),
        [bytes.fromhex(h) for h in body["audit_path"]],
        bytes.fromhex(body["root"]),
    )
    missing = client.get(f"/api/v1/cycles/{cycle.id}/ledger/proof?receipt=0000000000000000")
    assert missing.status_code == 404 and missing.is_json
    assert client.get(f"/api/v1/cycles/{cycle.id}/ledger/leaves").status_code == 404


def test_ledger_proofs_span_chunks(db, voting, monkeypatch):
    """Proofs built from cached chunk roots match the plain tree (small chunks here)."""
    monkeypatch.setattr(integrity, "CHUNK", 4)
    cycle, (a, b, c) = voting
    ballots = [_vote(db, cycle, [(a, b, c)[i % 3]])[1] for i in range(11)]
    datas = [e.encode() for e in integrity.leaves(db.session, cycle.id)]
    hashes = [ledger.leaf_hash(d) for d in datas]
    root = ledger.root(hashes)
    for ballot in ballots:
        proof = integrity.proof(db.session, cycle, ballot)
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        assert path == ledger.path(proof["leaf_index"], hashes)
        assert ledger.verify_path(proof["leaf_index"], 11, hashes[proof["leaf_index"]], path, root)


def test_ballot_rows_hold_no_voter_id(db, voting):
    cycle, projects = voting
    voter, ballot = _vote(db, cycle, projects[:1])
    columns = {c["name"] for c in sa.inspect(db.session.connection()).get_columns("budget_ballot")}
    assert "voter_id" not in columns
    assert ballot.voter_key == integrity.voter_key(KEY, cycle.id, voter.id)
    row = db.session.execute(sa.text("SELECT * FROM budget_ballot WHERE id = :i"), {"i": ballot.id})
    assert voter.id not in [
        v for k, v in row.mappings().one().items() if k != "id" and k != "cycle_id"
    ]
    # The same voter finds their ballot again (and replaces it) only with the key.
    assert services.ballot_of(db.session, cycle, voter, KEY).id == ballot.id
    assert services.ballot_of(db.session, cycle, voter, "another-key") is None


def test_receipt_pages_show_a_proof_the_browser_checks(db, voting, as_role):
    cycle, projects = voting
    resident = as_role("resident")
    ballot = services.cast_ballot(
        db.session, resident.user, cycle, [projects[0].id], secret=SECRET, ballot_key=KEY
    )
    db.session.commit()
    own = resident.get(f"/budget/{cycle.id}/ballot/{ballot.id}/receipt").get_data(as_text=True)
    assert "data-proof=" in own and "ledger-proof.js" in own and "<script>" not in own
    lookup = as_role("anonymous").get(f"/budget/receipt?code={ballot.receipt}")
    assert "data-proof=" in lookup.get_data(as_text=True)


# ------------------------------------------------------------------ the verifiers
def _published(db, voting):
    cycle, (a, b, c) = voting
    for choices in ([a], [a, c], [b], [c]):
        _vote(db, cycle, choices)
    staff = _close(db, cycle)
    publishing.compute_results(db.session, staff, cycle)
    publishing.publish_results(db.session, staff, cycle)
    db.session.commit()
    return cycle


def _drop_trigger(db, name, table):
    postgres = db.session.get_bind().dialect.name == "postgresql"
    db.session.execute(sa.text(f"DROP TRIGGER {name}" + (f" ON {table}" if postgres else "")))


def test_server_verify_passes_then_names_a_changed_choice(db, app, voting):
    cycle = _published(db, voting)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["budgeting", "verify", str(cycle.id)])
    assert ok.exit_code == 0, ok.output
    # After close the database refuses to touch the ballots …
    _refused(db, "DELETE FROM budget_ballot_choice")
    # … so an attacker drops the trigger first; the verifier still catches it.
    _drop_trigger(db, "budget_choice_final_update", "budget_ballot_choice")
    # One choice of the first ballot that has any (changing all of a ballot's choices to one
    # project would collide with its primary key when it has several).
    ballot_id, chosen = db.session.execute(
        sa.text(
            "SELECT c.ballot_id, MIN(c.proposal_id) FROM budget_ballot_choice c "
            "JOIN budget_ballot b ON b.id = c.ballot_id WHERE b.cycle_id = :c "
            "GROUP BY c.ballot_id ORDER BY c.ballot_id LIMIT 1"
        ),
        {"c": cycle.id},
    ).one()
    other = db.session.execute(
        sa.text(
            "SELECT id FROM budget_proposal WHERE cycle_id = :c AND id NOT IN "
            "(SELECT proposal_id FROM budget_ballot_choice WHERE ballot_id = :b) LIMIT 1"
        ),
        {"c": cycle.id, "b": ballot_id},
    ).scalar()
    db.session.execute(
        sa.text(
            "UPDATE budget_ballot_choice SET proposal_id = :p "
            "WHERE ballot_id = :b AND proposal_id = :chosen"
        ),
        {"p": other, "b": ballot_id, "chosen": chosen},
    )
    db.session.expire_all()
    bad = runner.invoke(args=["budgeting", "verify", str(cycle.id)])
    assert bad.exit_code == 1 and f"ballot {ballot_id}" in bad.output


def test_server_verify_names_an_edited_result(db, app, voting):
    cycle = _published(db, voting)
    _drop_trigger(db, "budget_result_published_update", "budget_result")
    result = db.session.scalar(sa.select(CycleResult).where(CycleResult.cycle_id == cycle.id))
    data = dict(result.data, selected=[])
    db.session.execute(
        sa.text("UPDATE budget_result SET data = :d WHERE id = :i"),
        {"d": json.dumps(data), "i": result.id},
    )
    db.session.expire_all()
    bad = app.test_cli_runner().invoke(args=["budgeting", "verify", str(cycle.id)])
    assert bad.exit_code == 1 and "winners differ" in bad.output


def _verifier():
    path = ROOT / "static" / "verify" / "tynda_verify.py"
    spec = importlib.util.spec_from_file_location("tynda_verify", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_independent_verifier_matches_then_spots_a_forged_count(
    db, voting, client, tmp_path, capsys
):
    cycle = _published(db, voting)
    ledger_doc = json.loads(client.get(f"/api/v1/cycles/{cycle.id}/ledger/leaves").data)
    verification = client.get(f"/api/v1/cycles/{cycle.id}/verification").get_json()
    verifier = _verifier()
    lines = []
    verifier.check(ledger_doc, verification, out=lines.append)
    assert any("same" in line for line in lines)
    forged = json.loads(json.dumps(verification))
    pid = next(iter(forged["results"][0]["votes"]))
    forged["results"][0]["votes"][pid] += 1
    with pytest.raises(verifier.Mismatch, match=f"project {pid}"):
        verifier.check(ledger_doc, forged, out=lines.append)
    dropped = dict(ledger_doc, leaves=ledger_doc["leaves"][:-1])
    with pytest.raises(verifier.Mismatch, match="differs from the entries"):
        verifier.check(dropped, verification, out=lines.append)
    ledger_file, verification_file = tmp_path / "ledger.json", tmp_path / "verification.json"
    ledger_file.write_text(json.dumps(ledger_doc))
    verification_file.write_text(json.dumps(verification))
    args = ["--ledger", str(ledger_file), "--verification", str(verification_file)]
    assert verifier.main(args) == 0 and capsys.readouterr().out.strip().endswith("MATCH")
    verification_file.write_text(json.dumps(forged))
    assert verifier.main(args) == 1 and "DIFFERENCE" in capsys.readouterr().out
    pb = client.get(f"/api/v1/cycles/{cycle.id}/ballots.pb")
    assert pb.status_code == 200 and b"VOTES" in pb.data


def test_verifier_file_is_downloadable(client):
    response = client.get("/static/verify/tynda_verify.py")
    assert response.status_code == 200 and b"def check(" in response.data


# ------------------------------------------------------------------ audit trail
def test_budgeting_actions_reach_the_audit_log(db, voting):
    cycle, (a, _b, _c) = voting
    staff = make_user(role="staff")
    voter = make_user()
    services.cast_ballot(
        db.session,
        staff,
        cycle,
        [a.id],
        secret=SECRET,
        ballot_key=KEY,
        voter=voter,
        channel="paper",
    )
    services.move_phase(db.session, staff, cycle, "results")
    publishing.compute_results(db.session, staff, cycle)
    publishing.publish_results(db.session, staff, cycle)
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.target == f"cycle:{cycle.id}")
    ).all()
    for action in (
        "budgeting.paper_ballot",
        "budgeting.phase_move",
        "budgeting.results_compute",
        "budgeting.results_publish",
    ):
        assert action in actions
    paper = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "budgeting.paper_ballot")
    )
    assert paper.actor_id == staff.id and str(voter.id) not in paper.details


def test_ledger_responses_match_the_openapi_document(db, voting, client):
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    cycle = _published(db, voting)
    spec = client.get("/api/v1/openapi.json").get_json()
    registry = Registry().with_resource("urn:t", Resource(contents=spec, specification=DRAFT202012))
    receipt = db.session.scalar(sa.select(Ballot.receipt).where(Ballot.cycle_id == cycle.id))
    for path, url in (
        ("/cycles/{cycle_id}/ledger", f"/api/v1/cycles/{cycle.id}/ledger"),
        (
            "/cycles/{cycle_id}/ledger/proof",
            f"/api/v1/cycles/{cycle.id}/ledger/proof?receipt={receipt}",
        ),
        ("/cycles/{cycle_id}/ledger/leaves", f"/api/v1/cycles/{cycle.id}/ledger/leaves"),
        ("/cycles/{cycle_id}/verification", f"/api/v1/cycles/{cycle.id}/verification"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        pointer = path.replace("~", "~0").replace("/", "~1")
        ref = f"urn:t#/paths/{pointer}/get/responses/200/content/application~1json/schema"
        validator = Draft202012Validator({"$ref": ref}, registry=registry)
        errors = [e.message for e in validator.iter_errors(json.loads(response.data))]
        assert errors == [], (url, errors)
