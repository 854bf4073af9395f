"""Demo budget cycles for Almaty (KZ-75), one in each phase, with proposals, ballots and
results, so a newcomer can open every screen. Registered in `portal.demo.LOADERS`."""

import datetime as dt

from flask import current_app
from sqlalchemy import select

from portal.accounts import services as accounts
from portal.accounts.domain import check_digit
from portal.accounts.models import User, utcnow
from portal.accounts.models import iin_key as app_iin_key
from portal.budgeting import integrity, publishing, services
from portal.budgeting.models import BudgetCycle, Proposal
from portal.keys import receipt_key
from portal.regions.services import region_by_code

DAY = dt.timedelta(days=1)
VOTERS = 12
MARKER = "Almaty People's Budget — proposals"

CYCLES = (
    # phase, English title, Kazakh, Russian, days from now to the proposals opening
    (
        "proposals",
        MARKER,
        "Алматы халық бюджеті — ұсыныстар",
        "Народный бюджет Алматы — предложения",
        -10,
    ),
    (
        "review",
        "Bostandyk yards — review",
        "Бостандық аулалары — сараптама",
        "Дворы Бостандыка — экспертиза",
        -40,
    ),
    (
        "voting",
        "Almaty People's Budget — vote",
        "Алматы халық бюджеті — дауыс беру",
        "Народный бюджет Алматы — голосование",
        -60,
    ),
    (
        "results",
        "Medeu parks 2025 — results",
        "Медеу саябақтары 2025 — нәтижелер",
        "Парки Медеу 2025 — итоги",
        -120,
    ),
    ("implementation", "Almaty lighting 2024", "Алматы жарығы 2024", "Освещение Алматы 2024", -400),
)
# Days from the proposals opening to review, voting, close and implementation, per phase.
SPANS = {
    "proposals": (40, 60, 80, 200),
    "review": (30, 60, 80, 200),
    "voting": (30, 55, 90, 200),
    "results": (30, 60, 90, 300),
    "implementation": (30, 60, 90, 120),
}
PROJECTS = (
    # title, category, cost, district slug
    ("Playground in the courtyard of Abay 150", "yards", 18_000_000, "bostandyk"),
    ("LED street lights on Rozybakiev street", "lighting", 25_000_000, "bostandyk"),
    ("Sidewalk repair near school No. 12", "roads", 12_000_000, "almaly"),
    ("Trees and benches on Zheltoksan", "greenery", 9_000_000, "almaly"),
    ("Outdoor gym in Medeu park", "sports", 15_000_000, "medeu"),
    ("Ramps at the Auezov polyclinic", "accessibility", 6_000_000, "auezov"),
    ("Open-air stage for yard concerts", "culture", 20_000_000, "medeu"),
)
# The same projects in Kazakh and Russian (title, then the description's first sentence).
PROJECTS_KK = (
    "Абай 150 ауласындағы балалар алаңы",
    "Розыбакиев көшесіндегі жарықдиодты шамдар",
    "№12 мектеп жанындағы тротуарды жөндеу",
    "Желтоқсан көшесіндегі ағаштар мен орындықтар",
    "Медеу саябағындағы ашық аспан астындағы спорт алаңы",
    "Әуезов емханасындағы пандустар",
    "Аула концерттеріне арналған ашық сахна",
)
PROJECTS_RU = (
    "Детская площадка во дворе Абая 150",
    "Светодиодные фонари на улице Розыбакиева",
    "Ремонт тротуара у школы № 12",
    "Деревья и скамейки на Желтоксан",
    "Уличный тренажёрный зал в парке Медеу",
    "Пандусы у поликлиники Ауэзовского района",
    "Открытая сцена для дворовых концертов",
)
WHY = {
    "en": "<strong>Why:</strong> residents asked for it at a yard meeting.",
    "kk": "<strong>Неге:</strong> тұрғындар аула жиналысында сұрады.",
    "ru": "<strong>Зачем:</strong> жители просили об этом на собрании двора.",
}


def _secret():
    # The same secret the views use, so demo receipts can be looked up.
    return receipt_key()


def _iin(serial):
    while True:
        body = f"950505{4}{serial:04d}"
        digit = check_digit([int(ch) for ch in body])
        if digit is not None:
            return body + str(digit)
        serial += 1000


def _voters(session, almaty, key):
    voters = []
    districts = list(almaty.districts)
    for number in range(1, VOTERS + 1):
        email = f"voter{number:02d}@demo.tynda.kz"
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            user = accounts.register(
                session,
                full_name=f"Demo Voter {number}",
                iin=_iin(number),
                email=email,
                phone="+77010000000",
                password="tynda-demo-2026",  # noqa: S106
                region=almaty,
                district=districts[number % len(districts)] if districts else None,
                key=key,
            )
            accounts.mark_verified(user, almaty.id, "staff")
        voters.append(user)
    session.flush()
    return voters


