"""Bad input by class: every case must get a 4xx with a clear message and write nothing.

Each class is generated from the application itself (every `<int:…>` route, every text field
of the forms below, every query argument the pages read), so a new route or field is covered
without a new test. "Nothing written" is a count of the rows of every table, before and after.
"""

import io

import pytest
from consult_helpers import make_comment, make_draft, publish
from hardening_helpers import new_project, row_counts
from helpers import csrf_token, make_user, new_cycle, post_form

from portal.extensions import db as _db
from portal.regions.services import region_by_code

BAD_CHARACTER = "This field contains characters that are not allowed."
BAD_ADDRESS = "The address contains characters that are not allowed."
EN = {"Accept-Language": "en"}


def text_of(response, client):
    """The page the user ends on: the response itself, or where its redirect leads."""
    if response.status_code in (302, 303):
        return client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    return response.get_data(as_text=True)


# Ids beyond the integer range -------------------------------------------------------------

HUGE_IDS = [2**31, 2**63, 10**40]


def _int_rules(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        names = [
            name
            for name, conv in rule._converters.items()
            if type(conv).__name__.endswith("IntConverter")
        ]
        if names:
            method = "GET" if "GET" in rule.methods else "POST"
            yield rule, names, method


def _int_route_cases():
    from portal import create_app

    app = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    cases = []
    for rule, names, method in _int_rules(app):
        for value in HUGE_IDS:
            path = rule.rule
            for name in names:
                path = path.replace(f"<int:{name}>", str(value))
            path = path.replace("<action>", "publish")
            cases.append(pytest.param(method, path, id=f"{method} {path}"))
    return cases


@pytest.mark.parametrize(("method", "path"), _int_route_cases())
def test_ids_beyond_the_integer_range_are_not_found(app, db, as_role, method, path):
    client = as_role("admin")
    before = row_counts()
    if method == "GET":
        response = client.get(path, headers=EN)
    else:
        response = client.post(
            path, data={"csrf_token": csrf_token(client, "/profile")}, headers=EN
        )
    assert response.status_code == 404, response.get_data(as_text=True)[:300]
    assert "Page not found" in response.get_data(as_text=True) or "Not found" in response.get_data(
        as_text=True
    )
    assert row_counts() == before


def test_the_largest_id_still_answers_normally(db, as_role):
    client = as_role("admin")
    assert client.get(f"/budget/{2**31 - 1}").status_code == 404
    assert client.get(f"/api/v1/drafts/{2**31 - 1}").status_code == 404


# Redirect targets after sign-in and language switch ---------------------------------------

BAD_TARGETS = [
    "//evil.example",
    "/\t/evil.example",
    "/\r\nSet-Cookie: x=1",
    "/\nLocation: http://evil.example",
    "/\x00",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    " //evil.example",
    "/\x7f",
    "/\u0085next",
    "evil.example",
]


@pytest.mark.parametrize("target", BAD_TARGETS)
def test_sign_in_never_redirects_off_site(db, client, target):
    user = make_user()
    before = row_counts()
    response = post_form(
        client,
        "/login?" + _query({"next": target}),
        {"email": user.email, "password": "correct-horse-battery"},
    )
    location = response.headers.get("Location", "")
    if response.status_code == 400:
        # Refused before anything happened: the link itself was bad.
        assert BAD_ADDRESS in response.get_data(as_text=True)
        assert row_counts() == before
    else:
        assert response.status_code == 302 and location == "/profile"


@pytest.mark.parametrize("target", BAD_TARGETS)
def test_language_switch_never_redirects_off_site(db, client, target):
    before = row_counts()
    response = post_form(client, "/language", {"lang": "ru", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert row_counts() == before


def test_language_switch_keeps_a_local_target(db, client):
    response = post_form(client, "/language", {"lang": "ru", "next": "/budget/?page=2"})
    assert response.headers["Location"] == "/budget/?page=2"


def _query(params):
    from urllib.parse import urlencode

    return urlencode(params)


# Control characters in query arguments ----------------------------------------------------

QUERY_URLS = [
    ("resident", "/budget/?region={}"),
    ("resident", "/budget/receipt?code={}"),
    ("anonymous", "/api/v1/cycles?region={}"),
    ("anonymous", "/api/v1/drafts?region={}"),
    ("anonymous", "/api/v1/cycles?page={}"),
    ("admin", "/staff/residents?region={}"),
    ("admin", "/moderation/?region={}"),
    ("admin", "/staff/?region={}"),
    ("anonymous", "/login?next={}"),
    ("anonymous", "/consultations/?q={}"),
]
CONTROL_VALUES = ["KZ-75%00", "%1b[31m", "a%7Fb"]


@pytest.mark.parametrize("value", CONTROL_VALUES)
@pytest.mark.parametrize(("role", "url"), QUERY_URLS)
def test_control_characters_in_query_arguments(db, as_role, role, url, value):
    client = as_role(role)
    before = row_counts()
    response = client.get(url.format(value), headers=EN)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert BAD_ADDRESS in body
    if url.startswith("/api/"):
        assert response.json["error"]["code"] == 400
        assert response.headers["Cache-Control"] == "no-store"
    assert row_counts() == before


def test_ordinary_query_arguments_still_work(db, as_role):
    client = as_role("admin")
    assert client.get("/budget/?region=KZ-75").status_code == 200
    assert client.get("/api/v1/cycles?region=KZ-75").status_code == 200


# Control characters in every text field ---------------------------------------------------

NUL, BACKSPACE, ESCAPE = "\x00", "\x08", "\x1b"


@pytest.fixture
def scene(db):
    """One of everything the staff and resident forms act on, in Almaty."""
    staff = make_user(role="staff")
    moderator = make_user(role="moderator")
    resident = make_user()
    proposals_cycle = new_cycle("proposals")
    funded_cycle = new_cycle("implementation")
    funded = new_project(funded_cycle, 100_000, funded=True)
    submitted = new_project(proposals_cycle, 100_000, status="submitted")
    open_draft = make_draft(staff=staff)
    closed_for_edit = make_draft(staff=staff, open_it=False)
    comment = publish(make_comment(open_draft))
    pending = make_comment(open_draft)
    region = region_by_code(db.session, "KZ-75")
    return {
        "staff": staff,
        "moderator": moderator,
        "resident": resident,
        "region": region,
        "proposals_cycle": proposals_cycle,
        "funded": funded,
        "submitted": submitted,
        "draft": open_draft,
        "unpublished": closed_for_edit,
        "comment": comment,
        "pending": pending,
    }


def _cycle_form(s):
    return {
        "region_id": s["region"].id,
        "district_id": 0,
        "title_kk": "Бюджет",
        "title_ru": "Бюджет",
        "title_en": "Budget",
        "summary_kk": "Қысқаша",
        "summary_ru": "Кратко",
        "summary_en": "Short",
        "budget": "150 000 000",
        "cost_cap": "",
        "ballot_rule": "knapsack",
        "winner_rule": "greedy",
        "proposals_open_at": "2027-03-01T09:00",
        "review_open_at": "2027-04-01T09:00",
        "voting_open_at": "2027-05-01T09:00",
        "voting_close_at": "2027-05-15T21:00",
    }


def _proposal_form(s):
    return {
        "title": "Benches",
        "description": "<p>Ten benches</p>",
        "category": "greenery",
        "district_id": 0,
        "address": "Central park",
        "estimated_cost": "1 200 000",
    }


def _draft_form(s):
    from consult_helpers import DRAFT_TEXT

    return {
        "title_kk": "Жоба",
        "title_ru": "Проект",
        "title_en": "Draft",
        "summary_kk": "Қысқаша",
        "summary_ru": "Кратко",
        "summary_en": "Short",
        "agency": "Akimat",
        "kind": "law",
        "scope": "KZ-75",
        "explanatory_note": "Note",
        "text": DRAFT_TEXT,
    }


def _comment_form(s):
    return {
        "article_id": str(s["draft"].articles[0].id),
        "stance": "object",
        "text": "A comment",
        "proposed_wording": "",
    }


# form name -> (who posts it, its URL, valid data, the text fields to poison)
FORMS = {
    "new cycle": (
        "staff",
        lambda s: "/budget/new",
        _cycle_form,
        ["title_kk", "title_ru", "title_en", "summary_kk", "summary_ru", "summary_en", "budget"],
    ),
    "edit cycle": (
        "staff",
        lambda s: f"/budget/{s['proposals_cycle'].id}/edit",
        _cycle_form,
        ["title_en", "summary_en"],
    ),
    "new proposal": (
        "resident",
        lambda s: f"/budget/{s['proposals_cycle'].id}/proposals/new",
        _proposal_form,
        ["title", "description", "address", "estimated_cost"],
    ),
    "review": (
        "staff",
        lambda s: f"/budget/proposals/{s['submitted'].id}/review",
        lambda s: {"decision": "infeasible", "reason": "Too costly", "final_cost": ""},
        ["reason", "final_cost"],
    ),
    "implementation update": (
        "staff",
        lambda s: f"/budget/proposals/{s['funded'].id}/updates",
        lambda s: {"status": "in_progress", "progress": "50", "note": "Works began"},
        ["note"],
    ),
    "new draft": (
        "staff",
        lambda s: "/consultations/new",
        _draft_form,
        [
            "title_kk",
            "title_ru",
            "title_en",
            "summary_kk",
            "summary_ru",
            "summary_en",
            "agency",
            "explanatory_note",
            "text",
        ],
    ),
    "edit article": (
        "staff",
        lambda s: (
            f"/consultations/{s['unpublished'].id}/articles/{s['unpublished'].articles[0].id}/edit"
        ),
        lambda s: {"number": "1", "title": "Terms", "text": "Text of the article."},
        ["number", "title", "text"],
    ),
    "extend": (
        "staff",
        lambda s: f"/consultations/{s['draft'].id}/extend",
        lambda s: {"working_days": "5", "reason": "Many residents asked for more time to read it."},
        ["reason"],
    ),
    "answer": (
        "staff",
        lambda s: f"/consultations/comments/{s['comment'].id}/answer",
        lambda s: {
            "decision": "not_accepted",
            "justification": "We do not agree.",
            "new_wording": "",
        },
        ["justification", "new_wording"],
    ),
    "comment": (
        "resident",
        lambda s: f"/consultations/{s['draft'].id}/comments",
        _comment_form,
        ["text", "proposed_wording"],
    ),
    "reject": (
        "moderator",
        lambda s: f"/moderation/comments/{s['pending'].id}/reject",
        lambda s: {"reason": "spam"},
        ["reason"],
    ),
    "topic": (
        "moderator",
        lambda s: f"/moderation/comments/{s['comment'].id}/topic",
        lambda s: {"topic": "Parks"},
        ["topic"],
    ),
}


def _form_cases():
    cases = []
    for name, (_who, _url, _data, fields) in FORMS.items():
        for field in fields:
            for bad in (NUL, ESCAPE):
                cases.append(pytest.param(name, field, bad, id=f"{name}-{field}-{ord(bad):#04x}"))
    # Single-line fields refuse a backspace or tab too; multi-line fields allow tab/CR/LF only.
    cases.append(pytest.param("new cycle", "title_en", "\t", id="new cycle-title_en-tab"))
    cases.append(pytest.param("new proposal", "address", BACKSPACE, id="new proposal-address-0x08"))
    return cases


def _login_as(app, user):
    from helpers import login

    client = app.test_client()
    login(client, user)
    return client


@pytest.mark.parametrize(("form", "field", "bad"), _form_cases())
def test_control_characters_in_text_fields(app, db, scene, form, field, bad):
    who, url_of, data_of, _fields = FORMS[form]
    client = _login_as(app, scene[who])
    url = url_of(scene)
    data = data_of(scene)
    data[field] = (data.get(field) or "text") + bad + " more"
    before = row_counts()
    response = post_form(client, url, data, token_from="/profile", headers=EN)
    assert response.status_code != 500
    page = text_of(response, client)
    assert response.status_code in (303, 302) or 400 <= response.status_code < 500, (
        response.status_code
    )
    expected = (BAD_CHARACTER, "could not be understood", "A topic is a short plain-text label")
    assert any(text in page for text in expected), page[:3000]
    assert row_counts() == before


@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_valid_form_is_accepted(app, db, scene, form):
    """The control: the same data without the bad character does get through."""
    who, url_of, data_of, _fields = FORMS[form]
    client = _login_as(app, scene[who])
    before = row_counts()
    response = post_form(client, url_of(scene), data_of(scene), token_from="/profile", headers=EN)
    assert response.status_code in (200, 302, 303), response.get_data(as_text=True)[:2000]
    page = text_of(response, client)
    assert BAD_CHARACTER not in page
    assert row_counts() != before or form in ("edit cycle", "edit article", "topic", "answer")


@pytest.mark.parametrize("bad", [NUL, ESCAPE, "\x7f"])
@pytest.mark.parametrize("field", ["full_name", "email", "phone"])
def test_registration_refuses_control_characters(db, client, field, bad):
    from helpers import make_iin

    data = {
        "full_name": "Aigerim Test",
        "iin": make_iin(),
        "region_id": region_by_code(_db.session, "KZ-75").id,
        "district_id": 0,
        "phone": "+77011234567",
        "email": "new@example.kz",
        "password": "a-long-enough-password",
        "confirm": "a-long-enough-password",
    }
    data[field] = data[field][:3] + bad + data[field][3:]
    before = row_counts()
    response = post_form(client, "/register", data, token_from="/register", headers=EN)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert BAD_CHARACTER in body or "valid e-mail" in body or "+7 and 10 digits" in body
    assert row_counts() == before


@pytest.mark.parametrize("bad", [NUL, ESCAPE, "\x0b"])
def test_sign_in_with_control_characters_is_refused(db, client, bad):
    user = make_user()
    before = row_counts()
    response = post_form(
        client,
        "/login",
        {"email": user.email + bad, "password": "correct-horse-battery"},
        headers=EN,
    )
    assert response.status_code == 422 and BAD_CHARACTER in response.get_data(as_text=True)
    assert row_counts() == before


# Services refuse the same, whatever calls them --------------------------------------------


def _service_cases():
    from portal.budgeting import services as budget
    from portal.consultations import services as consult

    def cycle(s, bad):
        values = {k: v for k, v in budget_cycle_values().items()}
        values["title_en"] += bad
        budget.create_cycle(_db.session, s["staff"], s["region"], **values)

    def proposal(s, bad):
        budget.submit_proposal(
            _db.session,
            s["resident"],
            s["proposals_cycle"],
            title="Trees" + bad,
            description="<p>x</p>",
            category="greenery",
            estimated_cost=1000,
        )

    def review(s, bad):
        budget.review_proposal(
            _db.session, s["staff"], s["submitted"], feasible=False, reason="No" + bad
        )

    def update(s, bad):
        budget.add_update(
            _db.session, s["staff"], s["funded"], status="in_progress", progress=10, note="n" + bad
        )

    def draft(s, bad):
        from consult_helpers import DRAFT_TEXT

        consult.create_draft(
            _db.session,
            s["staff"],
            titles={"en": "T"},
            agency="A" + bad,
            kind="law",
            region=s["region"],
            text=DRAFT_TEXT,
        )

    def draft_text(s, bad):
        from consult_helpers import DRAFT_TEXT

        consult.create_draft(
            _db.session,
            s["staff"],
            titles={"en": "T"},
            agency="A",
            kind="law",
            region=s["region"],
            text=DRAFT_TEXT.encode() + bad.encode(),
        )

    def article(s, bad):
        art = s["unpublished"].articles[0]
        consult.correct_article(_db.session, s["staff"], art, number="1", title="T", text="x" + bad)

    def extend(s, bad):
        consult.extend_draft(
            _db.session,
            s["staff"],
            s["draft"],
            working_days=3,
            reason="Residents asked for more time" + bad,
        )

    def answer(s, bad):
        consult.answer_comment(
            _db.session, s["staff"], s["comment"], decision="rejected", justification="No" + bad
        )

    def comment(s, bad):
        consult.add_comment(_db.session, s["resident"], s["draft"], stance="object", text="x" + bad)

    def moderate(s, bad):
        from portal.moderation import services as moderation

        moderation.moderate(_db.session, s["moderator"], [s["pending"]], "reject", "spam" + bad)

    def register(s, bad):
        from helpers import make_iin

        from portal.accounts import services as accounts

        accounts.register(
            _db.session,
            full_name="Name" + bad,
            iin=make_iin(),
            email="x@example.kz",
            phone="+77011234567",
            password="long-password-1",
            region=s["region"],
            district=None,
            key=b"k",
        )

    return {
        "cycle": cycle,
        "proposal": proposal,
        "review": review,
        "update": update,
        "draft": draft,
        "draft_text": draft_text,
        "article": article,
        "extend": extend,
        "answer": answer,
        "comment": comment,
        "moderate": moderate,
        "register": register,
    }


def budget_cycle_values():
    import datetime as dt

    start = dt.datetime(2027, 3, 1)
    return {
        "title_kk": "Б",
        "title_ru": "Б",
        "title_en": "B",
        "budget": 1000,
        "ballot_rule": "knapsack",
        "winner_rule": "greedy",
        "proposals_open_at": start,
        "review_open_at": start + dt.timedelta(days=30),
        "voting_open_at": start + dt.timedelta(days=60),
        "voting_close_at": start + dt.timedelta(days=70),
    }


SERVICE_CALLS = _service_cases()


@pytest.mark.parametrize("bad", [NUL, ESCAPE])
@pytest.mark.parametrize("call", sorted(SERVICE_CALLS))
def test_services_refuse_control_characters(db, scene, call, bad):
    from portal.accounts.services import AccountError
    from portal.budgeting.services import BudgetError
    from portal.consultations.services import ConsultationError

    before = row_counts()
    with pytest.raises((BudgetError, ConsultationError, AccountError)) as caught:
        SERVICE_CALLS[call](scene, bad)
    assert caught.value.code == "control_chars"
    _db.session.rollback()
    assert row_counts() == before


# Bodies, caches and the OpenAPI document --------------------------------------------------


def test_chunked_body_over_the_limit_is_refused(app, db, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    before = row_counts()
    response = client.post(
        "/login",
        input_stream=io.BytesIO(b"email=" + b"a" * (limit + 10)),
        content_type="application/x-www-form-urlencoded",
        headers={"Transfer-Encoding": "chunked", **EN},
        # As a WSGI server passes a chunked body: no Content-Length, the stream ends itself.
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )
    assert response.status_code == 413
    assert "The upload is too large" in response.get_data(as_text=True)
    assert row_counts() == before


def test_chunked_body_under_the_limit_is_read_whole(app, db, client):
    user = make_user()
    token = csrf_token(client)
    body = f"email={user.email}&password=correct-horse-battery&csrf_token={token}".replace(
        "@", "%40"
    )
    response = client.post(
        "/login",
        input_stream=io.BytesIO(body.encode()),
        content_type="application/x-www-form-urlencoded",
        headers={"Transfer-Encoding": "chunked"},
        # As a WSGI server passes a chunked body: no Content-Length, the stream ends itself.
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/profile"


@pytest.mark.parametrize(
    "url", ["/api/v1/cycles/99999", "/api/v1/cycles?page=0", "/api/v1/nothing"]
)
def test_api_errors_are_not_cached(db, client, url):
    response = client.get(url)
    assert 400 <= response.status_code < 500
    assert response.headers["Cache-Control"] == "no-store"
    assert "public" not in response.headers["Cache-Control"]


def test_api_server_errors_are_not_cached(app, db, client, monkeypatch):
    from portal.exports import api

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api.openapi, "document", broken)
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 500
    assert response.headers["Cache-Control"] == "no-store"
    assert "boom" not in response.get_data(as_text=True)


def test_api_answers_are_cached_publicly(db, client):
    assert client.get("/api/v1/cycles").headers["Cache-Control"] == "public, max-age=60"


def test_openapi_does_not_copy_the_host_header(db, client):
    document = client.get("/api/v1/openapi.json", headers={"Host": "evil.example"}).json
    assert document["servers"] == [{"url": "/api/v1"}]
    assert "evil.example" not in str(document)


def test_openapi_uses_the_configured_base_url(app, db, client):
    app.config["API_BASE_URL"] = "https://tynda.kz/api/v1"
    try:
        document = client.get("/api/v1/openapi.json", headers={"Host": "evil.example"}).json
    finally:
        app.config.pop("API_BASE_URL")
    assert document["servers"] == [{"url": "https://tynda.kz/api/v1"}]


# Names ------------------------------------------------------------------------------------


def test_proposal_pages_show_no_names_to_the_public(app, db, as_role):
    author = make_user(full_name="Aigerim Secretname")
    cycle = new_cycle("proposals")
    proposal = new_project(cycle, 1000, status="submitted", author=author)
    for role in ("anonymous", "resident"):
        page = as_role(role).get(f"/budget/proposals/{proposal.id}").get_data(as_text=True)
        assert "Secretname" not in page
    staff_page = as_role("staff").get(f"/budget/proposals/{proposal.id}").get_data(as_text=True)
    assert "Aigerim Secretname" in staff_page


@pytest.mark.parametrize("url", ["/api/v1/cycles", "/budget/", "/login"])
def test_wrong_method_says_which_are_allowed(db, client, url):
    response = client.open(url, method="TRACE")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    "path", ["/budget/photos/a%00b.jpg", "/budget/photos/thumbs/%1b.png", "/api/v1/x%00"]
)
def test_control_characters_in_the_path_are_not_found(db, client, path):
    before = row_counts()
    response = client.get(path, headers=EN)
    assert response.status_code == 404
    assert row_counts() == before
