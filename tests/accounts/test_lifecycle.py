"""Account lifecycle over real SMTP: confirmation, password reset, change, profile edit,
personal-data download, deletion, consent and the privacy notice."""

import datetime as dt
import json
from urllib.parse import urlsplit

import pytest
from helpers import PASSWORD, csrf_token, login, make_user, post_form, translate
from mailserver import body, link

from portal.accounts import tokens
from portal.accounts.models import User

NEW_PASSWORD = "a-new-long-passphrase"


def _path(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_reset_mail_in_the_accounts_language_resets_once(app, client, db, mailbox):
    user = make_user(email="reset@example.kz")
    db.session.get(User, user.id).locale = "ru"
    db.session.commit()
    response = post_form(client, "/password/forgot", {"email": "Reset@Example.kz"})
    assert response.status_code == 302
    (mail,) = mailbox.wait_for("reset@example.kz")
    # Sent by the background job, not inside the request.
    from portal.jobs.models import Job

    jobs = db.session.query(Job).filter_by(kind="mail.send").all()
    assert [j.status for j in jobs] == ["done"] and jobs[0].result["via"] == "smtp"
    assert mail["Subject"] == translate("ru", "Tynda: reset your password")
    assert "Здравствуйте" in body(mail) or translate("ru", "Hello, %(name)s!")[:5] in body(mail)
    reset_url = _path(link(mail, "/password/reset/"))
    page = client.get(reset_url)
    assert page.status_code == 200
    done = post_form(
        client, reset_url, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, token_from=reset_url
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    login(client, user, NEW_PASSWORD)
    # Single use: the same link no longer works once the password changed.
    again = client.get(reset_url)
    assert again.status_code == 302 and "/password/forgot" in again.headers["Location"]


def test_forgot_gives_the_same_answer_and_sends_nothing_for_unknown_addresses(client, db, mailbox):
    make_user(email="known@example.kz")
    known = post_form(client, "/password/forgot", {"email": "known@example.kz"})
    unknown = post_form(client, "/password/forgot", {"email": "nobody@example.kz"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    flashes = [client.get("/login").get_data(as_text=True) for _ in range(1)]
    assert "If an account uses this address" in flashes[0]
    mailbox.wait_for("known@example.kz")
    assert mailbox.to("nobody@example.kz") == []


def test_reset_tokens_expire_and_forged_ones_fail(app, db):
    user = make_user()
    key = app.config["SECRET_KEY"]
    token = tokens.make(key, user, "reset")
    load = lambda uid: db.session.get(User, uid)  # noqa: E731
    assert tokens.read(key, token, "reset", load)[0].id == user.id
    with pytest.raises(tokens.TokenError, match="invalid"):
        tokens.read("another-key", token, "reset", load)
    with pytest.raises(tokens.TokenError, match="invalid"):
        tokens.read(key, token, "confirm", load)  # a reset token is no confirmation token
    import itsdangerous.timed

    later = dt.datetime.now(dt.UTC).timestamp() + 2 * 3600
    original = itsdangerous.timed.TimestampSigner.get_timestamp
    itsdangerous.timed.TimestampSigner.get_timestamp = lambda self: int(later)
    try:
        with pytest.raises(tokens.TokenError, match="expired"):
            tokens.read(key, token, "reset", load)
    finally:
        itsdangerous.timed.TimestampSigner.get_timestamp = original


def test_registration_needs_consent_and_sends_a_confirmation_mail(client, db, mailbox):
    from test_registration import _form

    data = _form(db, email="new@example.kz")
    data.pop("consent")
    refused = post_form(client, "/register", data)
    assert refused.status_code == 422 and "Without your consent" in refused.get_data(as_text=True)
    assert db.session.query(User).filter_by(email="new@example.kz").count() == 0
    data["consent"] = "y"
    assert post_form(client, "/register", data).status_code == 302
    user = db.session.query(User).filter_by(email="new@example.kz").one()
    assert user.consent_at is not None and user.email_confirmed_at is None
    (mail,) = mailbox.wait_for("new@example.kz")
    confirmed = client.get(_path(link(mail, "/email/confirm/")))
    assert confirmed.status_code == 302
    db.session.refresh(user)
    assert user.email_confirmed_at is not None


def test_profile_edit_changes_email_only_after_the_new_address_confirms(client, db, mailbox):
    user = make_user(email="old@example.kz", full_name="Old Name")
    login(client, user)
    response = post_form(
        client,
        "/profile/edit",
        {
            "full_name": "Жаңа Есім",
            "phone": "+7 701 000 11 22",
            "email": "new@example.kz",
            "locale": "kk",
        },
        token_from="/profile/edit",
    )
    assert response.status_code == 302
    db.session.expire_all()
    fresh = db.session.get(User, user.id)
    assert fresh.full_name == "Жаңа Есім" and fresh.email == "old@example.kz"
    (mail,) = mailbox.wait_for("new@example.kz")
    assert mail["Subject"] == translate("kk", "Tynda: confirm your new e-mail address")
    assert client.get(_path(link(mail, "/email/change/"))).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).email == "new@example.kz"


def test_password_change_needs_the_current_password_and_signs_out_other_devices(app, db):
    user = make_user()
    here, elsewhere = app.test_client(), app.test_client()
    login(here, user)
    login(elsewhere, user)
    data = {"current": "wrong-one", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert post_form(here, "/password/change", data, token_from="/profile").status_code == 422
    data["current"] = PASSWORD
    assert post_form(here, "/password/change", data, token_from="/profile").status_code == 302
    assert here.get("/profile").status_code == 200
    assert elsewhere.get("/profile").status_code == 302


def test_data_download_and_deletion_keep_participation_anonymous(client, db):
    from consult_helpers import make_comment, make_draft, publish

    user = make_user(email="leaving@example.kz", full_name="Айгүл Сейітова")
    comment = publish(make_comment(make_draft(), author=user))
    login(client, user)
    data = client.get("/profile/data.json")
    assert data.headers["Content-Disposition"].startswith("attachment")
    exported = json.loads(data.get_data(as_text=True))
    assert exported["account"]["email"] == "leaving@example.kz"
    assert exported["account"]["consent_to_processing_at"]
    assert exported["comments"][0]["text"] == comment.text
    assert (
        post_form(
            client, "/profile/delete", {"password": "wrong"}, token_from="/profile"
        ).status_code
        == 422
    )
    gone = post_form(client, "/profile/delete", {"password": PASSWORD}, token_from="/profile")
    assert gone.status_code == 302
    db.session.expire_all()
    row = db.session.get(User, user.id)
    assert row.deleted_at and row.full_name == "—" and "leaving" not in row.email
    assert row.phone == ""
    assert comment.author_id == user.id  # the published comment stays, without the name
    assert client.get("/profile").status_code == 302
    page = client.get(f"/consultations/{comment.draft_id}/articles/{comment.article_id}")
    assert "Айгүл" not in page.get_data(as_text=True)


def test_privacy_notice_in_three_languages(client):
    for lang in ("kk", "ru", "en"):
        page = client.get("/privacy", headers={"Accept-Language": lang})
        text = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "94-V" in text
        assert translate(lang, "Storage in Kazakhstan") in text
    assert 'href="/privacy"' in client.get("/register").get_data(as_text=True)
    assert 'href="/password/forgot"' in client.get("/login").get_data(as_text=True)
    assert csrf_token(client, "/password/forgot")
