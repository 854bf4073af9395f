"""The akim's one page: headline figures, winners, turnout and overdue answers on the first
A4 page; linked from the cycle and draft pages for staff; a PDF that renders Kazakh."""

import shutil
import subprocess

import pytest
from helpers import login, translate


@pytest.fixture
def staff_kk(app, staff):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "kk"
    login(client, staff)
    return client


def _first_page(html):
    start = html.index('class="first-page"')
    return html[start : html.index("</section>", start)]


def test_cycle_report_puts_headline_and_winners_first(db, staff_kk, closed_cycle):
    html = staff_kk.get(f"/staff/cycles/{closed_cycle.id}/report").get_data(as_text=True)
    first = _first_page(html)
    assert translate("kk", "Winning projects") in first
    assert "Детская площадка во дворе" in first  # the winner with most votes
    assert translate("kk", "Turnout of verified residents") in first
    assert translate("kk", "Overdue answers in the region") in first
    assert "1\u00a0000\u00a0000\u00a0₸" in first  # the budget, grouped the Kazakh way
    assert html.index('class="first-page"') < html.index(translate("kk", "Detail"))


def test_report_linked_from_cycle_and_draft_pages_for_staff(app, staff, closed_cycle, draft):
    client = app.test_client()
    login(client, staff)
    page = client.get(f"/budget/{closed_cycle.id}").get_data(as_text=True)
    assert f'href="/staff/cycles/{closed_cycle.id}/report"' in page
    assert f'href="/staff/cycles/{closed_cycle.id}"' in page
    page = client.get(f"/consultations/{draft.id}").get_data(as_text=True)
    assert f'href="/staff/drafts/{draft.id}/report"' in page
    resident = app.test_client()
    assert "/report" not in resident.get(f"/budget/{closed_cycle.id}").get_data(as_text=True)


def test_draft_report_headline_first(db, staff_kk, draft):
    html = staff_kk.get(f"/staff/drafts/{draft.id}/report").get_data(as_text=True)
    first = _first_page(html)
    assert translate("kk", "Comments received") in first
    assert translate("kk", "Overdue answers") in first


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils: make pdf-libs")
def test_cycle_report_pdf_renders_kazakh_on_page_one(db, staff_kk, closed_cycle, tmp_path):
    response = staff_kk.get(f"/staff/cycles/{closed_cycle.id}/report?format=pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data[:5] == b"%PDF-"
    path = tmp_path / "report.pdf"
    path.write_bytes(response.data)
    first = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(path), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    # Kazakh letters (ә, ң, ұ, қ …) come back as text: shaped with real glyphs, not boxes.
    assert "Халық бюджеті" in first
    assert translate("kk", "Winning projects") in first
    assert "Детская площадка во дворе" in " ".join(first.split())
    assert "\ufffd" not in first
