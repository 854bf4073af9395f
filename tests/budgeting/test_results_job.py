"""Long work runs as jobs: the results tally and campaign clustering are queued from their
pages, staff follow a status page (JSON polled by static/js/jobs.js), and a result is the
cycle's rule or nothing (no silent fallback to plain MES)."""

import budget_fixtures
import pytest
from helpers import make_user, post_form
from sqlalchemy import select

from portal.budgeting import services
from portal.budgeting.models import CycleResult, VoteCount
from portal.budgeting.winners import TallyTimeout, compute_winners
from portal.jobs.models import Job

make_project = budget_fixtures.make_project
SECRET = "test-secret"


@pytest.fixture
def closed_vote(db, new_cycle, make_project):
    cycle = new_cycle("voting", budget=1_100, winner_rule="mes")
    a, b, c = (make_project(cycle, cost) for cost in (600, 500, 400))
    for choices in ([a, c], [a, c], [a], [b]):
        services.cast_ballot(db.session, make_user(), cycle, [p.id for p in choices], secret=SECRET)
    services.move_phase(db.session, make_user(role="admin"), cycle, "results")
    db.session.commit()
    return cycle, (a, b, c)


def _job(db, job_id):
    db.session.expire_all()
    return db.session.get(Job, job_id)


def test_compute_results_runs_as_a_job_with_the_cycles_rule(db, as_role, closed_vote):
    cycle, (a, b, c) = closed_vote
    staff = as_role("staff")
    results_page = f"/budget/{cycle.id}/results"
    response = post_form(staff, f"/budget/{cycle.id}/results/compute", {}, token_from=results_page)
    assert response.status_code == 302 and "/jobs/" in response.location
    job_id = int(response.location.rsplit("/", 1)[1])
    row = _job(db, job_id)
    assert row.status == "done", row.error
    assert (row.kind, row.created_by_id) == ("budgeting.results", staff.user.id)
    stored = db.session.scalar(select(CycleResult).where(CycleResult.cycle_id == cycle.id))
    assert stored.rule == "mes" and stored.data["engine_rule"] == "mes-add1"
    assert set(stored.data["selected"]) == {a.id, c.id}
    assert row.result["rules"]["mes"]["selected"] == stored.data["selected"]
    page = staff.get(response.location).get_data(as_text=True)
    assert "Computing the results" in page and "Done." in page
    assert f'href="{results_page}"' in page and "js/jobs.js" in page and "<script>" not in page
    data = staff.get(f"/jobs/{job_id}.json").json
    assert data["status"] == "done" and data["percent"] == 100 and data["finished"]
    assert data["back"] == results_page
    # The job counted the live counts page too, in its snapshot: equal to a recount.
    state = services.vote_count_state(db.session, cycle)
    assert state is not None and (state.ballots, state.projects) == (4, 3)
    stored = db.session.execute(
        select(VoteCount.proposal_id, VoteCount.votes)
        .where(VoteCount.cycle_id == cycle.id)
        .order_by(VoteCount.rank)
    ).all()
    assert [tuple(row) for row in stored] == [(a.id, 3), (c.id, 2), (b.id, 1)]
    assert dict(stored) == services.vote_counts(db.session, cycle)


def test_job_pages_belong_to_who_started_them(db, as_role, closed_vote):
    cycle, _projects = closed_vote
    staff = as_role("staff")
    response = post_form(
        staff, f"/budget/{cycle.id}/results/compute", {}, token_from=f"/budget/{cycle.id}/results"
    )
    url = response.location
    assert as_role("staff").get(url).status_code == 403
    assert as_role("staff").get(url + ".json").status_code == 403
    assert as_role("admin").get(url).status_code == 200
    assert as_role("anonymous").get(url).status_code == 302
    assert staff.get("/jobs/999999").status_code == 404


