"""Three languages: complete catalogues, the switcher, Accept-Language, <html lang>."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from helpers import login, make_user, post_form, translate

ROOT = Path(__file__).parent.parent
CATALOGUES = ROOT / "portal" / "translations"


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_catalogue_has_no_untranslated_or_fuzzy_message(lang):
    with open(CATALOGUES / lang / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalogue = read_po(handle)
    missing = [
        m.id
        for m in catalogue
        if m.id and (m.fuzzy or not all(m.string if isinstance(m.string, tuple) else [m.string]))
    ]
    assert missing == []


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_placeholders_survive_translation(lang):
    with open(CATALOGUES / lang / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalogue = read_po(handle)
    pattern = re.compile(r"%\(\w+\)[sd]")
    for message in catalogue:
        if not message.id:
            continue
        source = message.id[-1] if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            assert set(pattern.findall(source)) == set(pattern.findall(form)), message.id


def _key(message_id):
    # Plural entries have a (singular, plural) tuple as id; compare them as text.
    return " | ".join(message_id) if isinstance(message_id, tuple) else message_id


def test_every_source_string_is_in_the_catalogues(tmp_path):
    """Extract messages from the code now: a string added without a catalogue entry fails."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with open(pot, "rb") as handle:
        wanted = {_key(m.id) for m in read_po(handle) if m.id}
    for lang in ("kk", "ru"):
        with open(CATALOGUES / lang / "LC_MESSAGES" / "messages.po", "rb") as handle:
            have = {_key(m.id) for m in read_po(handle) if m.id}
        assert sorted(wanted - have) == [], f"missing in {lang}"


@pytest.mark.parametrize(
    ("header", "lang"), [("ru-RU,ru;q=0.9", "ru"), ("kk", "kk"), ("en-GB", "en"), ("de", "kk")]
)
def test_accept_language_picks_the_default(client, header, lang):
    page = client.get("/", headers={"Accept-Language": header})
    assert f'<html lang="{lang}">' in page.get_data(as_text=True)


def test_switcher_sets_a_cookie_and_translates_the_page(client):
    response = post_form(client, "/language", {"lang": "ru", "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="ru">' in page
    assert translate("ru", "Sign in") in page
    assert translate("ru", "Sign in") != "Sign in"


def test_switcher_persists_the_choice_on_the_account(client, db):
    user = make_user()
    login(client, user)
    post_form(client, "/language", {"lang": "kk", "next": "/profile"}, token_from="/profile")
    db.session.expire_all()
    assert db.session.get(type(user), user.id).locale == "kk"


def test_switcher_ignores_unknown_language_and_foreign_redirects(client):
    response = post_form(client, "/language", {"lang": "xx", "next": "//evil.example"})
    assert response.headers["Location"] == "/"
    assert "lang=" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_error_pages_in_every_language(client, lang):
    page = client.get("/no-such-page", headers={"Accept-Language": lang})
    assert page.status_code == 404
    body = page.get_data(as_text=True)
    assert f'<html lang="{lang}">' in body
    assert translate(lang, "Page not found") in body
