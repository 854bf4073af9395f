"""Role x route matrix for every dashboard, report, download and log route, and the
dashboards' content. Another region's cycle or draft is a 404, as if it did not exist."""

from helpers import check_permission_matrix, login, make_user

ROLES = ("anonymous", "resident", "moderator", "staff", "admin", "staff_other", "moderator_other")


def _expect(default, **overrides):
    expected = dict.fromkeys(ROLES, default)
    expected.update(overrides)
    return expected


def test_permission_matrix(db, as_role, closed_cycle, voting_cycle, draft):
    clients = {role: as_role(role) for role in ROLES[:5]}
    clients["staff_other"] = as_role("staff", region="KZ-71")
    clients["moderator_other"] = as_role("moderator", region="KZ-71")
    c, v, d = closed_cycle.id, voting_cycle.id, draft.id
    staff_only = _expect(403, anonymous=302, staff=200, admin=200, staff_other=404)
    consult = _expect(
        403, anonymous=302, staff=200, admin=200, moderator=200, staff_other=404,
        moderator_other=404,
    )  # fmt: skip
    signed_staff = _expect(
        403, anonymous=302, staff=200, admin=200, moderator=200, staff_other=200,
        moderator_other=200,
    )  # fmt: skip
    routes = [
        ("GET", "/staff/", signed_staff),
        ("GET", "/staff/exports/log", signed_staff),
        ("GET", f"/staff/cycles/{c}", staff_only),
        ("GET", f"/staff/cycles/{v}", staff_only),
        ("GET", f"/staff/cycles/{c}/report", staff_only),
        ("GET", f"/staff/cycles/{c}/export?format=csv", staff_only),
        ("GET", f"/staff/cycles/{c}/export?format=pb", staff_only),
        ("GET", f"/staff/cycles/{v}/export?format=csv", {**staff_only, "staff": 409, "admin": 409}),
        ("GET", f"/staff/drafts/{d}", consult),
        ("GET", f"/staff/drafts/{d}/report", consult),
        ("GET", f"/staff/drafts/{d}/export?format=json", consult),
        ("GET", "/api/v1/cycles", _expect(200)),
        ("GET", f"/api/v1/cycles/{c}/results", _expect(200)),
        ("GET", f"/api/v1/drafts/{d}/summary", _expect(200)),
        ("GET", "/api/v1/openapi.json", _expect(200)),
    ]
    assert check_permission_matrix(clients, routes) == []


def test_cycle_dashboard_figures(db, app, staff, closed_cycle):
    client = app.test_client()
    login(client, staff)
    page = client.get(f"/staff/cycles/{closed_cycle.id}").get_data(as_text=True)
    assert 'role="img"' in page and "<svg" in page
    assert "Детская площадка во дворе" in page  # results table
    assert "Ballots by age band and sex" in page and "60+" in page
    assert 'style="' not in page and "<script>" not in page
    for fmt in ("json", "pb"):  # small files stream from a link
        assert f"format={fmt}" in page
    for fmt in ("xlsx", "sqlite"):  # always built by a job: a button
        assert f'name="format" value="{fmt}"' in page and f"format={fmt}" not in page
    report = client.get(f"/staff/cycles/{closed_cycle.id}/report").get_data(as_text=True)
    assert "Report for the akim" in report and "exports.css" in report


def test_voting_cycle_dashboard_hides_counts(db, app, staff, voting_cycle):
    client = app.test_client()
    login(client, staff)
    page = client.get(f"/staff/cycles/{voting_cycle.id}").get_data(as_text=True)
    assert "counts per project stay hidden" in page
    assert "format=csv" not in page


def test_draft_dashboard_for_a_moderator(db, app, draft):
    client = app.test_client()
    login(client, make_user(role="moderator"))
    page = client.get(f"/staff/drafts/{draft.id}").get_data(as_text=True)
    assert "comments received" in page and "Comments per article" in page
    overview = client.get("/staff/").get_data(as_text=True)
    assert "comments await moderation" in overview
    assert "Budget cycles" not in overview


def test_overview_lists_region_work(db, app, staff, closed_cycle, draft, other_cycle):
    client = app.test_client()
    login(client, staff)
    page = client.get("/staff/").get_data(as_text=True)
    assert f"/staff/cycles/{closed_cycle.id}" in page
    assert f"/staff/cycles/{other_cycle.id}" not in page
    assert f"/staff/drafts/{draft.id}" in page
