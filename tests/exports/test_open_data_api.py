"""The open-data API: real responses validate against /api/v1/openapi.json (JSON Schema
2020-12, the OpenAPI 3.1 dialect), pagination bounds, no personal data, JSON errors."""

import re

import pytest
from export_checks import personal_data
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from portal.accounts.models import User

DOC_URI = "urn:tynda:openapi"


@pytest.fixture
def spec(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    return document


def _validator(spec, path, status="200"):
    registry = Registry().with_resource(DOC_URI, Resource(contents=spec, specification=DRAFT202012))
    pointer = "/".join(
        ["#", "paths", path.replace("~", "~0").replace("/", "~1"), "get", "responses", status]
    )
    operation = spec["paths"][path]["get"]["responses"][status]
    assert "application/json" in operation["content"]
    schema_pointer = f"{pointer}/content/application~1json/schema"
    return Draft202012Validator({"$ref": DOC_URI + schema_pointer}, registry=registry)


def _check(client, spec, template, url, status="200"):
    response = client.get(url)
    assert str(response.status_code) == status, response.get_data(as_text=True)
    errors = list(_validator(spec, template, status).iter_errors(response.get_json()))
    assert not errors, [e.message for e in errors]
    return response.get_json()


def test_every_route_is_documented(app, spec):
    routes = {
        re.sub(r"<int:(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and not rule.rule.endswith("openapi.json")
    }
    assert routes == set(spec["paths"])
    Draft202012Validator.check_schema({"$defs": spec["components"]["schemas"]})


def test_responses_match_the_document(db, client, spec, closed_cycle, draft):
    cid, did = closed_cycle.id, draft.id
    cycles = _check(client, spec, "/cycles", "/api/v1/cycles?per_page=100")
    assert cid in {c["id"] for c in cycles["items"]}
    _check(client, spec, "/cycles", "/api/v1/cycles?region=KZ-75")
    _check(client, spec, "/cycles/{cycle_id}", f"/api/v1/cycles/{cid}")
    projects = _check(client, spec, "/cycles/{cycle_id}/projects", f"/api/v1/cycles/{cid}/projects")
    assert projects["total"] == 4
    assert {p["votes"] for p in projects["items"] if p["status"] == "feasible"} == {2, 3}
    results = _check(client, spec, "/cycles/{cycle_id}/results", f"/api/v1/cycles/{cid}/results")
    assert results["ballots"] == 5 and results["rule"] == "greedy"
    from portal.budgeting.publishing import published_result

    data = published_result(db.session, closed_cycle).data
    votes = {int(k): n for k, n in data["votes"].items()}
    ranked = sorted((int(k) for k in data["costs"]), key=lambda i: (-votes.get(i, 0), i))
    assert [
        (p["project_id"], p["cost"], p["votes"], p["selected"]) for p in results["projects"]
    ] == [(i, data["costs"][str(i)], votes.get(i, 0), i in data["selected"]) for i in ranked]
    _check(client, spec, "/drafts", "/api/v1/drafts")
    _check(client, spec, "/drafts/{draft_id}", f"/api/v1/drafts/{did}")
    articles = _check(client, spec, "/drafts/{draft_id}/articles", f"/api/v1/drafts/{did}/articles")
    assert articles["total"] == 3
    comments = _check(client, spec, "/drafts/{draft_id}/comments", f"/api/v1/drafts/{did}/comments")
    assert comments["total"] == 2  # published only
    assert any(c["answer"] for c in comments["items"])
    summary = _check(client, spec, "/drafts/{draft_id}/summary", f"/api/v1/drafts/{did}/summary")
    assert summary["total"] == 2
    one = _check(
        client,
        spec,
        "/drafts/{draft_id}/summary",
        f"/api/v1/drafts/{did}/summary?per_page=1&page=2",
    )
    assert len(one["items"]) == 1 and one["pages"] == 2
    _check(client, spec, "/cycles/{cycle_id}", "/api/v1/cycles/999999", status="404")
    _check(client, spec, "/cycles", "/api/v1/cycles?per_page=0", status="400")


def test_no_personal_data(db, client, closed_cycle, draft):
    body = ""
    for url in (
        f"/api/v1/cycles/{closed_cycle.id}/projects",
        f"/api/v1/cycles/{closed_cycle.id}/results",
        f"/api/v1/drafts/{draft.id}/comments",
        f"/api/v1/drafts/{draft.id}/summary",
    ):
        body += client.get(url).get_data(as_text=True)
    for secret in personal_data(db.session.scalars(select(User)).all()):
        assert secret not in body
    assert "+77019998877" not in body  # the rejected comment is not public


@pytest.mark.parametrize(
    "query",
    ["per_page=0", "per_page=-1", "per_page=1000000000", "per_page=abc", "page=0", "page=-1",
     "page=1000000000", "page=x", "page=1.5", "per_page=%D9%A3"],
)  # fmt: skip
def test_bad_page_parameters(client, query):
    response = client.get(f"/api/v1/cycles?{query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == 400 and "whole number" in error["message"]


@pytest.mark.parametrize(
    "url",
    ["/api/v1/cycles/abc", "/api/v1/cycles/-1", "/api/v1/drafts/1e3", "/api/v1/drafts/x/comments"],
)
def test_non_numeric_ids_are_json_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == 404


def test_unpublished_things_are_not_public(db, client, voting_cycle, draft):
    assert client.get(f"/api/v1/cycles/{voting_cycle.id}/results").status_code == 404
    projects = client.get(f"/api/v1/cycles/{voting_cycle.id}/projects").get_json()
    assert all(p["votes"] is None for p in projects["items"])  # counts stay hidden
    from consult_helpers import make_draft

    hidden = make_draft(open_it=False)
    assert client.get(f"/api/v1/drafts/{hidden.id}").status_code == 404
    assert hidden.id not in {d["id"] for d in client.get("/api/v1/drafts").get_json()["items"]}
    assert client.get(f"/api/v1/drafts/{draft.id}/comments?article=x").status_code == 400


def _follow(client, spec, template, url, field="items"):
    """Items of every page, following `next` from `url`; each answer validates."""
    items, pages = [], 0
    while url:
        answer = _check(client, spec, template, url.removeprefix("http://localhost"))
        items.extend(answer[field])
        url = answer["next"]
        pages += 1
        assert pages < 50
    return items, pages


def test_cursor_pages_match_the_numbered_pages(db, client, spec, closed_cycle, draft):
    from consult_helpers import make_comment, publish

    for article in (None, 2, 1, 3, None):
        publish(make_comment(draft, text=f"Cursor comment on {article}", article=article))
    did, cid = draft.id, closed_cycle.id
    for template, url, key in (
        ("/drafts/{draft_id}/comments", f"/api/v1/drafts/{did}/comments", "id"),
        ("/drafts/{draft_id}/summary", f"/api/v1/drafts/{did}/summary", "comment_id"),
        ("/drafts/{draft_id}/articles", f"/api/v1/drafts/{did}/articles", "id"),
        ("/cycles/{cycle_id}/projects", f"/api/v1/cycles/{cid}/projects", "id"),
        ("/cycles", "/api/v1/cycles", "id"),
    ):
        whole = _check(client, spec, template, url + "?per_page=100")
        assert whole["next"] is None and whole["next_cursor"] is None
        by_cursor, pages = _follow(client, spec, template, url + "?per_page=2")
        assert [i[key] for i in by_cursor] == [i[key] for i in whole["items"]], template
        assert pages == max(1, -(-whole["total"] // 2))
        first = _check(client, spec, template, url + "?per_page=2")
        if first["next_cursor"]:
            # The cursor and the second numbered page agree.
            second = client.get(f"{url}?per_page=2&page=2").get_json()
            after = client.get(f"{url}?per_page=2&cursor={first['next_cursor']}").get_json()
            assert after["items"] == second["items"]
            assert "total" not in after  # no count per cursor page
    summary = client.get(f"/api/v1/drafts/{did}/summary?per_page=100").get_json()["items"]
    assert [row["article"] for row in summary][:2] == [None, None]  # whole-draft comments first
    results, pages = _follow(
        client,
        spec,
        "/cycles/{cycle_id}/results",
        f"/api/v1/cycles/{cid}/results?per_page=1",
        "projects",
    )
    whole = client.get(f"/api/v1/cycles/{cid}/results").get_json()
    assert pages == whole["total"] and len(whole["projects"]) == whole["total"]


@pytest.mark.parametrize(
    "query", ["cursor=abc", "cursor=W10", "cursor=WyJ4Il0", "cursor=WzFd&page=2", "cursor=%FF"]
)
def test_bad_cursors_are_400(client, draft, query):
    response = client.get(f"/api/v1/drafts/{draft.id}/comments?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == 400


def test_texts_in_both_state_languages(db, client, spec, bilingual_cycle, bilingual_draft):
    cid, did = bilingual_cycle.id, bilingual_draft.id
    two, other, _third = bilingual_cycle.projects
    projects = _check(client, spec, "/cycles/{cycle_id}/projects", f"/api/v1/cycles/{cid}/projects")
    by_id = {p["id"]: p for p in projects["items"]}
    assert by_id[two.id]["title"] == "Детская площадка во дворе"  # the original, as before
    assert by_id[two.id]["title_kk"] == "Ауладағы балалар алаңы"
    assert by_id[two.id]["title_ru"] == "Детская площадка (рус.)"
    assert by_id[other.id]["title_kk"] is None and by_id[other.id]["title_ru"] is None

    one = _check(client, spec, "/drafts/{draft_id}", f"/api/v1/drafts/{did}")
    assert (one["text_language"], one["second_language"]) == ("ru", "kk")
    assert one["title"]["kk"] == "Абаттандыру туралы"

    articles = _check(client, spec, "/drafts/{draft_id}/articles", f"/api/v1/drafts/{did}/articles")
    second = articles["items"][1]
    assert second["title"] == "Озеленение" and second["text"].startswith("1. Во дворах")
    assert second["title_kk"] == "Көгалдандыру" and second["text_kk"].startswith("1. Аулаларда")
    # The original is Russian: the Russian fields carry it rather than null.
    assert second["title_ru"] == "Озеленение" and second["text_ru"] == second["text"]
    assert second["chapter_kk"] is None and second["chapter_ru"] is None  # no chapters

    comments = _check(client, spec, "/drafts/{draft_id}/comments", f"/api/v1/drafts/{did}/comments")
    languages = {c["text"]: c["text_language"] for c in comments["items"]}
    assert languages == {"Сақтау керек.": "kk", "В целом за.": None}
    summary = _check(client, spec, "/drafts/{draft_id}/summary", f"/api/v1/drafts/{did}/summary")
    assert [r["text_language"] for r in summary["items"]] == [None, "kk"]


def test_a_one_language_draft_has_no_state_texts(db, client, spec, draft):
    articles = _check(
        client, spec, "/drafts/{draft_id}/articles", f"/api/v1/drafts/{draft.id}/articles"
    )
    first = articles["items"][0]
    assert first["title"] == "Основные понятия"
    assert first["title_kk"] is None and first["text_kk"] is None
    one = _check(client, spec, "/drafts/{draft_id}", f"/api/v1/drafts/{draft.id}")
    assert one["second_language"] is None


def test_summary_numbered_pages_cut_across_articles_in_article_order(db, client, draft):
    """Each numbered page reads only the articles it falls in (from the counters); together
    the pages are the summary table's order, whatever the page size."""
    from consult_helpers import make_comment, publish

    from portal.consultations.services import summary_rows

    for article in (3, None, 1, 2, 1, None, 3, 3, 2):
        publish(make_comment(draft, text=f"Slice comment on {article}", article=article))
    expected = [comment.id for comment, _article in summary_rows(db.session, draft)]
    assert len(expected) >= 9
    for per_page in (1, 2, 4, 100):
        url = f"/api/v1/drafts/{draft.id}/summary?per_page={per_page}"
        seen = []
        for page in range(1, -(-len(expected) // per_page) + 1):
            answer = client.get(f"{url}&page={page}").get_json()
            assert answer["total"] == len(expected)
            seen += [row["comment_id"] for row in answer["items"]]
        assert seen == expected, per_page
        past = client.get(f"{url}&page={len(expected) + 1}").get_json()
        assert past["items"] == [] and past["next"] is None


def test_comment_pages_take_totals_from_the_counters(db, client, draft):
    from consult_helpers import make_comment, publish

    for article in (2, None, 1, 2, 2):
        publish(make_comment(draft, text=f"Counted comment on {article}", article=article))
    make_comment(draft, text="Still pending", article=2)  # not published: never counted
    from sqlalchemy import func, select

    from portal.consultations.models import Comment

    def published(*where):
        return db.session.scalar(
            select(func.count()).where(
                Comment.draft_id == draft.id, Comment.status == "published", *where
            )
        )

    second = draft.articles[1].id
    assert published(Comment.article_id == second) >= 3
    for query, wanted in (
        ("", published()),
        (f"&article={second}", published(Comment.article_id == second)),
        ("&article=0", 0),
    ):
        url = f"/api/v1/drafts/{draft.id}/comments?per_page=2{query}"
        seen = []
        for page in range(1, 6):
            answer = client.get(f"{url}&page={page}").get_json()
            assert (answer["total"], answer["pages"]) == (wanted, -(-wanted // 2)), query
            seen += [item["id"] for item in answer["items"]]
        assert len(seen) == wanted and seen == sorted(seen), query
