"""Large exports run as background jobs: the staff button queues one, its page shows the
progress, the worker writes the file to storage, and the download checks the region again
and is recorded in the export log. Small CSV/JSON/.pb files still stream from the link."""

import json

import pytest
from export_checks import job_download, queue_export, read_csv, read_xlsx
from helpers import login, post_form
from sqlalchemy import func, select

from portal.exports.jobs import EXPORT_JOB
from portal.exports.models import ExportLog
from portal.jobs import enqueue
from portal.jobs.models import Job
from portal.storage import get_storage


@pytest.fixture
def staff_client(app, staff):
    client = app.test_client()
    login(client, staff)
    client.user = staff
    return client


@pytest.fixture
def small_limit(app, monkeypatch):
    """Stream nothing over 4 rows: the fixtures' 4 proposals stream, their 5 ballots do not."""
    monkeypatch.setitem(app.config, "EXPORT_STREAM_ROWS", 4)


def _job(db, job_id):
    db.session.expire_all()
    return db.session.get(Job, job_id)


def _job_id(location):
    return int(location.rstrip("/").rsplit("/", 1)[1])


def _logged(db):
    return db.session.scalar(select(func.count()).select_from(ExportLog))


def test_xlsx_export_runs_as_a_job_end_to_end(db, app, staff_client, closed_cycle):
    dashboard = f"/staff/cycles/{closed_cycle.id}"
    before_log = _logged(db)
    queued = queue_export(staff_client, dashboard, "xlsx")
    assert queued.status_code == 303 and "/jobs/" in queued.location
    job = _job(db, _job_id(queued.location))
    assert job.kind == EXPORT_JOB and job.status == "done", job.error
    assert job.created_by_id == staff_client.user.id
    # Progress counted the rows to write: 5 ballots and 4 proposals in two tables.
    assert job.total == job.progress == 5 + 2 * 4 and job.percent == 100
    key = job.result["key"]
    assert key.startswith("exports/") and key.endswith(".xlsx")
    assert get_storage().exists(key)

    link, page = job_download(staff_client, queued.location)
    assert "Preparing an export file" in page and "Done." in page
    assert link == f"/staff/exports/files/{job.id}"
    assert job.result["filename"] in page
    assert f'href="{dashboard}"' in page  # back to the dashboard
    status = staff_client.get(f"/jobs/{job.id}.json").json
    assert status["finished"] and status["download"] == link

    assert _logged(db) == before_log  # nothing has left the server yet
    response = staff_client.get(link)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="{job.result["filename"]}"'
    )
    workbook = read_xlsx(response.get_data())
    assert workbook.sheetnames[:3] == ["Tally", "Ballots", "Proposals"]
    assert workbook["Ballots"].max_row == 6  # header + 5 ballots
    titles = {row[1] for row in workbook["Tally"].iter_rows(min_row=2, values_only=True)}
    assert "Детская площадка во дворе" in titles
    entry = db.session.scalars(select(ExportLog).order_by(ExportLog.id.desc())).first()
    assert (entry.user_id, entry.via, entry.subject, entry.format) == (
        staff_client.user.id,
        "web",
        "cycle",
        "xlsx",
    )
    assert entry.filename == job.result["filename"] and _logged(db) == before_log + 1
    get_storage().delete(key)


def test_download_is_scoped_to_the_region(db, app, as_role, staff_client, closed_cycle):
    queued = queue_export(staff_client, f"/staff/cycles/{closed_cycle.id}", "sqlite")
    link, _page = job_download(staff_client, queued.location)
    before_log = _logged(db)
    elsewhere = as_role("staff", region="KZ-71")
    assert elsewhere.get(link).status_code == 404  # another region's cycle does not exist
    assert elsewhere.get(queued.location).status_code == 403  # nor is the job theirs
    moderator = as_role("moderator")
    assert moderator.get(link).status_code == 404  # cycles are staff's
    assert as_role("resident").get(link).status_code == 403
    assert as_role("anonymous").get(link).status_code == 302
    assert _logged(db) == before_log
    # A colleague of the same region may fetch it (and is logged), an admin too.
    colleague = as_role("staff")
    assert colleague.get(link).status_code == 200
    assert as_role("admin").get(link).status_code == 200
    assert _logged(db) == before_log + 2
    assert staff_client.get("/staff/exports/files/999999").status_code == 404
    get_storage().delete(_job(db, _job_id(queued.location)).result["key"])


def test_big_csv_goes_through_a_job_small_streams(db, staff_client, closed_cycle, small_limit):
    dashboard = staff_client.get(f"/staff/cycles/{closed_cycle.id}").get_data(as_text=True)
    # 4 proposals stream (tally, proposals ≤ 4 rows); 5 ballots are over the limit.
    assert "format=csv&amp;part=tally" in dashboard
    assert "format=csv&amp;part=ballots" not in dashboard
    assert 'name="part" value="ballots"' in dashboard
    assert "prepares the file in the background" in dashboard
    jobs_before = db.session.scalar(select(func.count()).select_from(Job))
    # The link still works for a bookmarked URL: a page with the button, and no job yet.
    url = f"/staff/cycles/{closed_cycle.id}/export?format=csv&part=ballots"
    page = staff_client.get(url)
    assert page.status_code == 200 and "Prepare an export" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Job)) == jobs_before
    queued = queue_export(staff_client, url, "csv", "ballots")
    link, _page = job_download(staff_client, queued.location)
    rows = read_csv(staff_client.get(link).get_data())
    assert len(rows) == 6 and [r[0] for r in rows[1:]] == ["1", "2", "3", "4", "5"]
    tally = staff_client.get(f"/staff/cycles/{closed_cycle.id}/export?format=csv&part=tally")
    assert tally.mimetype == "text/csv" and len(read_csv(tally.get_data())) == 4
    get_storage().delete(_job(db, _job_id(queued.location)).result["key"])


