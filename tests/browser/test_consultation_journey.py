"""Consultation journey in real Chromium, in each language: a resident comments on article 2
of the open demo draft in Russian, a moderator publishes it from the queue (keyboard triage),
agency staff answer "partly accepted" with a justification, and the resident sees the answer
and the summary table. Labels come from the catalogues via `translate`, so the test follows
them; axe-core checks the public pages and the queue for WCAG 2.1 AA violations."""

import itertools
import re

import pytest
from a11y import accessibility_violations
from helpers import PASSWORD, make_user, translate
from playwright.sync_api import expect
from sqlalchemy import select

from portal.consultations.models import Comment, Draft
from portal.extensions import db

pytestmark = pytest.mark.browser

LANGS = ["ru", "kk", "en"]
DEMO_DRAFT = "Courtyard improvement rules"  # title_en of the open demo draft (Almaty)
_tokens = itertools.count(1)


def _demo_draft(live_server):
    with live_server.app.app_context():
        draft = db.session.scalar(select(Draft).where(Draft.title_en == DEMO_DRAFT))
        article = draft.articles[1]
        return {
            "id": draft.id,
            "titles": {lang: getattr(draft, f"title_{lang}") for lang in LANGS},
            "article_id": article.id,
            "article_number": article.number,
        }


def _new_user(live_server, role):
    """A fresh account of Almaty (KZ-75) created through the live server's own database."""
    with live_server.app.app_context():
        return make_user(role=role, region="KZ-75", full_name=f"Journey {role}").email


def _comment(live_server, comment_id):
    with live_server.app.app_context():
        row = db.session.get(Comment, comment_id)
        return {"status": row.status, "decision": row.decision, "text": row.text}


@pytest.fixture
def signed_in(live_server, new_page, sign_in):
    """signed_in(role, lang) -> a page of its own, signed in as a new user who chose `lang`."""

    def make(role, lang):
        email = _new_user(live_server, role)
        return sign_in(new_page(live_server), email, PASSWORD, lang=lang)

    return make


@pytest.mark.parametrize("lang", LANGS)
def test_comment_moderate_answer_and_see_it_in_the_summary(live_server, signed_in, lang):
    def t(message, **values):
        return translate(lang, message) % values if values else translate(lang, message)

    draft = _demo_draft(live_server)
    token = f"{lang}-{next(_tokens)}"
    text = f"Предлагаю проводить слушания до вырубки деревьев ({token})."
    justification = f"Слушания предусмотрены для вырубки более трёх деревьев ({token})."

    # 1. A resident finds the draft, opens article 2 and comments in Russian.
    resident = signed_in("resident", lang)
    resident.goto("/consultations/")
    expect(resident.get_by_role("heading", level=1)).to_have_text(t("Draft laws for discussion"))
    resident.get_by_role("link", name=draft["titles"][lang]).click()
    article_link = t("Article %(number)s", number=draft["article_number"])
    resident.get_by_role("link", name=re.compile("^" + re.escape(article_link))).click()
    expect(resident).to_have_url(re.compile(rf"/articles/{draft['article_id']}$"))
    resident.get_by_label(t("I propose other wording")).check()
    resident.get_by_role("textbox", name=t("Your comment"), exact=True).fill(text)
    resident.get_by_label(t("Proposed wording (optional)")).fill(
        "Вырубка допускается только по решению комиссии после общественных слушаний."
    )
    resident.get_by_role("button", name=t("Send for moderation")).click()
    expect(resident).to_have_url(re.compile(r"/consultations/my-comments$"))
    expect(resident.locator(".flash-success")).to_have_text(
        t("Thank you. Your comment will appear after a moderator checks it.")
    )
    mine = resident.locator("tr", has_text=token)
    expect(mine).to_contain_text(t("Awaiting moderation"))
    # Pending comments are not public yet.
    resident.goto(f"/consultations/{draft['id']}/articles/{draft['article_id']}")
    expect(resident.locator("main")).not_to_contain_text(token)

    # 2. A moderator filters the queue to the draft, newest first, and publishes it with the
    # keyboard (j moves to the first row, a publishes it).
    moderator = signed_in("moderator", lang)
    moderator.goto("/moderation/")
    moderator.get_by_label(t("Draft"), exact=True).select_option(label=draft["titles"][lang])
    moderator.get_by_label(t("Order")).select_option(label=t("Newest first"))
    moderator.get_by_role("button", name=t("Filter"), exact=True).click()
    first_row = moderator.locator("tr.queue-row").first
    expect(first_row).to_contain_text(token)
    comment_id = int(first_row.get_attribute("data-id"))
    expect(moderator.locator("#queue")).to_have_attribute("data-keys", "ready")
    moderator.keyboard.press("j")
    expect(first_row).to_have_class(re.compile(r"\bis-current\b"))
    moderator.keyboard.press("a")
    expect(moderator.locator("#queue-status")).to_have_text(
        t("Comment %(id)d is published.", id=comment_id)
    )
    expect(first_row).to_have_class(re.compile(r"\bis-done\b"))
    assert _comment(live_server, comment_id)["status"] == "published"
    moderator.reload()
    expect(moderator.locator(f"#row-{comment_id}")).to_have_count(0)  # left the pending queue

    # 3. Agency staff answer "partly accepted" with a justification.
    staff = signed_in("staff", lang)
    staff.goto(f"/consultations/{draft['id']}/answers")
    card = staff.locator(f"#comment-{comment_id}")
    expect(card).to_contain_text(token)
    card.get_by_role("button", name=t("Publish the answer")).click()  # no decision: refused
    expect(staff.locator(".flash-error")).to_have_text(t("Choose a decision."))
    card.get_by_label(t("Partly accepted")).check()
    card.get_by_role("button", name=t("Publish the answer")).click()  # no justification
    expect(staff.locator(".flash-error")).to_have_text(
        t("A justification is required unless the comment is accepted.")
    )
    assert _comment(live_server, comment_id)["decision"] is None
    card.get_by_label(t("Partly accepted")).check()
    card.get_by_label(t("Justification")).fill(justification)
    card.get_by_role("button", name=t("Publish the answer")).click()
    expect(staff.locator(".flash-success")).to_have_text(
        t("The answer is published (%(count)d comments).", count=1)
    )
    expect(staff.locator(f"#comment-{comment_id}")).to_have_count(0)
    assert _comment(live_server, comment_id)["decision"] == "partly_accepted"

    # 4. The resident sees the answer on the article page, in "My comments" and in the
    # summary table (page and CSV link).
    resident.reload()
    public = resident.locator(f"#comment-{comment_id}")
    expect(public).to_contain_text(token)
    expect(public.locator(".answer")).to_contain_text(t("Partly accepted"))
    expect(public.locator(".answer")).to_contain_text(justification)
    expect(public.locator(".diff ins").first).to_be_visible()  # proposed wording as a diff
    resident.goto("/consultations/my-comments")
    expect(resident.locator("tr", has_text=token)).to_contain_text(t("Published"))
    expect(resident.locator("tr", has_text=token)).to_contain_text(justification)
    resident.goto(f"/consultations/{draft['id']}")
    resident.get_by_role("link", name=t("Summary table of comments and answers")).click()
    row = resident.locator("table.summary tbody tr", has_text=token)
    # The article's number, then its title (in the reader's language where the draft has it).
    number = re.escape(draft["article_number"])
    expect(row.locator("th")).to_have_text(re.compile(rf"^{number}(\. .+)?$"))
    expect(row).to_contain_text(t("I propose other wording"))
    expect(row).to_contain_text(t("Partly accepted"))
    expect(row).to_contain_text(justification)
    with resident.expect_download() as download:
        resident.get_by_role("link", name=t("Download as CSV")).click()
    path = download.value.path()
    with open(path, encoding="utf-8-sig") as handle:
        downloaded = handle.read()
    assert justification in downloaded and t("Partly accepted") in downloaded


