"""Downloads through the staff routes: every format opens, headers, scope, bad input,
no personal data, and an audit row per export."""

import json

import pytest
from export_checks import export_by_job, personal_data, read_csv, read_pb, read_sqlite, read_xlsx
from helpers import login, make_user
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.exports.models import ExportLog


def _log_count(db):
    return db.session.scalar(select(func.count()).select_from(ExportLog))


@pytest.fixture
def staff_client(app, staff):
    client = app.test_client()
    login(client, staff)
    return client


def _get(client, url):
    response = client.get(url)
    if response.status_code == 200 and response.mimetype == "text/html":
        # XLSX, SQLite or a big file: the page offers to build it in the background.
        response = export_by_job(client, url, response.request.args["format"])
    data = response.get_data()  # consumes the stream
    return response, data


def _check_headers(response, fmt):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="tynda-')
    assert disposition.endswith(f'.{fmt}"')
    assert "/" not in disposition and ".." not in disposition


def _voters(db):
    return db.session.scalars(select(User)).all()


def test_cycle_csv_parts(db, staff_client, closed_cycle):
    a, b, c = closed_cycle.projects
    response, data = _get(staff_client, f"/staff/cycles/{closed_cycle.id}/export?format=csv")
    _check_headers(response, "csv")
    rows = read_csv(data)
    # Every code keeps its own column, with its translated label beside it.
    assert rows[0][:4] == ["ID", "Title", "Category code", "Category"]
    assert rows[0][4:6] == ["District code", "District"]
    votes = rows[0].index("Votes")
    by_id = {int(r[0]): r for r in rows[1:]}
    assert set(by_id) == {a.id, b.id, c.id}  # the withdrawn proposal is not on the ballot
    assert by_id[a.id][votes] == "3" and by_id[c.id][votes] == "3" and by_id[b.id][votes] == "2"
    assert all(r[3] and r[3] != r[2] for r in rows[1:])
    assert by_id[b.id][1] == '\'=HYPERLINK("http://evil")'  # neutralised
    assert by_id[c.id][1] == 'Тротуар; "новый"'

    response, data = _get(
        staff_client, f"/staff/cycles/{closed_cycle.id}/export?format=csv&part=ballots"
    )
    _check_headers(response, "csv")
    rows = read_csv(data)
    head = rows[0]
    assert head[1:3] == ["Channel code", "Channel"]
    assert {(r[1], r[2]) for r in rows[1:]} <= {("online", "Online"), ("paper", "Paper")}
    choices, sex, band = head.index("Projects chosen"), head.index("Sex"), head.index("Age band")
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4", "5"]
    assert set(rows[1][choices].split(",")) == {str(a.id), str(b.id)}
    assert {r[sex] for r in rows[1:]} == {"M", "F"}
    assert {r[band] for r in rows[1:]} >= {"18-29", "60+"}

    response, data = _get(
        staff_client, f"/staff/cycles/{closed_cycle.id}/export?format=csv&part=proposals"
    )
    rows = read_csv(data)
    status = rows[0].index("Status code")
    assert rows[0][status + 1] == "Status"
    assert len(rows) == 5 and "withdrawn" in {r[status] for r in rows}
    assert ("withdrawn", "Withdrawn") in {(r[status], r[status + 1]) for r in rows}
    text = data.decode("utf-8")
    for secret in personal_data(_voters(db)):
        assert secret not in text


def test_cycle_xlsx(db, staff_client, closed_cycle):
    response, data = _get(staff_client, f"/staff/cycles/{closed_cycle.id}/export?format=xlsx")
    _check_headers(response, "xlsx")
    workbook = read_xlsx(data)
    assert workbook.sheetnames[:3] == ["Tally", "Ballots", "Proposals"]
    tally = workbook["Tally"]
    assert tally.freeze_panes == "A2"
    assert [c.value for c in tally[1]][:2] == ["ID", "Title"]
    assert tally["A1"].font.b
    cost = tally["G2"]
    assert isinstance(cost.value, int) and "₸" in cost.number_format
    formula = [
        r for r in tally.iter_rows(min_row=2, values_only=False) if "HYPERLINK" in str(r[1].value)
    ]
    assert formula[0][1].data_type == "s" and formula[0][1].quotePrefix
    assert workbook["Ballots"].max_row == 6
    values = {str(c) for ws in workbook for row in ws.iter_rows(values_only=True) for c in row}
    assert not values & personal_data(_voters(db))