def test_draft_json_job_for_a_moderator(db, as_role, draft, small_limit):
    moderator = as_role("moderator")
    queued = queue_export(moderator, f"/staff/drafts/{draft.id}", "json")
    link, _page = job_download(moderator, queued.location)
    document = json.loads(moderator.get(link).get_data())
    assert len(document["comments"]) == 4 and document["meta"]["draft_id"] == draft.id
    assert as_role("staff", region="KZ-71").get(link).status_code == 404
    get_storage().delete(_job(db, _job_id(queued.location)).result["key"])


def test_refused_requests_queue_nothing(db, staff_client, closed_cycle, voting_cycle, other_cycle):
    before = db.session.scalar(select(func.count()).select_from(Job))
    token_page = f"/staff/cycles/{closed_cycle.id}"
    url = f"/staff/cycles/{closed_cycle.id}/export"
    bad = post_form(staff_client, url, {"format": "exe"}, token_from=token_page)
    assert bad.status_code == 400 and "Unknown export format" in bad.get_data(as_text=True)
    voting = post_form(
        staff_client,
        f"/staff/cycles/{voting_cycle.id}/export",
        {"format": "xlsx"},
        token_from=token_page,
    )
    assert voting.status_code == 409
    other = post_form(
        staff_client,
        f"/staff/cycles/{other_cycle.id}/export",
        {"format": "xlsx"},
        token_from=token_page,
    )
    assert other.status_code == 404
    no_token = staff_client.post(url, data={"format": "xlsx"})
    assert no_token.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Job)) == before


def test_a_failed_export_says_why(db, staff_client, voting_cycle):
    """A job whose cycle is (again) in voting fails with the refusal, not a stack trace."""
    row = enqueue(
        db.session,
        EXPORT_JOB,
        {
            "subject": "cycle",
            "subject_id": voting_cycle.id,
            "format": "xlsx",
            "part": None,
            "lang": "en",
            "actor_id": staff_client.user.id,
            "download": "/staff/exports/files/0",
        },
        actor=staff_client.user,
    )
    db.session.commit()
    job = _job(db, row.id)
    assert (job.status, job.error_code) == ("failed", "voting_open")
    link, page = job_download(staff_client, f"/jobs/{job.id}")
    assert link is None
    assert "The job failed: Voting is still open" in page and "Traceback" not in page
    assert staff_client.get(f"/staff/exports/files/{job.id}").status_code == 404
    message = "Voting is still open: counts stay hidden until it closes."
    assert staff_client.get(f"/jobs/{job.id}.json").json["error"] == message


def test_failure_message_in_the_readers_language(db, staff_client, voting_cycle):
    """The refusal is stored as a code and read in the language of whoever opens the page."""
    from helpers import translate

    staff_client.user.locale = "ru"
    row = enqueue(
        db.session,
        EXPORT_JOB,
        {"subject": "cycle", "subject_id": voting_cycle.id, "format": "csv", "lang": "ru",
         "actor_id": staff_client.user.id},
        actor=staff_client.user,
    )  # fmt: skip
    db.session.commit()
    message = "Voting is still open: counts stay hidden until it closes."
    assert _job(db, row.id).error_code == "voting_open"
    assert staff_client.get(f"/jobs/{row.id}.json").json["error"] == translate("ru", message)


def test_progress_is_recorded_while_the_file_is_written(db, app, staff, closed_cycle, monkeypatch):
    """The progress callback is written to the Job row as rows are written."""
    from portal.jobs import queue

    seen = []
    original = queue._update

    def spy(job_id, **fields):
        if "progress" in fields:
            seen.append((fields["progress"], fields["total"], fields["message"]))
        return original(job_id, **fields)

    monkeypatch.setattr(queue, "_update", spy)
    monkeypatch.setattr(queue, "PROGRESS_INTERVAL", 0)
    row = enqueue(
        db.session,
        EXPORT_JOB,
        {"subject": "cycle", "subject_id": closed_cycle.id, "format": "json", "lang": "en",
         "actor_id": staff.id},
        actor=staff,
    )  # fmt: skip
    db.session.commit()
    job = _job(db, row.id)
    assert job.status == "done", job.error
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1] == job.total
    assert all(message == "Rows written" for _done, _total, message in seen)
    assert [done for done, _t, _m in seen] == sorted(done for done, _t, _m in seen)
    get_storage().delete(job.result["key"])


def test_prune_deletes_old_export_files(db, app, staff_client, closed_cycle):
    queued = queue_export(staff_client, f"/staff/cycles/{closed_cycle.id}", "xlsx")
    link, _page = job_download(staff_client, queued.location)
    job = _job(db, _job_id(queued.location))
    key = job.result["key"]
    runner = app.test_cli_runner()
    kept = runner.invoke(args=["exports", "prune", "--days", "1"])
    assert kept.exit_code == 0 and "0 export file(s) deleted" in kept.output
    assert get_storage().exists(key) and staff_client.get(link).status_code == 200
    pruned = runner.invoke(args=["exports", "prune", "--days", "0"])
    assert pruned.exit_code == 0 and "1 export file(s) deleted" in pruned.output, pruned.output
    assert not get_storage().exists(key)
    job = _job(db, job.id)
    assert job.result["expired"] and job.result["filename"].endswith(".xlsx")
    assert staff_client.get(link).status_code == 404
    link_after, page = job_download(staff_client, queued.location)
    assert link_after is None and "Done." in page
