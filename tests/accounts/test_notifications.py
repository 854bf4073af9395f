"""Notifications people choose: triggers in the services, e-mail over real SMTP in the
recipient's language, in-portal list, settings, one-click unsubscribe, staff reminders."""

import datetime as dt
from urllib.parse import urlsplit

from consult_helpers import make_comment, make_draft, publish
from helpers import login, make_user, new_cycle, post_form, translate
from mailserver import body
from sqlalchemy import select

from portal.accounts import services as accounts
from portal.accounts.models import Notice, User
from portal.budgeting import services as budgeting
from portal.consultations import services as consultations
from portal.moderation import services as moderation


def _confirmed(db, locale="kk", **kwargs):
    user = make_user(**kwargs)
    row = db.session.get(User, user.id)
    accounts.confirm_email(db.session, row)
    row.locale = locale
    db.session.commit()
    return row


def _notices(db, user, kind=None):
    query = select(Notice).where(Notice.user_id == user.id)
    if kind:
        query = query.where(Notice.kind == kind)
    return db.session.scalars(query).all()


def test_rejection_mail_is_in_the_authors_language_with_reason_and_unsubscribe(
    app, client, db, mailbox
):
    author = _confirmed(db, locale="kk", email="author@example.kz")
    draft = make_draft()
    comment = make_comment(draft, author=author)
    moderator = make_user(role="moderator")
    moderation.moderate(db.session, moderator, [comment], "reject", "spam")
    db.session.commit()
    (mail,) = mailbox.wait_for("author@example.kz")
    text = body(mail)
    assert translate("kk", "Spam") in text  # the reason, in Kazakh
    assert draft.title_kk in text
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = mail["List-Unsubscribe"].strip("<>")
    assert unsubscribe in text
    # One click (the mail client's POST, no CSRF token) stops this kind of e-mail.
    assert client.post(urlsplit(unsubscribe).path).status_code == 204
    db.session.expire_all()
    assert accounts_wants(db, author, "comment_rejected", "email") is False
    assert accounts_wants(db, author, "comment_published", "email") is True
    second = make_comment(draft, author=db.session.get(User, author.id), text="Екінші пікір")
    moderation.moderate(db.session, moderator, [second], "reject", "off_topic")
    db.session.commit()
    assert len(mailbox.to("author@example.kz")) == 1  # no second mail ...
    assert len(_notices(db, author, "comment_rejected")) == 2  # ... but the portal still tells


def accounts_wants(db, user, kind, channel):
    from portal.accounts.notify import wants

    return wants(db.session.get(User, user.id), kind, channel)


def test_in_portal_list_and_settings(app, client, db):
    author = make_user()
    login(client, author)
    draft = make_draft()
    comment = make_comment(draft, author=author)
    moderation.moderate(db.session, make_user(role="moderator"), [comment], "publish")
    db.session.commit()
    page = client.get("/notifications", headers={"Accept-Language": "en"})
    assert "is published" in page.get_data(as_text=True)
    # Turn the portal channel off for published comments: no new notice of that kind.
    token_page = "/notifications/settings"
    response = post_form(
        client, token_page, {"comment_answered-portal": "1"}, token_from=token_page
    )
    assert response.status_code == 302
    publish_again = make_comment(draft, author=db.session.get(User, author.id), text="Тағы")
    moderation.moderate(db.session, make_user(role="moderator"), [publish_again], "publish")
    db.session.commit()
    assert len(_notices(db, author, "comment_published")) == 1
    # Answers still come in the portal.
    published = publish(make_comment(draft, author=db.session.get(User, author.id), text="Үш"))
    consultations.answer_comment(
        db.session, draft.staff, published, decision="not_accepted", justification="Себебі бар."
    )
    db.session.commit()
    assert len(_notices(db, author, "comment_answered")) == 1


def test_voting_opens_notifies_verified_residents_of_the_region_only(db, mailbox):
    here = _confirmed(db, locale="ru", email="here@example.kz")
    elsewhere = _confirmed(db, email="elsewhere@example.kz", region="KZ-71")
    unverified = make_user(verified=False)
    cycle = new_cycle("review")
    staff = make_user(role="staff")
    budgeting.move_phase(db.session, staff, cycle, "voting")
    db.session.commit()
    (mail,) = mailbox.wait_for("here@example.kz")
    assert cycle.title_ru in body(mail)
    assert len(_notices(db, here, "voting_open")) == 1
    assert _notices(db, elsewhere) == [] and _notices(db, unverified) == []
    assert mailbox.to("elsewhere@example.kz") == []


def test_staff_get_reminders_for_due_and_overdue_answers(db):
    draft = make_draft()
    comment = publish(make_comment(draft))
    staff = draft.staff
    now = dt.datetime.now(dt.UTC)
    draft.answer_due = (now + dt.timedelta(days=1)).replace(tzinfo=None)
    db.session.commit()
    assert consultations.remind_staff(db.session, now=now) >= 1
    (due,) = _notices(db, staff, "answers_due")
    assert due.params["count"] == 1 and due.link.endswith("/answers")
    draft.answer_due = (now - dt.timedelta(days=1)).replace(tzinfo=None)
    db.session.commit()
    consultations.remind_staff(db.session, now=now)
    assert len(_notices(db, staff, "answers_overdue")) == 1
    # Once answered, nothing is due any more.
    consultations.answer_comment(
        db.session, staff, comment, decision="not_accepted", justification="Жауап берілді."
    )
    db.session.commit()
    before = len(_notices(db, staff))
    consultations.remind_staff(db.session, now=now)
    assert len(_notices(db, staff)) == before


def test_voting_opened_by_its_dates_is_announced_once_by_the_daily_command(app, db):
    resident = make_user()
    cycle = new_cycle("voting")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["budgeting", "announce-voting"])
    assert "Announced voting in 1 cycle(s)." in first.output
    assert len(_notices(db, resident, "voting_open")) == 1
    again = runner.invoke(args=["budgeting", "announce-voting"])
    assert "Announced voting in 0 cycle(s)." in again.output
    assert cycle.id and len(_notices(db, resident, "voting_open")) == 1