def load_budgeting(session, iin_key=None):
    """Create the demo cycles once (skipped if the proposals cycle exists)."""
    if session.scalar(select(BudgetCycle.id).where(BudgetCycle.title_en == MARKER)):
        return
    almaty = region_by_code(session, "KZ-75")
    staff = session.scalar(select(User).where(User.email == "staff@demo.tynda.kz"))
    resident = session.scalar(select(User).where(User.email == "resident@demo.tynda.kz"))
    if staff is None or resident is None:
        return
    voters = _voters(session, almaty, iin_key or app_iin_key())
    districts = {d.slug: d for d in almaty.districts}
    now = utcnow().replace(microsecond=0)
    for phase, title_en, title_kk, title_ru, offset in CYCLES:
        start = now + offset * DAY
        review, voting, close, implementation = (start + d * DAY for d in SPANS[phase])
        cycle = services.create_cycle(
            session,
            staff,
            almaty,
            title_en=title_en,
            title_kk=title_kk,
            title_ru=title_ru,
            summary_en="Residents propose and choose projects for the city; the city builds "
            "the winners.",
            summary_kk="Тұрғындар қалаға жобалар ұсынып, таңдайды; қала жеңімпаздарды салады.",
            summary_ru="Жители предлагают и выбирают проекты для города; город реализует "
            "победителей.",
            budget=60_000_000,
            cost_cap=30_000_000,
            min_votes=2 if phase == "results" else None,
            ballot_rule="knapsack",
            winner_rule="mes" if phase == "results" else "greedy",
            ballots_final=False,
            district_id=None,
            proposals_open_at=start,
            review_open_at=review,
            voting_open_at=voting,
            voting_close_at=close,
            implementation_at=implementation,
        )
        _fill(session, cycle, phase, staff, resident, voters, districts, now)
    session.flush()


def _fill(session, cycle, phase, staff, resident, voters, districts, now):
    proposals = []
    for index, (title, category, cost, slug) in enumerate(PROJECTS):
        author = resident if index % 3 == 0 else voters[index]
        district = districts.get(slug)
        proposal = services.submit_proposal(
            session,
            author,
            cycle,
            now=cycle.proposals_open_at + DAY,
            title=title,
            description=f"<p>{title}. {WHY['en']}</p>",
            title_kk=PROJECTS_KK[index],
            description_kk=f"<p>{PROJECTS_KK[index]}. {WHY['kk']}</p>",
            title_ru=PROJECTS_RU[index],
            description_ru=f"<p>{PROJECTS_RU[index]}. {WHY['ru']}</p>",
            category=category,
            district_id=district.id if district else None,
            address="Almaty",
            estimated_cost=cost,
        )
        proposals.append(proposal)
    if phase == "proposals":
        return
    reviewed_at = cycle.review_open_at + DAY
    for index, proposal in enumerate(proposals):
        if phase == "review" and index >= 3:
            break  # some proposals are still waiting for review
        if index == 5:
            services.review_proposal(
                session,
                staff,
                proposal,
                feasible=False,
                reason="The polyclinic building is republican property; the ramps are in its "
                "own repair plan for next year.",
                now=reviewed_at,
            )
        else:
            services.review_proposal(session, staff, proposal, feasible=True, now=reviewed_at)
    if phase == "review":
        return
    feasible = [p for p in proposals if p.status == "feasible"]
    at = cycle.voting_open_at + DAY
    for number, voter in enumerate(voters):
        if phase == "voting" and number >= VOTERS // 2:
            break
        picks, total = [], 0
        for offset in range(len(feasible)):
            project = feasible[(number + offset * (number % 3 + 1)) % len(feasible)]
            if project.id not in picks and total + project.cost <= cycle.budget and len(picks) < 3:
                picks.append(project.id)
                total += project.cost
        channel = "paper" if number % 4 == 3 else "online"
        services.cast_ballot(
            session,
            staff if channel == "paper" else voter,
            cycle,
            picks,
            secret=_secret(),
            ballot_key=integrity.ballot_key(current_app.config),
            now=at,
            voter=voter,
            channel=channel,
        )
    if phase == "voting":
        return
    publishing.compute_results(session, staff, cycle, rules=["greedy", "mes"], now=now, deadline=2)
    publishing.publish_results(session, staff, cycle, now=now)
    if phase != "implementation":
        return
    funded = session.scalars(
        select(Proposal).where(Proposal.cycle_id == cycle.id, Proposal.funded.is_(True))
    ).all()
    for index, proposal in enumerate(funded):
        status, progress, note = [
            ("done", 100, "Finished and handed over to the akimat."),
            ("in_progress", 60, "Foundations are laid; equipment arrives next month."),
            ("cancelled", 0, "The site turned out to be private land; money returns to the pool."),
            ("planned", 0, "Tender announced."),
        ][index % 4]
        services.add_update(
            session,
            staff,
            proposal,
            status=status,
            progress=progress,
            note=note,
            now=cycle.implementation_at + DAY * (index + 1),
        )
