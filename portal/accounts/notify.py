"""Notifications people choose: the one function capabilities call, and the jobs that send.

    from portal.accounts.notify import notify, notify_region
    notify(session, author, "comment_answered", params={"title": ...}, link="/consultations/7")

`notify` adds a Notice row (shown in the portal if the person wants that) and, if they want
e-mail and their address is confirmed, queues a "notify.email" job; it only flushes.
`notify_region` queues one "notify.region" job that notifies every verified resident of a
region in batches, so a request never loops over thousands of people. Budgeting,
consultations and moderation import this module; it imports none of them.
"""

from flask import current_app, has_request_context, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts import tokens
from portal.accounts.models import Notice, User, utcnow
from portal.jobs import enqueue, job
from portal.mail import deliver, render_mail

RESIDENT_KINDS = (
    "proposal_reviewed",
    "comment_published",
    "comment_rejected",
    "comment_answered",
    "voting_open",
    "results_published",
)
STAFF_KINDS = ("answers_due", "answers_overdue")
KINDS = RESIDENT_KINDS + STAFF_KINDS
CHANNELS = ("email", "portal")
BATCH = 500


def kind_labels():
    return {
        "proposal_reviewed": _("My proposal was reviewed"),
        "comment_published": _("My comment was published"),
        "comment_rejected": _("My comment was rejected (with the reason)"),
        "comment_answered": _("My comment was answered"),
        "voting_open": _("Voting opens in my region"),
        "results_published": _("Results are published in my region"),
        "answers_due": _("Answers to comments due within 3 working days"),
        "answers_overdue": _("Overdue answers to comments"),
    }


def kinds_for(user):
    staff = user.role in ("staff", "admin")
    return KINDS if staff else RESIDENT_KINDS


def wants(user, kind, channel):
    return bool(((user.notify_prefs or {}).get(kind) or {}).get(channel, True))


def set_preferences(session, user, chosen):
    """`chosen`: set of (kind, channel) pairs that are on; everything else is off."""
    user.notify_prefs = {
        kind: {channel: (kind, channel) in chosen for channel in CHANNELS} for kind in KINDS
    }
    session.flush()


def unsubscribe(session, user, kind):
    prefs = dict(user.notify_prefs or {})
    kinds = KINDS if kind == "all" else (kind,)
    for name in kinds:
        prefs[name] = {**(prefs.get(name) or {"portal": True}), "email": False}
    user.notify_prefs = prefs
    session.flush()


def notify(session, user, kind, *, params=None, link=""):
    """Tell one person about something (flush only; the e-mail goes after the commit)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if user is None or user.deleted_at is not None:
        return None
    email = wants(user, kind, "email") and user.email_confirmed_at is not None
    portal = wants(user, kind, "portal")
    if not (email or portal):
        return None
    notice = Notice(
        user_id=user.id, kind=kind, params=dict(params or {}), link=link, in_portal=portal
    )
    session.add(notice)
    session.flush()
    if email:
        enqueue(session, "notify.email", {"notice_id": notice.id, "base": _base_url()})
    return notice


def notify_region(session, region_id, kind, *, params=None, link=""):
    """Notify every verified resident of a region (national: region_id None) in a job."""
    payload = {
        "region_id": region_id,
        "kind": kind,
        "params": dict(params or {}),
        "link": link,
        "base": _base_url(),
    }
    return enqueue(session, "notify.region", payload)


def notify_many(session, users, kind, *, params=None, link=""):
    return [notify(session, user, kind, params=params, link=link) for user in users]


def describe(kind, params, lang=None):
    """The notification's sentence in the current language."""
    title = _pick(params.get("title"), lang)
    texts = {
        "proposal_reviewed": _(
            "Your proposal «%(title)s» was reviewed: %(verdict)s.",
            title=title,
            verdict=_("feasible") if params.get("status") == "feasible" else _("not feasible"),
        ),
        "comment_published": _("Your comment on «%(title)s» is published.", title=title),
        "comment_rejected": _(
            "Your comment on «%(title)s» was not published. Reason: %(reason)s",
            title=title,
            reason=_pick(params.get("reason"), lang) or "—",
        ),
        "comment_answered": _("The agency answered your comment on «%(title)s».", title=title),
        "voting_open": _(
            "Voting is open in «%(title)s». Choose the projects you support.", title=title
        ),
        "results_published": _("The results of «%(title)s» are published.", title=title),
        "answers_due": _(
            "%(count)d comment(s) on «%(title)s» must be answered by %(date)s.",
            count=params.get("count", 0),
            title=title,
            date=params.get("date", ""),
        ),
        "answers_overdue": _(
            "%(count)d comment(s) on «%(title)s» are past their answer deadline.",
            count=params.get("count", 0),
            title=title,
        ),
    }
    if params.get("extra"):
        return texts[kind] + " " + _pick(params["extra"], lang)
    return texts[kind]


