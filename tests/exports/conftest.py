"""Fixtures for export tests: a closed cycle with ballots and results, a cycle in voting,
and a draft with comments in every state. Voters have distinctive personal data so tests
can check that none of it reaches an export."""

import pytest
from consult_helpers import make_comment, make_draft, publish
from helpers import make_iin, make_user

from portal.budgeting import publishing
from portal.budgeting import services as budget
from portal.budgeting.models import Proposal
from portal.extensions import db as _db

SECRET = "receipt-secret"


VOTER_NAME = "Zhanar Uniquename"


def _project(cycle, cost, title, category="yards", status="feasible"):
    author = make_user(full_name=VOTER_NAME)
    proposal = Proposal(
        cycle_id=cycle.id,
        author_id=author.id,
        title=title,
        description_html="<p>Text</p>",
        category=category,
        estimated_cost=cost,
        status=status,
    )
    _db.session.add(proposal)
    _db.session.commit()
    return proposal


@pytest.fixture
def staff(db):
    return make_user(role="staff")


@pytest.fixture
def closed_cycle(db, staff, new_cycle):
    """A cycle in its results phase: 3 projects, 5 ballots, greedy and MES computed and
    greedy published. Titles include a formula-like one."""
    cycle = new_cycle("results")
    a = _project(cycle, 400_000, "Детская площадка во дворе")
    b = _project(cycle, 500_000, '=HYPERLINK("http://evil")', category="lighting")
    c = _project(cycle, 300_000, 'Тротуар; "новый"', category="roads")
    _project(cycle, 100_000, "Withdrawn idea", status="withdrawn")
    choices = [[a.id, b.id], [a.id], [a.id, c.id], [b.id, c.id], [c.id]]
    people = [("850505", 4), ("990101", 3), ("600303", 3), ("020202", 6), ("750707", 4)]
    for (birth, sex), ids in zip(people, choices):
        voter = make_user(iin=make_iin(birth=birth, century_sex=sex), full_name=VOTER_NAME)
        budget.cast_ballot(_db.session, voter, cycle, ids, secret=SECRET, now=cycle.voting_open_at)
    _db.session.commit()
    publishing.compute_results(_db.session, staff, cycle, rules=["greedy", "mes"])
    publishing.publish_results(_db.session, staff, cycle)
    _db.session.commit()
    cycle.projects = (a, b, c)
    return cycle


@pytest.fixture
def voting_cycle(db, new_cycle):
    cycle = new_cycle("voting", title_en="Open vote")
    _project(cycle, 100_000, "Skate park")
    return cycle


@pytest.fixture
def other_cycle(db, new_cycle):
    return new_cycle("results", "KZ-71", title_en="Astana budget")


@pytest.fixture
def draft(db, staff):
    """An open Almaty draft: published (one answered, one formula-like), pending, rejected."""
    draft = make_draft(staff=staff)
    author = make_user(full_name=VOTER_NAME)
    answered = publish(make_comment(draft, author=author, text="Расширить тротуары до 3 м."))
    from portal.consultations import services as consult

    consult.answer_comment(
        _db.session,
        staff,
        answered,
        decision="partly_accepted",
        justification="Учтено в статье 1.",
        new_wording="Ширина тротуара — не менее 3 м.",
    )
    publish(make_comment(draft, author=author, text="=cmd|' /C calc'!A0", article=2))
    make_comment(draft, author=author, text="Ждёт модерации", article=None, stance="support")
    publish(
        make_comment(draft, author=author, text="Мой телефон +77019998877", article=3),
        status="rejected",
    )
    _db.session.commit()
    return draft


@pytest.fixture
def other_draft(db):
    return make_draft(region="KZ-71")


RU_TEXT = """Преамбула проекта.

Статья 1. Общие положения
1. Правила определяют порядок благоустройства дворов.
2. Правила обязательны для всех.

Статья 2. Озеленение
1. Во дворах сохраняются деревья.
2. Вырубка допускается только по решению комиссии.
"""
KK_TEXT = """Жобаның кіріспесі.

1-бап. Жалпы ережелер
1. Қағида аулаларды абаттандыру тәртібін белгілейді.
2. Қағида барлығы үшін міндетті.

2-бап. Көгалдандыру
1. Аулаларда ағаштар сақталады.
2. Ағаш кесуге тек комиссияның шешімі бойынша рұқсат етіледі.
"""


@pytest.fixture
def bilingual_draft(db, staff):
    """An open draft written in Russian with its Kazakh text: one published comment on
    article 2 by a resident who read the Kazakh text, one on the whole draft (original)."""
    draft = make_draft(staff=staff, text=RU_TEXT, second_text=KK_TEXT)
    author = make_user(full_name=VOTER_NAME)
    publish(make_comment(draft, author=author, text="Сақтау керек.", article=2, text_language="kk"))
    publish(make_comment(draft, author=author, text="В целом за.", article=None))
    return draft


@pytest.fixture
def bilingual_cycle(closed_cycle):
    """The closed cycle with its first project titled in Kazakh and Russian too."""
    project = closed_cycle.projects[0]
    project.title_kk = "Ауладағы балалар алаңы"
    project.title_ru = "Детская площадка (рус.)"
    project.description_html_kk = "<p>Сипаттама</p>"
    _db.session.commit()
    return closed_cycle