def test_compute_refused_outside_results_phase_queues_nothing(db, as_role, new_cycle):
    cycle = new_cycle("voting")
    staff = as_role("staff")
    before = db.session.query(Job).count()
    response = post_form(
        staff, f"/budget/{cycle.id}/results/compute", {}, token_from=f"/budget/{cycle.id}/results"
    )
    assert response.status_code == 303
    assert db.session.query(Job).count() == before


def test_running_job_page_shows_progress(db, as_role):
    staff = as_role("staff")
    row = Job(kind="jobs.ping", status="running", progress=30, total=120, message="clustering")
    row.created_by_id = staff.user.id
    db.session.add(row)
    db.session.commit()
    html = staff.get(f"/jobs/{row.id}").get_data(as_text=True)
    assert 'value="25"' in html and "clustering" in html and "Refresh this page" in html
    assert staff.get(f"/jobs/{row.id}.json").json["percent"] == 25


def test_failed_job_page_says_why(db, as_role):
    """Staff read a failure in their language; the technical text is for admins only."""
    staff, admin = as_role("staff"), as_role("admin")
    row = Job(kind="jobs.ping", status="failed", error="the ballots do not add up")
    row.error_code = "unexpected"
    row.created_by_id = staff.user.id
    db.session.add(row)
    db.session.commit()
    page = staff.get(f"/jobs/{row.id}").get_data(as_text=True)
    assert "Something unexpected went wrong" in page and f"under job {row.id}" in page
    assert "the ballots do not add up" not in page
    assert "the ballots do not add up" in admin.get(f"/jobs/{row.id}").get_data(as_text=True)


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_refused_tally_is_explained_in_the_readers_language(app, db, as_role, new_cycle, lang):
    """The job keeps the refusal's code; the page translates it when it is read."""
    from flask_babel import force_locale
    from helpers import translate
    from markupsafe import escape

    from portal.budgeting import forms
    from portal.budgeting.domain import BudgetRuleError
    from portal.budgeting.jobs import RESULTS_JOB
    from portal.jobs import enqueue

    cycle = new_cycle("voting")
    staff = as_role("staff")
    staff.user.locale = lang
    payload = {"cycle_id": cycle.id, "actor_id": staff.user.id, "rules": None}
    row = enqueue(db.session, RESULTS_JOB, payload, actor=staff.user)
    db.session.commit()
    job = _job(db, row.id)
    assert (job.status, job.error_code) == ("failed", "wrong_phase")
    page = staff.get(f"/jobs/{job.id}").get_data(as_text=True)
    with app.test_request_context(), force_locale(lang):
        expected = forms.message(BudgetRuleError("wrong_phase", **job.error_details))
    assert escape(expected) in page
    assert translate(lang, "The job failed: %(error)s") % {"error": ""} in page
    assert staff.get(f"/jobs/{job.id}.json").json["error"] == expected


def test_no_silent_fallback_when_the_tally_is_too_slow():
    projects = {i: 10 + i for i in range(30)}
    ballots = [set(range(i % 7, 30, 3)) for i in range(200)]
    with pytest.raises(TallyTimeout):
        compute_winners(projects, ballots, 150, "mes", deadline=0)
    assert compute_winners(projects, ballots, 150, "mes").engine_rule == "mes-add1"


def test_cli_deadline_stores_nothing(app, db, closed_vote):
    cycle, _projects = closed_vote
    admin = make_user(role="admin")
    runner = app.test_cli_runner()
    args = ["budgeting", "compute-results", str(cycle.id), "--as", admin.email]
    failed = runner.invoke(args=args + ["--deadline", "0"])
    assert failed.exit_code != 0 and "tally_timeout" in failed.output
    assert db.session.scalar(select(CycleResult).where(CycleResult.cycle_id == cycle.id)) is None
    done = runner.invoke(args=args)
    assert done.exit_code == 0, done.output
    assert (
        db.session.scalar(select(CycleResult.rule).where(CycleResult.cycle_id == cycle.id)) == "mes"
    )