def _axe_clean(page, path):
    page.goto(path)
    expect(page.locator("main h1")).to_be_visible()
    return accessibility_violations(page)


@pytest.mark.parametrize("lang", LANGS)
def test_consultation_pages_have_no_axe_violations(live_server, browser, signed_in, lang):
    draft = _demo_draft(live_server)
    context = browser.new_context(base_url=live_server.url, locale="en-US", bypass_csp=True)
    context.add_cookies([{"name": "lang", "value": lang, "url": live_server.url}])
    page = context.new_page()
    try:
        paths = [
            "/consultations/",
            f"/consultations/{draft['id']}",
            f"/consultations/{draft['id']}/articles/{draft['article_id']}",
            f"/consultations/{draft['id']}/summary",
        ]
        for path in paths:
            assert _axe_clean(page, path) == [], path
            expect(page.locator("html")).to_have_attribute("lang", lang)
    finally:
        context.close()
    # Signed-in pages: the comment form, the resident's comments, the queue with comments in
    # it (all states, so every kind of row action shows), the staff answers page.
    resident = signed_in("resident", lang)
    article = f"/consultations/{draft['id']}/articles/{draft['article_id']}"
    assert _axe_clean(resident, article) == []
    expect(
        resident.get_by_role("button", name=translate(lang, "Send for moderation"))
    ).to_be_visible()
    assert _axe_clean(resident, "/consultations/my-comments") == []
    moderator = signed_in("moderator", lang)
    assert _axe_clean(moderator, f"/moderation/?draft={draft['id']}&status=") == []
    expect(moderator.locator("tr.queue-row").first).to_be_visible()
    assert _axe_clean(moderator, f"/moderation/drafts/{draft['id']}/campaigns") == []
    staff = signed_in("staff", lang)
    assert _axe_clean(staff, f"/consultations/{draft['id']}/answers") == []
    expect(staff.locator("article.comment").first).to_be_visible()


def test_a_kazakh_reader_switches_to_the_russian_text_and_back(live_server, browser):
    """The open demo draft has both texts: the reader's language first, one click to the
    other, the interface staying in the reader's language and each text marked with its own."""
    draft = _demo_draft(live_server)
    context = browser.new_context(base_url=live_server.url, locale="en-US", bypass_csp=True)
    context.add_cookies([{"name": "lang", "value": "kk", "url": live_server.url}])
    page = context.new_page()
    try:
        page.goto(f"/consultations/{draft['id']}")
        page.get_by_role("link", name=re.compile(r"^2-бап")).click()
        body = page.locator(".article-body")
        expect(body).to_contain_text("Ағаш кесуге тек комиссияның шешімі бойынша")
        expect(body).to_have_attribute("lang", "kk")
        page.get_by_role("link", name="Читать на русском").click()
        expect(page).to_have_url(re.compile(rf"/articles/{draft['article_id']}\?text=ru$"))
        expect(body).to_contain_text("Вырубка допускается только по решению комиссии")
        expect(body).to_have_attribute("lang", "ru")
        expect(page.locator("html")).to_have_attribute("lang", "kk")
        assert accessibility_violations(page) == []
        # Comments on the article are the same whichever text is shown.
        expect(page.locator("article.comment", has_text="Кесілген ағаштың орнына")).to_be_visible()
        page.get_by_role("link", name="Қазақша оқу").click()
        expect(body).to_contain_text("Ағаш кесуге")
        expect(page.locator("article.comment", has_text="Кесілген ағаштың орнына")).to_be_visible()
    finally:
        context.close()