def titles(obj):
    """{"kk": ..., "ru": ..., "en": ...} from an object with title_kk/_ru/_en."""
    return {code: getattr(obj, f"title_{code}", "") or "" for code in ("kk", "ru", "en")}


def _pick(value, lang):
    """Titles may come in several languages: {"kk": ..., "ru": ..., "en": ...}."""
    if isinstance(value, dict):
        for code in (lang, "kk", "ru", "en"):
            if code and value.get(code):
                return value[code]
        return ""
    return value or ""


def _base_url():
    if has_request_context():
        return request.host_url.rstrip("/")
    return current_app.config.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")


def unsubscribe_token(user, kind):
    return tokens.make(current_app.config["SECRET_KEY"], user, "unsubscribe", kind=kind)


@job("notify.email")
def send_notice_email(payload, progress):
    from portal.extensions import db

    notice = db.session.get(Notice, payload["notice_id"])
    if notice is None or notice.emailed_at is not None or notice.user.deleted_at is not None:
        return {"sent": 0}
    user = notice.user
    base = payload.get("base") or _base_url()
    lang = user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(lang):
        text = describe(notice.kind, notice.params or {}, lang)
    unsubscribe_link = f"{base}/notifications/unsubscribe/{unsubscribe_token(user, notice.kind)}"
    subject, body = render_mail(
        "notification",
        lang,
        {
            "user": user,
            "text": text,
            "link": f"{base}{notice.link}" if notice.link else "",
            "settings_link": f"{base}/notifications/settings",
            "unsubscribe_link": unsubscribe_link,
        },
    )
    deliver(
        {
            "to": user.email,
            "from": current_app.config.get("MAIL_DEFAULT_SENDER") or "no-reply@tynda.kz",
            "subject": subject,
            "body": body,
            "headers": {
                "List-Unsubscribe": f"<{unsubscribe_link}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        },
        current_app.config,
        current_app.instance_path,
    )
    notice.emailed_at = utcnow()
    db.session.commit()
    progress(1, 1)
    return {"sent": 1}


@job("notify.region")
def notify_region_job(payload, progress):
    """Create the notices of a region-wide event in batches; each e-mail is its own job."""
    from portal.extensions import db

    query = select(User).where(User.deleted_at.is_(None), User.verified_region_id.is_not(None))
    if payload.get("region_id") is not None:
        query = query.where(User.verified_region_id == payload["region_id"])
    last_id, done = 0, 0
    while True:
        users = db.session.scalars(
            query.where(User.id > last_id).order_by(User.id).limit(BATCH)
        ).all()
        if not users:
            break
        for user in users:
            notify(
                db.session,
                user,
                payload["kind"],
                params=payload.get("params"),
                link=payload.get("link", ""),
            )
        last_id = users[-1].id
        done += len(users)
        db.session.commit()
        progress(done, None, "notifying")
    return {"notified": done}
