"""Helpers for consultation and moderation tests: drafts and comments made via the services."""

import datetime as dt
from dataclasses import dataclass

from helpers import make_user

from portal.consultations import services
from portal.extensions import db
from portal.regions.services import region_by_code

DRAFT_TEXT = """Проект Закона о благоустройстве

Статья 1. Основные понятия
1. Благоустройство — комплекс мероприятий.
2. Двор — территория у жилого дома.

Статья 2. Общественное обсуждение
1. Жители вправе вносить предложения.
2. Акимат рассматривает их в течение 15 рабочих дней.

Статья 3. Вступление в силу
Настоящий Закон вводится в действие через десять дней.
"""


def make_draft(region="KZ-75", staff=None, open_it=True, now=None, text=DRAFT_TEXT, **kwargs):
    """A draft of Almaty (or national with region=None), opened now unless open_it=False."""
    region_obj = region_by_code(db.session, region) if region else None
    staff = staff or make_user(
        role="admin" if region is None else "staff", region=region or "KZ-75"
    )
    draft = services.create_draft(
        db.session,
        staff,
        titles={"kk": "Абаттандыру туралы", "ru": "О благоустройстве", "en": "On public spaces"},
        agency=kwargs.pop("agency", "Akimat of Almaty"),
        kind="law",
        region=region_obj,
        text=text,
        second_text=kwargs.pop("second_text", None),
    )
    if open_it:
        services.open_draft(db.session, staff, draft, now=now)
    db.session.commit()
    draft.staff = staff
    return draft


def make_comment(draft, author=None, text="Предлагаю расширить тротуары.", article=1, **kwargs):
    author = author or make_user()
    article_id = draft.articles[article - 1].id if article else None
    comment = services.add_comment(
        db.session,
        author,
        draft,
        stance=kwargs.pop("stance", "object"),
        text=text,
        article_id=article_id,
        **kwargs,
    )
    db.session.commit()
    return comment


def publish(comment, status="published"):
    comment.status = status
    db.session.commit()
    return comment


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


@dataclass
class FakeCluster:
    ids: tuple
    representative_id: int
    size: int


def exact_copies(items, threshold=0.8):
    """A stand-in for the MinHash clusterer: groups texts equal up to case and spaces."""
    groups = {}
    for comment_id, text in items:
        groups.setdefault(text.strip().lower(), []).append(comment_id)
    return [FakeCluster(tuple(ids), ids[0], len(ids)) for ids in groups.values() if len(ids) > 1]
