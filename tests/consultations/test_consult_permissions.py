"""Role × route matrix for every consultation and moderation route, plus region checks."""

import sys
import types

from consult_helpers import exact_copies, make_comment, make_draft, publish
from helpers import check_permission_matrix, post_form

from portal.consultations.models import Comment
from portal.moderation import services as moderation

ROLES = ("anonymous", "resident", "moderator", "staff", "admin")
EVERYONE = dict.fromkeys(ROLES, 200)
SIGNED_IN_REDIRECT = dict.fromkeys(ROLES, 302)
STAFF_PAGE = {"anonymous": 302, "staff": 200, "admin": 200}
MODERATOR_PAGE = {"anonymous": 302, "moderator": 200, "admin": 200}


def test_permission_matrix_covers_every_route(app, as_role, db, monkeypatch):
    fake = types.ModuleType("portal.moderation.clustering")
    fake.cluster = exact_copies
    monkeypatch.setitem(sys.modules, "portal.moderation.clustering", fake)
    draft = make_draft()
    article = draft.articles[0]
    comment = make_comment(draft, text="Первый")
    shown = publish(make_comment(draft, text="Второй"))
    for _ in range(2):
        make_comment(draft, text="Копия")
    (campaign,) = moderation.cluster_draft(db.session, None, draft, cluster_fn=exact_copies)
    db.session.commit()
    clients = {role: as_role(role) for role in ROLES}
    d, a, c = draft.id, article.id, comment.id
    routes = [
        ("GET", "/consultations/", EVERYONE),
        ("GET", f"/consultations/{d}", EVERYONE),
        ("GET", f"/consultations/{d}/articles/{a}", EVERYONE),
        ("GET", f"/consultations/{d}/summary", EVERYONE),
        ("GET", f"/consultations/{d}/summary.csv", EVERYONE),
        ("GET", f"/consultations/{d}/summary.xlsx", EVERYONE),
        ("GET", "/consultations/my-comments", {**EVERYONE, "anonymous": 302}),
        ("GET", "/consultations/new", STAFF_PAGE),
        ("GET", f"/consultations/{d}/manage", STAFF_PAGE),
        ("GET", f"/consultations/{d}/articles/{a}/edit", STAFF_PAGE),
        ("GET", f"/consultations/{d}/answers", STAFF_PAGE),
        ("GET", "/consultations/overdue", STAFF_PAGE),
        ("GET", "/moderation/", MODERATOR_PAGE),
        ("GET", f"/moderation/drafts/{d}/campaigns", MODERATOR_PAGE),
        ("POST", f"/consultations/{d}/comments", SIGNED_IN_REDIRECT),
        ("POST", f"/consultations/{d}/vote", SIGNED_IN_REDIRECT),
        # The third report (staff) hides the comment, so the admin's report finds nothing.
        (
            "POST",
            f"/consultations/comments/{shown.id}/report",
            {**SIGNED_IN_REDIRECT, "admin": 404},
        ),
        ("POST", "/consultations/new", {"anonymous": 302, "staff": 422, "admin": 422}),
        (
            "POST",
            f"/consultations/{d}/articles/{a}/edit",
            {"anonymous": 302, "staff": 422, "admin": 422},
        ),
        ("POST", f"/consultations/{d}/open", {"anonymous": 302, "staff": 302, "admin": 302}),
        ("POST", f"/consultations/{d}/extend", {"anonymous": 302, "staff": 302, "admin": 302}),
        (
            "POST",
            f"/consultations/comments/{shown.id}/answer",
            {"anonymous": 302, "staff": 302, "admin": 302},
        ),
        (
            "POST",
            f"/moderation/comments/{c}/topic",
            {"anonymous": 302, "moderator": 302, "admin": 302},
        ),
        (
            "POST",
            f"/moderation/comments/{c}/reject",
            {"anonymous": 302, "moderator": 302, "admin": 302},
        ),
        (
            "POST",
            f"/moderation/comments/{c}/publish",
            {"anonymous": 302, "moderator": 302, "admin": 302},
        ),
        (
            "POST",
            f"/moderation/comments/{c}/restore",
            {"anonymous": 302, "moderator": 302, "admin": 302},
        ),
        ("POST", "/moderation/bulk", {"anonymous": 302, "moderator": 400, "admin": 400}),
        ("POST", "/moderation/shortcuts", {"anonymous": 302, "moderator": 302, "admin": 302}),
        (
            "POST",
            f"/moderation/campaigns/{campaign.id}/publish",
            {"anonymous": 302, "moderator": 302, "admin": 302},
        ),
        (
            "POST",
            f"/moderation/campaigns/{campaign.id}/reject",
            {"anonymous": 302, "moderator": 302, "admin": 302},
        ),
        (
            "POST",
            f"/moderation/campaigns/{campaign.id}/restore",
            {"anonymous": 302, "moderator": 302, "admin": 302},
        ),
        # Re-clustering replaces the campaigns (new ids on PostgreSQL): after the campaign routes.
        (
            "POST",
            f"/moderation/drafts/{d}/cluster",
            {"anonymous": 302, "moderator": 302, "admin": 302},
        ),
        ("POST", f"/consultations/{d}/close", {"anonymous": 302, "staff": 302, "admin": 302}),
        (
            "POST",
            f"/consultations/{d}/publish-report",
            {"anonymous": 302, "staff": 302, "admin": 302},
        ),
    ]
    rules = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/consultations", "/moderation"))
    }
    assert len(rules) == 28  # every rule above; a new route must join the matrix
    assert check_permission_matrix(clients, routes) == []


def test_moderator_of_region_b_cannot_act_on_region_a(as_role, db):
    comment = make_comment(make_draft())
    astana = as_role("moderator", region="KZ-71")
    assert "Копия" not in astana.get("/moderation/").get_data(as_text=True)
    for action in ("publish", "reject"):
        response = post_form(
            astana, f"/moderation/comments/{comment.id}/{action}", {"reason": "spam"}
        )
        assert response.status_code == 403
    response = post_form(
        astana, "/moderation/bulk", {"action": "publish", "ids": [str(comment.id)]}
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status == "pending"


def test_staff_of_region_b_cannot_manage_region_a(as_role, db):
    draft = make_draft(open_it=False)
    astana = as_role("staff", region="KZ-71")
    assert astana.get(f"/consultations/{draft.id}").status_code == 404
    response = post_form(astana, f"/consultations/{draft.id}/open", {"working_days": "10"})
    assert response.status_code == 404
    db.session.expire_all()
    assert draft.status == "draft"


def test_resident_gets_403_on_moderator_urls(as_role, db):
    comment = make_comment(make_draft())
    resident = as_role("resident")
    assert resident.get("/moderation/").status_code == 403
    response = post_form(resident, f"/moderation/comments/{comment.id}/publish", {})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status == "pending"
