"""Helpers the tests of every capability share: valid IINs, users, budget cycles, sign-in,
CSRF."""

import itertools
import re
from functools import cache
from pathlib import Path

from babel.support import Translations
from budgeting.budget_schedule import schedule_for

from portal.accounts import services
from portal.accounts.domain import check_digit
from portal.accounts.models import iin_key
from portal.extensions import db
from portal.regions.services import region_by_code

PASSWORD = "correct-horse-battery"
_serials = itertools.count(1)
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def make_iin(serial=None, birth="900101", century_sex=3):
    """A valid IIN with a unique serial (skipping serials whose check digit is impossible)."""
    while True:
        serial = serial if serial is not None else next(_serials)
        body = f"{birth}{century_sex}{serial % 10000:04d}"
        digit = check_digit([int(ch) for ch in body])
        if digit is not None:
            return body + str(digit)
        serial = None


def make_user(
    role="resident",
    region="KZ-75",
    verified=True,
    email=None,
    password=PASSWORD,
    district=None,
    full_name="Test Resident",
    iin=None,
):
    """Create and commit a user (inside the test's rolled-back transaction)."""
    region_obj = region_by_code(db.session, region)
    iin = iin or make_iin()
    user = services.register(
        db.session,
        full_name=full_name,
        iin=iin,
        email=email or f"user{iin}@example.kz",
        phone="+77011234567",
        password=password,
        region=region_obj,
        district=district,
        key=iin_key(),
    )
    if verified:
        services.mark_verified(user, region_obj.id, "staff")
    if role != "resident":
        services.grant_role(db.session, user, role, region_obj if role != "admin" else None)
    db.session.commit()
    user.iin = iin  # for tests only; never stored
    return user


def new_cycle(phase="proposals", region="KZ-75", *, commit=True, **values):
    """Create a budget cycle of `region` (ISO code) whose dates put now in `phase` (one day
    per phase, see budget_schedule), with an Almaty-like default title, budget and rules;
    `values` set any column (dates included). Commits unless commit=False (then flushes).

    The `new_cycle` fixture (tests/conftest.py) is this function in the test's transaction;
    live servers and tests with sessions of their own call it in their app context."""
    from portal.budgeting.models import BudgetCycle

    fields = {
        "title_kk": "Халық бюджеті",
        "title_ru": "Народный бюджет",
        "title_en": "People's budget",
        "budget": 1_000_000,
        "ballot_rule": "knapsack",
        "winner_rule": "greedy",
        **schedule_for(phase),
        **values,
    }
    if "region_id" not in fields:
        fields["region_id"] = region_by_code(db.session, region).id
    cycle = BudgetCycle(**fields)
    db.session.add(cycle)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return cycle


def csrf_token(client, url="/login"):
    response = client.get(url, follow_redirects=True)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def post_form(client, url, data, token_from=None, **kwargs):
    """POST a form with a valid CSRF token taken from a page of the same session."""
    data = dict(data)
    data.setdefault("csrf_token", csrf_token(client, token_from or "/login"))
    return client.post(url, data=data, **kwargs)


def login(client, user, password=PASSWORD):
    response = post_form(client, "/login", {"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def check_permission_matrix(clients, routes):
    """Request every route as every role and return the mismatches.

    clients: role name -> test client (signed in as that role, or "anonymous").
    routes: (method, url, {role: expected status}) triples; a role left out must get 403.
    Returns a list of strings; an empty list means the matrix holds.
    """
    problems = []
    for method, url, expected in routes:
        for role, client in clients.items():
            want = expected.get(role, 403)
            if method == "GET":
                got = client.get(url).status_code
            else:
                got = post_form(client, url, {}).status_code
            if got != want:
                problems.append(f"{method} {url} as {role}: {got}, expected {want}")
    return problems


@cache
def _catalogue(lang):
    directory = Path(__file__).parent.parent / "portal" / "translations"
    return Translations.load(str(directory), [lang])


def translate(lang, message):
    """The catalogue's translation of an English message, as a page in `lang` shows it.

    A message missing from the kk or ru catalogue is an error here: a silent fallback to
    English would let a test pass against an untranslated page.
    """
    if lang == "en":
        return message
    catalogue = _catalogue(lang)
    if message not in getattr(catalogue, "_catalog", {}):
        raise KeyError(f"{message!r} is not in the compiled {lang} catalogue")
    return catalogue.gettext(message)
