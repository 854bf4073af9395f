"""One formatter for money, numbers, dates and times; codes shown by their labels."""

import datetime as dt
import re
import sys
from pathlib import Path

import pytest
from consult_helpers import make_comment, make_draft, publish
from helpers import csrf_token, translate

from portal import formatting

sys.path.insert(0, str(Path(__file__).parent.parent / "budgeting"))
import budget_fixtures  # noqa: E402

make_project = budget_fixtures.make_project
TEMPLATES = Path(__file__).parent.parent.parent / "templates"


@pytest.mark.parametrize(
    "lang, money, share, moment",
    [
        ("kk", "12\u00a0000\u00a0000\u00a0₸", "1\u00a0500\u00a0000", "2026\u202fж. 15 мам., 21:00"),
        ("ru", "12\u00a0000\u00a0000\u00a0₸", "1\u00a0500\u00a0000", "15 мая 2026\u202fг., 21:00"),
        ("en", "12,000,000\u00a0₸", "1,500,000", "May 15, 2026, 21:00"),
    ],
)
def test_money_numbers_and_times_by_locale(lang, money, share, moment):
    assert formatting.money(12_000_000, lang) == money
    # Stored result shares are decimal strings: whole amounts lose the ".00".
    assert formatting.number("1500000.00", lang) == share
    # Stored times are naive UTC; people see Kazakhstan time (UTC+5), 24-hour clock.
    assert formatting.when(dt.datetime(2026, 5, 15, 16, 0), "short", lang) == moment
    assert formatting.money(None, lang) == "—"


def test_fractional_shares_keep_two_decimals():
    assert formatting.number("333333.3333", "ru") == "333\u00a0333,33"
    assert formatting.number("333333.3333", "en") == "333,333.33"


def test_one_time_zone_name_in_all_pages():
    names = re.compile(r"Almaty time|Astana time")
    for path in TEMPLATES.rglob("*.html"):
        assert not names.search(path.read_text(encoding="utf-8")), path


def test_greedy_rule_has_a_plain_kazakh_name():
    text = translate("kk", "Greedy: most votes first, while the money lasts")
    assert "ашкөз" not in text.lower() and "Дауыс саны бойынша іріктеу" in text


def test_ballot_running_total_groups_digits_like_the_page(as_role, new_cycle, make_project):
    cycle = new_cycle("voting")
    make_project(cycle, 1000)
    client = as_role("resident")
    client.set_cookie("lang", "en")
    html = client.get(f"/budget/{cycle.id}/ballot").get_data(as_text=True)
    assert 'data-group=","' in html
    client.set_cookie("lang", "kk")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "kk"
    html = client.get(f"/budget/{cycle.id}/ballot").get_data(as_text=True)
    assert 'data-group="\u00a0"' in html or 'data-group="&nbsp;"' in html


def test_staff_chart_shows_category_labels_not_codes(as_role, db, new_cycle, make_project):
    cycle = new_cycle("proposals")
    make_project(cycle, 1000, category="greenery")
    client = as_role("staff")
    html = client.get(f"/staff/cycles/{cycle.id}").get_data(as_text=True)
    svg = html[html.index('id="cat-chart-t"') :]
    svg = svg[: svg.index("</svg>")]
    assert "Greenery" in svg and ">greenery<" not in svg


def test_proposed_wording_diff_keeps_words_apart(client, db):
    draft = make_draft(now=dt.datetime.now(dt.UTC))
    article = draft.articles[0]
    old = article.paragraphs[0].text if article.paragraphs else article.text
    first = old.split()[0]
    comment = make_comment(draft, proposed_wording=old.replace(first, "Новое", 1))
    publish(comment)
    html = client.get(f"/consultations/{draft.id}/articles/{article.id}").get_data(as_text=True)
    assert f"{first}</del> <ins>Новое</ins>" in html


def test_moderation_answer_carries_the_new_status_label(as_role, db):
    comment = make_comment(make_draft())
    moderator = as_role("moderator")
    token = csrf_token(moderator, "/moderation/")
    response = moderator.post(
        f"/moderation/comments/{comment.id}/publish",
        data={"csrf_token": token, "reason": ""},
        headers={"Accept": "application/json"},
    )
    assert response.json["ok"] is True and response.json["status_label"] == "Published"
    page = moderator.get("/moderation/?status=published").get_data(as_text=True)
    assert 'class="js-status"' in page
    script = (TEMPLATES.parent / "static/js/moderation.js").read_text()
    assert "status_label" in script
