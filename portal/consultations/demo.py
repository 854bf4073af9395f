"""Demo consultations: an open and a closed draft for Almaty (KZ-75) and an open national one,
with comments, a campaign cluster and answers. Registered in `portal.demo.LOADERS`.

The Almaty drafts have a Kazakh and a Russian text (the national one is in English only), so
the switch between the two texts and comments made on either can be seen."""

import datetime as dt

from sqlalchemy import select

from portal.accounts.models import User
from portal.consultations import services
from portal.consultations.models import Campaign, Draft
from portal.regions.services import region_by_code

OPEN_TEXT = """Статья 1. Общие положения
1. Настоящие Правила определяют порядок благоустройства дворов в городе Алматы.
2. Правила обязательны для всех собственников жилья.

Статья 2. Озеленение
1. Во дворах сохраняются существующие деревья.
2. Вырубка допускается только по решению комиссии.

Статья 3. Детские площадки
Площадки оборудуются покрытием из резиновой крошки.
"""

OPEN_TEXT_KK = """1-бап. Жалпы ережелер
1. Осы Қағида Алматы қаласындағы аулаларды абаттандыру тәртібін белгілейді.
2. Қағида барлық тұрғын үй меншік иелері үшін міндетті.

2-бап. Көгалдандыру
1. Аулаларда бар ағаштар сақталады.
2. Ағаш кесуге тек комиссияның шешімі бойынша рұқсат етіледі.

3-бап. Балалар алаңдары
Алаңдар резеңке үгінді жабынмен жабдықталады.
"""

CLOSED_TEXT = """1-бап. Жалпы ережелер
1. Осы Қағида қоғамдық көлік аялдамаларын орналастыру тәртібін белгілейді.

2-бап. Аялдамалар
1. Аялдамалар арасындағы қашықтық 500 метрден аспауы тиіс.
"""

CLOSED_TEXT_RU = """Статья 1. Общие положения
1. Настоящие Правила определяют порядок размещения остановок общественного транспорта.

Статья 2. Остановки
1. Расстояние между остановками не должно превышать 500 метров.
"""

NATIONAL_TEXT = """Article 1. Purpose
1. This Law sets rules for public consultations on draft regulations.

Article 2. Answers
1. Every comment receives a reasoned answer within 15 working days.
"""

CAMPAIGN = "Прошу сохранить все деревья во дворах Алматы, вырубка недопустима!"


def _user(session, email):
    return session.scalar(select(User).where(User.email == email))


def load_consultations(session):
    """Create the demo drafts once (skipped if the open Almaty draft exists)."""
    if session.scalar(select(Draft.id).where(Draft.title_en == "Courtyard improvement rules")):
        return
    almaty = region_by_code(session, "KZ-75")
    staff = _user(session, "staff@demo.tynda.kz")
    admin = _user(session, "admin@demo.tynda.kz")
    resident = _user(session, "resident@demo.tynda.kz")
    moderator = _user(session, "moderator@demo.tynda.kz")
    now = services.now_utc().replace(tzinfo=dt.UTC)

    open_draft = services.create_draft(
        session, staff, titles={"kk": "Аулаларды абаттандыру қағидалары",
                                "ru": "Правила благоустройства дворов",
                                "en": "Courtyard improvement rules"},
        agency="Управление городской среды г. Алматы", kind="bylaw", region=almaty,
        text=OPEN_TEXT, second_text=OPEN_TEXT_KK,
        summaries={"ru": "Кто и как благоустраивает дворы.",
                   "kk": "Аулаларды кім және қалай абаттандырады."},
    )  # fmt: skip
    services.open_draft(session, staff, open_draft, now=now - dt.timedelta(days=2))
    article = open_draft.articles[1]
    first = services.add_comment(
        session, resident, open_draft, stance="reword", article_id=article.id,
        text="Нужно добавить общественные слушания перед вырубкой.",
        proposed_wording="Вырубка допускается только по решению комиссии после слушаний.",
        text_language="ru",
    )  # fmt: skip
    first.status = "published"
    # A comment on the Kazakh text of the same article, shown beside the Russian one.
    services.add_comment(
        session, resident, open_draft, stance="reword", article_id=article.id, text_language="kk",
        text="Кесілген ағаштың орнына екі көшет отырғызу керек.",
        proposed_wording="Ағаш кесуге тек комиссияның шешімі бойынша және екі көшет отырғызу "
        "шартымен рұқсат етіледі.",
    ).status = "published"  # fmt: skip
    copies = []
    for i in range(6):
        text = CAMPAIGN if i % 2 == 0 else CAMPAIGN.replace("!", ".")
        copies.append(
            services.add_comment(
                session, resident, open_draft, stance="object", text=text, article_id=article.id
            )
        )
    services.add_comment(
        session, resident, open_draft, stance="support", text="Поддерживаю резиновое покрытие.",
        article_id=open_draft.articles[2].id,
    )  # fmt: skip
    session.flush()
    campaign = Campaign(draft_id=open_draft.id, size=len(copies), representative_id=copies[0].id)
    session.add(campaign)
    session.flush()
    for comment in copies:
        comment.campaign_id, comment.status = campaign.id, "published"

    closed = services.create_draft(
        session, staff, titles={"kk": "Аялдамаларды орналастыру қағидасы",
                                "ru": "Правила размещения остановок",
                                "en": "Bus stop placement rules"},
        agency="Алматы қаласының жолаушылар көлігі басқармасы", kind="bylaw", region=almaty,
        text=CLOSED_TEXT, second_text=CLOSED_TEXT_RU,
    )  # fmt: skip
    services.open_draft(session, staff, closed, now=now - dt.timedelta(days=40))
    for text, decision, justification, wording in (
        ("Сократить расстояние до 400 метров.", "partly_accepted",
         "Для центра города принято 400 м, для окраин — 500 м.", ""),
        ("Аялдамаларға шатыр қажет.", "accepted", "", "Аялдамалар шатырмен жабдықталады."),
        ("Отменить все остановки.", "not_accepted", "Противоречит задачам транспорта.", ""),
    ):  # fmt: skip
        comment = services.add_comment(
            session, resident, closed, stance="reword", text=text,
            article_id=closed.articles[-1].id, now=now - dt.timedelta(days=39),
        )  # fmt: skip
        comment.status = "published"
        session.flush()
        services.answer_comment(
            session, staff, comment, decision=decision, justification=justification,
            new_wording=wording, now=now - dt.timedelta(days=20),
        )  # fmt: skip
    services.close_draft(session, staff, closed, now=now)

    national = services.create_draft(
        session, admin, titles={"kk": "Қоғамдық талқылау туралы",
                                "ru": "Об общественных обсуждениях",
                                "en": "On public consultations"},
        agency="Ministry of Justice", kind="law", region=None, text=NATIONAL_TEXT,
    )  # fmt: skip
    services.open_draft(session, admin, national, now=now)
    services.add_comment(
        session, moderator, national, stance="support", text="A good law; please keep the 15 days.",
        article_id=national.articles[1].id,
    )  # fmt: skip
    session.flush()
    return [open_draft, closed, national]
