"""Staff verify residents and upload the voter register; `flask accounts grant`."""

import io

from helpers import check_permission_matrix, make_iin, make_user, post_form
from sqlalchemy import func, select

from portal.accounts.models import User, VoterRegisterEntry


def test_permission_matrix_for_account_routes(as_role, db):
    resident = make_user(verified=False, email="waiting@example.kz")
    clients = {
        role: as_role(role) for role in ("anonymous", "resident", "moderator", "staff", "admin")
    }
    routes = [
        (
            "GET",
            "/profile",
            {"anonymous": 302, "resident": 200, "moderator": 200, "staff": 200, "admin": 200},
        ),
        ("GET", "/staff/residents", {"anonymous": 302, "staff": 200, "admin": 200}),
        (
            "GET",
            "/register",
            {"anonymous": 200, "resident": 302, "moderator": 302, "staff": 302, "admin": 302},
        ),
        (
            "GET",
            "/login",
            {"anonymous": 200, "resident": 302, "moderator": 302, "staff": 302, "admin": 302},
        ),
        (
            "POST",
            f"/staff/residents/{resident.id}/verify",
            {"anonymous": 302, "staff": 302, "admin": 302},
        ),
    ]
    assert check_permission_matrix(clients, routes) == []


def test_staff_of_another_region_cannot_verify(as_role, db):
    resident = make_user(verified=False)
    astana_staff = as_role("staff", region="KZ-71")
    response = post_form(
        astana_staff, f"/staff/residents/{resident.id}/verify", {}, token_from="/profile"
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(User, resident.id).verified_region_id is None


def test_staff_verify_a_resident(as_role, db):
    resident = make_user(verified=False, full_name="Жанар Ким")
    staff = as_role("staff")
    page = staff.get("/staff/residents").get_data(as_text=True)
    assert "Жанар Ким" in page
    post_form(staff, f"/staff/residents/{resident.id}/verify", {}, token_from="/profile")
    db.session.expire_all()
    assert db.session.get(User, resident.id).verified_via == "staff"


def _upload(client, content):
    return post_form(
        client,
        "/staff/register",
        {"file": (io.BytesIO(content), "register.csv")},
        token_from="/profile",
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )


def test_register_upload_verifies_and_stores_only_hashes(as_role, db):
    resident = make_user(verified=False)
    staff = as_role("staff")
    other_iin = make_iin()
    response = _upload(staff, f"iin\n{resident.iin}\n{other_iin}\n".encode())
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, resident.id).verified_via == "register"
    hashes = db.session.scalars(select(VoterRegisterEntry.iin_hash)).all()
    assert len(hashes) == 2 and other_iin not in "".join(hashes)


def test_register_with_a_bad_line_imports_nothing(as_role, db):
    staff = as_role("staff")
    response = _upload(staff, f"{make_iin()}\n123456789012\n".encode())
    assert response.status_code == 302
    page = staff.get(response.headers["Location"], headers={"Accept-Language": "en"})
    assert "Line 2" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(VoterRegisterEntry)) == 0


def test_register_that_is_not_utf8_is_refused(as_role, db):
    staff = as_role("staff")
    response = _upload(staff, b"\xff\xfe\x00bad")
    page = staff.get(response.headers["Location"], headers={"Accept-Language": "en"})
    assert "not UTF-8" in page.get_data(as_text=True)


def test_grant_command(app, db):
    user = make_user(email="promote@example.kz")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["accounts", "grant", "promote@example.kz", "staff", "--region", "KZ-75"]
    )
    assert result.exit_code == 0, result.output
    assert "is now staff in KZ-75" in result.output
    db.session.expire_all()
    assert db.session.get(User, user.id).role == "staff"
    missing = runner.invoke(args=["accounts", "grant", "promote@example.kz", "moderator"])
    assert missing.exit_code == 2 and "needs --region" in missing.output
    unknown = runner.invoke(args=["accounts", "grant", "nobody@example.kz", "admin"])
    assert unknown.exit_code == 2 and "No account" in unknown.output
