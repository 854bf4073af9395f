"""Registration through the web form: good input creates one account, bad input none."""

import re

import pytest
from helpers import PASSWORD, make_iin, make_user, post_form
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.regions.services import region_by_code


def _form(db, **overrides):
    region = region_by_code(db.session, "KZ-75")
    data = {
        "full_name": "Асель Нурланова",
        "iin": make_iin(),
        "region_id": region.id,
        "district_id": region.districts[0].id,
        "phone": "+7 701 234 56 78",
        "email": "asel@example.kz",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "consent": "y",
    }
    data.update(overrides)
    return data


def _count(db):
    return db.session.scalar(select(func.count()).select_from(User))


def test_register_creates_account_signs_in_and_hides_the_iin(client, db):
    data = _form(db)
    response = post_form(client, "/register", data)
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "asel@example.kz"))
    assert user.birth_year == 1990 and user.sex == "M"
    assert user.phone == "+77012345678"
    # The IIN is stored only as a keyed hash.
    assert data["iin"] not in user.iin_hash
    assert len(user.iin_hash) == 64
    assert user.password_hash.startswith("$argon2id$")
    assert client.get("/profile").status_code == 200


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("iin", "12345678901", "exactly 12 digits"),
        ("iin", "1234567890123", "exactly 12 digits"),
        ("iin", "871008401428", "check digit"),
        ("iin", "８７１００８４０１４２７", "only the digits"),
        ("iin", "871332401427", "real birth date"),
        ("password", "short", "at least 8"),
        ("password", "password123", "too common"),
        ("phone", "12345", "+7 and 10 digits"),
        ("email", "not-an-email", "valid e-mail"),
        ("full_name", "x" * 201, "longer than 200"),
        ("full_name", "bad\x00name", "not allowed"),
    ],
)
def test_bad_input_rerenders_with_a_message_and_writes_nothing(client, db, field, value, message):
    before = _count(db)
    data = _form(db, **{field: value})
    if field == "password":
        data["confirm"] = value
    response = post_form(client, "/register", data, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count(db) == before


def test_duplicate_iin_is_refused_without_revealing_the_other_account(client, db):
    other = make_user(email="first@example.kz", full_name="Первый Житель")
    response = post_form(
        client, "/register", _form(db, iin=other.iin), headers={"Accept-Language": "en"}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "reset your password" in body and "akimat" in body
    assert "with this IIN" not in body
    assert "first@example.kz" not in body and "Первый" not in body
    assert _count(db) == 1


def test_duplicate_iin_and_duplicate_email_get_the_same_answer(client, db):
    other = make_user(email="first@example.kz")
    by_iin = post_form(client, "/register", _form(db, iin=other.iin))
    by_email = post_form(client, "/register", _form(db, email="first@example.kz"))

    def errors(response):
        text = response.get_data(as_text=True)
        return re.findall(r'class="error-summary"[^>]*>(.*?)</div>', text, re.S)

    assert by_iin.status_code == by_email.status_code == 422
    assert errors(by_iin) and errors(by_iin) == errors(by_email)


def test_duplicate_email_is_refused(client, db):
    make_user(email="taken@example.kz")
    response = post_form(client, "/register", _form(db, email="TAKEN@example.kz"))
    assert response.status_code == 422
    assert _count(db) == 1


def test_district_must_belong_to_the_region(client, db):
    astana = region_by_code(db.session, "KZ-71")
    almaty = region_by_code(db.session, "KZ-75")
    response = post_form(
        client,
        "/register",
        _form(db, region_id=astana.id, district_id=almaty.districts[0].id),
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert "not in the chosen region" in response.get_data(as_text=True)
    assert _count(db) == 0


def test_invalid_utf8_body_is_a_clear_error_not_a_crash(client, db):
    response = client.post(
        "/register",
        data=b"full_name=%FF%FE&iin=\xff\xfe",
        content_type="application/x-www-form-urlencoded",
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 400
    assert "not valid UTF-8" in response.get_data(as_text=True)
    assert _count(db) == 0


def test_register_verifies_at_once_when_the_iin_is_in_the_register(app, client, db):
    from portal.accounts import services
    from portal.accounts.models import iin_key

    staff = make_user(role="staff", email="staff@example.kz")
    iin = make_iin()
    services.import_register(
        db.session, staff, region_by_code(db.session, "KZ-75"), [iin], iin_key()
    )
    db.session.commit()
    post_form(client, "/register", _form(db, iin=iin))
    user = db.session.scalar(select(User).where(User.email == "asel@example.kz"))
    assert user.verified_via == "register"
