"""Shortcuts that can be switched off, focusable scroll regions, the accessibility statement,
and link previews (Open Graph) on public pages."""

import datetime as dt
import re
import sys
from pathlib import Path

from consult_helpers import make_comment, make_draft, publish
from helpers import csrf_token

sys.path.insert(0, str(Path(__file__).parent.parent / "budgeting"))


def _og(html):
    return dict(re.findall(r'<meta property="(og:[a-z:]+)" content="([^"]*)"', html))


def test_public_pages_have_open_graph_tags(client, new_cycle):
    cycle = new_cycle("voting", summary_en="Spend 10 million on yards.")
    html = client.get(f"/budget/{cycle.id}").get_data(as_text=True)
    og = _og(html)
    assert og["og:title"] == "People&#39;s budget"  # attribute-escaped
    assert og["og:description"] == "Spend 10 million on yards."
    assert og["og:url"] == f"http://localhost/budget/{cycle.id}"
    assert og["og:type"] == "website"
    image = og["og:image"]
    assert image.startswith("http://localhost/static/img/og-image.png")
    response = client.get(image.replace("http://localhost", ""))
    assert response.status_code == 200 and response.data[:8] == b"\x89PNG\r\n\x1a\n"
    home = _og(client.get("/").get_data(as_text=True))
    assert home["og:title"] and home["og:description"]


def test_accessibility_statement_linked_from_footer(client):
    html = client.get("/consultations/").get_data(as_text=True)
    footer = html[html.index("<footer") :]
    assert 'href="/accessibility"' in footer
    page = client.get("/accessibility").get_data(as_text=True)
    assert "WCAG" in page and "shortcuts" in page


def test_moderator_can_switch_single_key_shortcuts_off(as_role, db):
    make_comment(make_draft())
    moderator = as_role("moderator")
    page = moderator.get("/moderation/").get_data(as_text=True)
    assert 'data-shortcuts="on"' in page and "Turn single-key shortcuts off" in page
    token = csrf_token(moderator, "/moderation/")
    response = moderator.post(
        "/moderation/shortcuts", data={"csrf_token": token, "on": "0", "next": "/moderation/"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/moderation/")
    page = moderator.get("/moderation/").get_data(as_text=True)
    assert 'data-shortcuts="off"' in page and "Turn single-key shortcuts on" in page
    response = moderator.post("/moderation/shortcuts", data={"csrf_token": token, "on": "1"})
    assert 'data-shortcuts="on"' in moderator.get("/moderation/").get_data(as_text=True)


def test_summary_table_scroll_region_takes_focus(client, db):
    draft = make_draft(now=dt.datetime.now(dt.UTC))
    publish(make_comment(draft))
    html = client.get(f"/consultations/{draft.id}/summary").get_data(as_text=True)
    region = re.search(r'<div class="scroll-region"([^>]*)>', html)
    assert region, "no scroll region around the summary table"
    assert 'tabindex="0"' in region.group(1) and 'role="region"' in region.group(1)
    assert "aria-label=" in region.group(1)
