"""Exports of drafts and proposals in both state languages: the Kazakh and Russian texts
come in columns appended after the older ones (whose names and order stay), the .pb file
keeps the original titles, and the public summary table names each article in the
reader's language."""

import json

import pytest
from export_checks import export_by_job, read_csv, read_pb, read_sqlite, read_xlsx
from helpers import login

from portal.consultations.models import Article

KK_TITLE = "Ауладағы балалар алаңы"
RU_TITLE = "Детская площадка (рус.)"
ORIGINAL = "Детская площадка во дворе"

# The columns as they were before the texts in both languages, in their order.
TALLY = ["ID", "Title", "Category code", "Category", "District code", "District",
         "Cost (tenge)", "Votes", "Selected (greedy)", "Selected (equal shares)",
         "Funded"]  # fmt: skip
ARTICLES = ["ID", "Order", "Number", "Title", "Chapter"]
SUMMARY = ["ID", "Article", "Comment", "Position code", "Position", "Decision code",
           "Decision", "Justification", "New wording", "Answered on"]  # fmt: skip


@pytest.fixture
def staff_client(app, staff):
    client = app.test_client()
    login(client, staff)
    return client


def _get(client, url):
    response = client.get(url)
    if response.status_code == 200 and response.mimetype == "text/html":
        response = export_by_job(client, url, response.request.args["format"])
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_data()


def test_cycle_exports_carry_the_titles_in_both_languages(db, staff_client, bilingual_cycle):
    a, b, _c = bilingual_cycle.projects
    base = f"/staff/cycles/{bilingual_cycle.id}/export"
    rows = read_csv(_get(staff_client, f"{base}?format=csv"))
    assert rows[0] == TALLY + ["Title (Kazakh)", "Title (Russian)"]
    by_id = {int(r[0]): r for r in rows[1:]}
    assert by_id[a.id][1] == ORIGINAL and by_id[a.id][-2:] == [KK_TITLE, RU_TITLE]
    assert by_id[b.id][-2:] == ["", ""]

    rows = read_csv(_get(staff_client, f"{base}?format=csv&part=proposals"))
    assert rows[0][:2] == ["ID", "Title"] and rows[0][-3:] == [
        "Submitted on",
        "Title (Kazakh)",
        "Title (Russian)",
    ]
    by_id = {int(r[0]): r for r in rows[1:]}
    assert by_id[a.id][1] == ORIGINAL and by_id[a.id][-2:] == [KK_TITLE, RU_TITLE]

    document = json.loads(_get(staff_client, f"{base}?format=json"))
    project = next(p for p in document["projects"] if p["id"] == a.id)
    assert (project["title"], project["title_kk"], project["title_ru"]) == (
        ORIGINAL,
        KK_TITLE,
        RU_TITLE,
    )
    other = next(p for p in document["proposals"] if p["id"] == b.id)
    assert other["title_kk"] is None and other["title_ru"] is None

    connection = read_sqlite(_get(staff_client, f"{base}?format=sqlite"))
    hits = connection.execute(
        "SELECT proposals.id FROM proposals_fts JOIN proposals "
        "ON proposals.rowid = proposals_fts.rowid WHERE proposals_fts MATCH 'Ауладағы'"
    ).fetchall()
    assert [h[0] for h in hits] == [a.id]

    workbook = read_xlsx(_get(staff_client, f"{base}?format=xlsx"))
    sheet = workbook["Tally"]
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    assert header == TALLY + ["Title (Kazakh)", "Title (Russian)"]


def test_the_pb_file_keeps_the_original_titles(db, staff_client, bilingual_cycle):
    a = bilingual_cycle.projects[0]
    data = _get(staff_client, f"/staff/cycles/{bilingual_cycle.id}/export?format=pb")
    text = data.decode("utf-8")
    assert KK_TITLE not in text and RU_TITLE not in text
    lines = text.splitlines()
    assert "project_id;cost;votes;name;category;selected" in lines  # the pabulib columns only
    assert any(line.startswith(f"{a.id};") and ORIGINAL in line for line in lines)
    assert len(read_pb(data).projects) == 3