def test_cycle_xlsx_headers_in_the_readers_language(db, staff, app, closed_cycle):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    login(client, staff)
    response, data = _get(client, f"/staff/cycles/{closed_cycle.id}/export?format=xlsx")
    workbook = read_xlsx(data)
    from helpers import translate

    assert workbook.worksheets[0]["B1"].value == translate("ru", "Title")
    assert workbook.worksheets[0].title == translate("ru", "Tally")


def test_cycle_json(db, staff_client, closed_cycle):
    response, data = _get(staff_client, f"/staff/cycles/{closed_cycle.id}/export?format=json")
    _check_headers(response, "json")
    document = json.loads(data)
    assert document["meta"]["cycle_id"] == closed_cycle.id
    assert document["meta"]["ballots"] == 5
    assert len(document["projects"]) == 3 and len(document["ballots"]) == 5
    assert document["ballots"][0].keys() == {
        "id",
        "channel",
        "district",
        "age_band",
        "sex",
        "choices",
    }
    greedy = {p["id"] for p in document["projects"] if p["selected_greedy"]}
    assert greedy and all(isinstance(p["selected_mes"], bool) for p in document["projects"])
    text = data.decode("utf-8")
    for secret in personal_data(_voters(db)):
        assert secret not in text


def test_cycle_sqlite(db, staff_client, closed_cycle):
    response, data = _get(staff_client, f"/staff/cycles/{closed_cycle.id}/export?format=sqlite")
    _check_headers(response, "sqlite")
    connection = read_sqlite(data)
    tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"meta", "projects", "ballots", "ballots_choices", "proposals"} <= tables
    assert connection.execute("SELECT count(*) FROM ballots").fetchone()[0] == 5
    assert connection.execute("SELECT count(*) FROM ballots_choices").fetchone()[0] == 8
    fks = connection.execute("PRAGMA foreign_key_list(ballots_choices)").fetchall()
    assert {row["table"] for row in fks} == {"ballots", "projects"}
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    votes = dict(
        connection.execute(
            "SELECT projects_id, count(*) FROM ballots_choices GROUP BY projects_id"
        ).fetchall()
    )
    assert sorted(votes.values()) == [2, 3, 3]


def test_cycle_pb(db, staff_client, closed_cycle):
    from portal.budgeting import pabulib

    response, data = _get(staff_client, f"/staff/cycles/{closed_cycle.id}/export?format=pb")
    _check_headers(response, "pb")
    parsed = read_pb(data)
    assert parsed.meta["vote_type"] == "approval" and parsed.meta["budget"] == "1000000"
    assert [v["voter_id"] for v in parsed.votes] == ["1", "2", "3", "4", "5"]
    assert {v["sex"] for v in parsed.votes} == {"M", "F"}
    assert "selected" in parsed.project_columns
    assert pabulib.dumps(parsed) == data.decode("utf-8")  # canonical form
    instance = pabulib.to_instance(parsed)
    assert len(instance.ballots) == 5


def test_draft_formats(db, staff_client, draft):
    base = f"/staff/drafts/{draft.id}/export"
    response, data = _get(staff_client, f"{base}?format=csv")
    _check_headers(response, "csv")
    rows = read_csv(data)
    header = rows[0]
    text_col, status_col = header.index("Comment"), header.index("Status code")
    assert header[status_col + 1] == "Status"
    by_status = {r[status_col]: r for r in rows[1:]}
    assert by_status["rejected"][text_col] == ""  # may be the personal data it was rejected for
    assert "'=cmd|' /C calc'!A0" in {r[text_col] for r in rows[1:]}
    assert "+77019998877" not in data.decode("utf-8")

    response, data = _get(staff_client, f"{base}?format=csv&part=summary")
    rows = read_csv(data)
    assert len(rows) == 3  # two published comments
    assert "Учтено в статье 1." in {c for r in rows for c in r}

    response, data = _get(staff_client, f"{base}?format=xlsx")
    workbook = read_xlsx(data)
    assert workbook.sheetnames[:3] == ["Articles", "Comments", "Summary table"]

    response, data = _get(staff_client, f"{base}?format=json")
    document = json.loads(data)
    assert len(document["comments"]) == 4 and len(document["articles"]) == 3

    response, data = _get(staff_client, f"{base}?format=sqlite")
    connection = read_sqlite(data)
    hits = connection.execute(
        "SELECT comments.id FROM comments_fts JOIN comments ON comments.rowid = comments_fts.rowid "
        "WHERE comments_fts MATCH 'тротуары'"
    ).fetchall()
    assert len(hits) == 1
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    response = staff_client.get(f"{base}?format=pb")
    assert response.status_code == 400  # no ballots in a consultation


