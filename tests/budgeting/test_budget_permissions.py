"""Role × route matrix for every budgeting page: who gets the page, who is sent to sign in,
who is refused. Staff of another region ("staff_other") must be refused like residents."""

import budget_fixtures
import helpers
from helpers import check_permission_matrix, make_user

from portal.budgeting import services

# Shared fixtures (a conftest.py here would shadow tests/browser/conftest.py).
make_project = budget_fixtures.make_project

ROLES = ("anonymous", "resident", "moderator", "staff", "admin")


def _expect(default, **overrides):
    """Expected statuses: `default` for every role, then per-role overrides."""
    expected = dict.fromkeys((*ROLES, "staff_other"), default)
    expected.update(overrides)
    return expected


def test_permission_matrix(db, as_role, new_cycle, make_project, monkeypatch):
    # helpers.post_form takes its CSRF token from /login, which signed-in users are
    # redirected away from; take it from a public page that every role can open instead.
    original = helpers.post_form
    monkeypatch.setattr(
        helpers,
        "post_form",
        lambda client, url, data, token_from=None, **kw: original(
            client, url, data, token_from or "/budget/receipt", **kw
        ),
    )
    clients = {role: as_role(role) for role in ROLES}
    clients["staff_other"] = as_role("staff", region="KZ-71")
    resident = clients["resident"].user

    proposing = new_cycle("proposals")
    own = make_project(proposing, 100, status="submitted", author=resident)
    to_withdraw = make_project(proposing, 100, status="submitted", author=resident)
    voting = new_cycle("voting")
    on_ballot = make_project(voting, 100)
    ballot = services.cast_ballot(
        db.session, resident, voting, [on_ballot.id], secret="x", ballot_key="testing-ballot-key"
    )
    closed = new_cycle("results")
    winner = make_project(closed, 100, funded=True, implementation_status="planned")
    services.cast_ballot(
        db.session, make_user(), closed, [winner.id], secret="x", now=closed.voting_open_at
    )
    db.session.commit()

    p, v, r = proposing.id, voting.id, closed.id
    everyone = _expect(200)
    signed_in = _expect(200, anonymous=302)
    region_residents = _expect(200, anonymous=302, staff_other=403)
    staff = _expect(403, anonymous=302, staff=200, admin=200)
    author = _expect(403, anonymous=302, resident=200)

    def staff_post(status):
        return _expect(403, anonymous=302, staff=status, admin=status)

    routes = [
        ("GET", "/budget/", everyone),
        ("GET", "/budget/new", _expect(403, anonymous=302, staff=200, admin=200, staff_other=200)),
        ("GET", f"/budget/{p}/edit", staff),
        ("GET", f"/budget/{p}", everyone),
        ("GET", f"/budget/{p}/proposals", everyone),
        ("GET", f"/budget/{p}/proposals/new", region_residents),
        ("GET", f"/budget/proposals/{own.id}", everyone),
        ("GET", f"/budget/proposals/{own.id}/edit", author),
        ("GET", f"/budget/{p}/review", staff),
        ("GET", "/budget/notifications", signed_in),
        ("GET", f"/budget/{v}/ballot", region_residents),
        ("GET", f"/budget/{v}/ballot/{ballot.id}/receipt", author),
        ("GET", "/budget/receipt", everyone),
        ("GET", f"/budget/{v}/paper", staff),
        ("GET", f"/budget/{v}/counts", _expect(403)),  # admins too
        ("GET", f"/budget/{r}/counts", everyone),
        ("GET", f"/budget/{r}/results", everyone),
        ("GET", f"/budget/{r}/implementation", everyone),
        ("GET", "/budget/photos/missing.png", _expect(404)),
        ("POST", "/budget/new", _expect(403, anonymous=302, staff=422, admin=422, staff_other=422)),
        ("POST", f"/budget/{p}/edit", staff_post(422)),
        ("POST", f"/budget/{p}/phase", staff_post(400)),
        ("POST", f"/budget/{p}/proposals/new", _expect(422, anonymous=302, staff_other=403)),
        ("POST", f"/budget/proposals/{own.id}/edit", _expect(403, anonymous=302, resident=422)),
        (
            "POST",
            f"/budget/proposals/{to_withdraw.id}/withdraw",
            _expect(403, anonymous=302, resident=302),
        ),
        ("POST", f"/budget/proposals/{own.id}/review", staff_post(303)),
        ("POST", f"/budget/{v}/ballot", _expect(422, anonymous=302, staff_other=403)),
        ("POST", f"/budget/{v}/paper", staff_post(422)),
        ("POST", f"/budget/{r}/results/compute", staff_post(302)),
        # Staff publish; the admin's second publish is refused (303 back with a message):
        # a published version never changes.
        ("POST", f"/budget/{r}/results/publish", _expect(403, anonymous=302, staff=302, admin=303)),
        ("POST", f"/budget/proposals/{winner.id}/updates", staff_post(303)),
    ]
    assert check_permission_matrix(clients, routes) == []