def test_draft_exports_carry_both_texts(db, staff_client, bilingual_draft):
    base = f"/staff/drafts/{bilingual_draft.id}/export"
    rows = read_csv(_get(staff_client, f"{base}?format=csv&part=articles"))
    assert rows[0] == ARTICLES + [
        "Title (Kazakh)",
        "Title (Russian)",
        "Chapter (Kazakh)",
        "Chapter (Russian)",
        "Text (Kazakh)",
        "Text (Russian)",
    ]
    second = rows[2]
    assert second[2:4] == ["2", "Озеленение"]  # the original, as before
    assert second[5:7] == ["Көгалдандыру", "Озеленение"]
    assert second[9].startswith("1. Аулаларда ағаштар") and second[10].startswith("1. Во дворах")

    rows = read_csv(_get(staff_client, f"{base}?format=csv"))
    assert rows[0][-1] == "Language of the text read"
    text = rows[0].index("Comment")
    assert {r[text]: r[-1] for r in rows[1:]} == {"Сақтау керек.": "kk", "В целом за.": ""}

    rows = read_csv(_get(staff_client, f"{base}?format=csv&part=summary"))
    assert rows[0] == SUMMARY + ["Language of the text read"]
    assert [r[-1] for r in rows[1:]] == ["", "kk"]

    document = json.loads(_get(staff_client, f"{base}?format=json"))
    assert (document["meta"]["text_language"], document["meta"]["second_language"]) == ("ru", "kk")
    article = document["articles"][1]
    assert article["title"] == "Озеленение" and article["title_kk"] == "Көгалдандыру"
    assert "chapter" in article and article["chapter_kk"] is None

    connection = read_sqlite(_get(staff_client, f"{base}?format=sqlite"))
    kk = connection.execute("SELECT text_kk FROM articles ORDER BY position").fetchall()
    assert kk[1][0].startswith("1. Аулаларда")
    workbook = read_xlsx(_get(staff_client, f"{base}?format=xlsx"))
    header = [cell.value for cell in next(workbook["Articles"].iter_rows(max_row=1))]
    assert header[:5] == ARTICLES and header[-1] == "Text (Russian)"


def _page(client, url, lang):
    client.set_cookie("lang", lang)
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_summary_table_names_articles_in_the_readers_language(db, client, bilingual_draft):
    url = f"/consultations/{bilingual_draft.id}/summary"
    page = _page(client, url, "kk")
    assert '2. <span lang="kk">Көгалдандыру</span>' in page and "Озеленение" not in page
    page = _page(client, url, "ru")
    assert '2. <span lang="ru">Озеленение</span>' in page and "Көгалдандыру" not in page
    page = _page(client, f"{url}?text=kk", "en")  # the switch to the other text
    assert '2. <span lang="kk">Көгалдандыру</span>' in page

    rows = read_csv(client.get(f"{url}.csv").get_data())
    assert rows[0][-2:] == ["Article title (Kazakh)", "Article title (Russian)"]
    by_article = {r[0]: r for r in rows[1:]}
    assert by_article["2"][-2:] == ["Көгалдандыру", "Озеленение"]
    assert len(rows[0]) == 9 and by_article["2"][1] == "Сақтау керек."


def test_a_one_language_draft_leaves_the_other_language_empty(db, staff_client, draft):
    rows = read_csv(_get(staff_client, f"/staff/drafts/{draft.id}/export?format=csv&part=articles"))
    assert rows[0][:5] == ARTICLES
    assert all(r[5] == "" and r[7] == "" and r[9] == "" for r in rows[1:])  # no Kazakh
    assert db.session.get(Article, int(rows[1][0])).title == rows[1][3]