def test_every_download_is_logged(db, staff, staff_client, closed_cycle, draft):
    before = _log_count(db)
    for fmt in ("csv", "xlsx", "json", "sqlite", "pb"):
        _get(staff_client, f"/staff/cycles/{closed_cycle.id}/export?format={fmt}")
    _get(staff_client, f"/staff/drafts/{draft.id}/export?format=json")
    entries = db.session.scalars(select(ExportLog).order_by(ExportLog.id)).all()[before:]
    assert [(e.subject, e.format) for e in entries] == [
        ("cycle", "csv"),
        ("cycle", "xlsx"),
        ("cycle", "json"),
        ("cycle", "sqlite"),
        ("cycle", "pb"),
        ("draft", "json"),
    ]
    assert all(e.user_id == staff.id and e.via == "web" for e in entries)
    assert entries[0].part == "tally" and entries[1].part is None
    assert entries[0].region_id == closed_cycle.region_id


@pytest.mark.parametrize(
    "query, status",
    [
        ("format=exe", 400),
        ("format=", 400),
        ("", 400),
        ("format=../../etc/passwd", 400),
        ("format=csv&part=../../secrets", 400),
        ("format=csv&part=users", 400),
    ],
)
def test_bad_requests_are_refused_and_not_logged(db, staff_client, closed_cycle, query, status):
    before = _log_count(db)
    response = staff_client.get(f"/staff/cycles/{closed_cycle.id}/export?{query}")
    assert response.status_code == status
    assert "Content-Disposition" not in response.headers
    assert _log_count(db) == before


def test_unknown_format_message_is_clear(db, staff_client, closed_cycle):
    response = staff_client.get(f"/staff/cycles/{closed_cycle.id}/export?format=exe")
    assert "Unknown export format" in response.get_data(as_text=True)
    assert "csv, xlsx, json, sqlite, pb" in response.get_data(as_text=True)


def test_a_requested_file_name_is_ignored(db, staff_client, closed_cycle):
    response, _data = _get(
        staff_client,
        f"/staff/cycles/{closed_cycle.id}/export?format=csv&filename=../../etc/passwd&name=x.sh",
    )
    _check_headers(response, "csv")
    assert "passwd" not in response.headers["Content-Disposition"]


def test_other_regions_cycle_is_not_found(db, staff_client, other_cycle, other_draft):
    before = _log_count(db)
    assert staff_client.get(f"/staff/cycles/{other_cycle.id}/export?format=csv").status_code == 404
    assert staff_client.get(f"/staff/drafts/{other_draft.id}/export?format=csv").status_code == 404
    assert staff_client.get("/staff/cycles/999999/export?format=csv").status_code == 404
    assert _log_count(db) == before


def test_admin_exports_any_region(db, app, other_cycle):
    client = app.test_client()
    login(client, make_user(role="admin"))
    response, data = _get(client, f"/staff/cycles/{other_cycle.id}/export?format=json")
    _check_headers(response, "json")


def test_cycle_in_voting_is_refused(db, staff_client, voting_cycle, app):
    before = _log_count(db)
    response = staff_client.get(f"/staff/cycles/{voting_cycle.id}/export?format=csv")
    assert response.status_code == 409
    assert "Voting is still open" in response.get_data(as_text=True)
    admin = app.test_client()
    login(admin, make_user(role="admin"))
    assert admin.get(f"/staff/cycles/{voting_cycle.id}/export?format=pb").status_code == 409
    assert _log_count(db) == before
