"""A city's worth of data beside the normal demo: `flask demo load --scale city`.

One budget cycle in Almaty (KZ-75) with 10,000 proposals and 200,000 ballots, its greedy result
published, and one open draft with 100,000 comments, most of them in mass campaigns. Rows go in
with bulk INSERTs (executemany), so the city loads in well under a minute on SQLite. The bench
(bench/pages.py) and the tests use the same function with smaller sizes.

Ballots are "imported" (no voter account: 200,000 accounts would only slow the loading and
say nothing about the pages). Comment authors are a few thousand synthetic residents who
cannot sign in (their password hash is not a hash).
"""

import datetime as dt
import hashlib
import itertools
import random
from dataclasses import dataclass

from sqlalchemy import func, insert, select, text

from portal.accounts.models import User, utcnow
from portal.budgeting import domain as budget_domain
from portal.budgeting import integrity, publishing
from portal.budgeting.models import Ballot, BallotChoice, BudgetCycle, Proposal
from portal.consultations import services as consult
from portal.consultations.models import Campaign, Comment, Draft
from portal.keys import receipt_key
from portal.regions.models import District
from portal.regions.services import region_by_code

DAY = dt.timedelta(days=1)
CHUNK = 10_000


@dataclass(frozen=True)
class Scale:
    name: str
    proposals: int
    ballots: int
    comments: int
    authors: int
    campaigns: int


SCALES = {
    "city": Scale("city", 10_000, 200_000, 100_000, 5_000, 3_000),
    # The yardstick the bench compares with: same pages, ~100 rows of everything.
    "small": Scale("small", 100, 100, 100, 50, 5),
}
WORDS = [
    "yard",
    "playground",
    "lighting",
    "bench",
    "park",
    "path",
    "fountain",
    "trees",
    "crossing",
    "library",
    "stadium",
    "bike",
    "lane",
    "bus",
    "stop",
    "square",
    "garden",
    "sports",
    "court",
    "kindergarten",
    "ramp",
    "pavement",
    "skatepark",
]
ARTICLE_TOPICS = (
    "Общие положения", "Основные понятия", "Права жителей", "Обязанности акимата",
    "Благоустройство дворов", "Озеленение", "Освещение", "Детские площадки",
    "Парковки", "Доступная среда", "Участие жителей", "Финансирование",
    "Контроль", "Ответственность", "Переходные положения", "Вступление в силу",
)  # fmt: skip
STANCES = ("support", "object", "reword")


def cycle_title(scale):
    return f"Almaty city-scale budget ({scale.name})"


def draft_title(scale):
    return f"Almaty city-scale rules ({scale.name})"


def find(session, scale):
    """(cycle, draft) of an already loaded scale, or (None, None)."""
    cycle = session.scalar(select(BudgetCycle).where(BudgetCycle.title_en == cycle_title(scale)))
    draft = session.scalar(select(Draft).where(Draft.title_en == draft_title(scale)))
    return cycle, draft


def load_scale(session, scale, staff, *, seed=2026, echo=None):
    """Load one scale (flushes; the caller commits). Returns (cycle, draft); skips if loaded."""
    cycle, draft = find(session, scale)
    if cycle is not None and draft is not None:
        return cycle, draft
    if cycle is not None or draft is not None:
        raise RuntimeError(f"the {scale.name} data is half loaded; restore the database first")
    rng = random.Random(seed)
    region = region_by_code(session, "KZ-75")
    districts = session.scalars(select(District.id).where(District.region_id == region.id)).all()
    say = echo or (lambda message: None)
    authors = _authors(session, scale, region, districts, rng)
    say(f"{len(authors)} authors")
    cycle = _cycle(session, scale, region, staff)
    proposal_ids = _proposals(session, cycle, scale, authors, districts, rng)
    say(f"{len(proposal_ids)} feasible proposals")
    _ballots(session, cycle, scale, proposal_ids, districts, rng)
    say(f"{scale.ballots} ballots")
    publishing.compute_results(session, staff, cycle, rules=[cycle.winner_rule])
    publishing.publish_results(session, staff, cycle)
    say("results published")
    draft = _draft(session, scale, region, staff)
    _comments(session, draft, scale, authors, staff, rng)
    say(f"{scale.comments} comments")
    session.flush()
    return cycle, draft


def _insert(session, model, rows):
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[start : start + CHUNK])


def _next_id(session, model):
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def _advance_sequence(session, model):
    """Explicit ids leave PostgreSQL's serial sequence behind; move it past them."""
    if session.get_bind().dialect.name == "postgresql":
        table = model.__tablename__
        # A model's own table name, never user input.
        sql = (
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608, E501
        )
        session.execute(text(sql))


def _authors(session, scale, region, districts, rng):
    now = utcnow()
    first = _next_id(session, User)
    rows = []
    for i in range(scale.authors):
        tag = f"{scale.name}-{i}"
        rows.append(
            {
                "id": first + i,
                "email": f"city-{tag}@demo.tynda.kz",
                "full_name": f"City resident {tag}",
                "iin_hash": hashlib.sha256(f"tynda-city|{tag}".encode()).hexdigest(),
                "birth_year": 1950 + rng.randrange(55),
                "sex": rng.choice("MF"),
                "phone": "+77010000000",
                "password_hash": "!synthetic",  # never a valid hash: these accounts never sign in
                "region_id": region.id,
                "district_id": rng.choice(districts) if districts else None,
                "role": "resident",
                "verified_region_id": region.id,
                "verified_at": now,
                "verified_via": "staff",
                "session_token": hashlib.sha256(f"token|{tag}".encode()).hexdigest()[:32],
                "created_at": now,
            }
        )
    _insert(session, User, rows)
    _advance_sequence(session, User)
    return [row["id"] for row in rows]


def _cycle(session, scale, region, staff):
    now = utcnow()
    start = now - 100 * DAY
    cycle = BudgetCycle(
        title_kk=f"Алматы қалалық бюджеті ({scale.name})",
        title_ru=f"Городской бюджет Алматы ({scale.name})",
        title_en=cycle_title(scale),
        summary_en="A city's worth of proposals and ballots, for trying the portal at scale.",
        region_id=region.id,
        budget=scale.proposals * 300_000,  # about a hundred winners in a city
        ballot_rule="knapsack",
        winner_rule="greedy",
        proposals_open_at=start,
        review_open_at=start + 30 * DAY,
        voting_open_at=start + 60 * DAY,
        voting_close_at=now - 5 * DAY,
        implementation_at=now + 60 * DAY,
        created_by_id=staff.id,
        created_at=start,
    )
    session.add(cycle)
    session.flush()
    return cycle


def _proposals(session, cycle, scale, authors, districts, rng):
    rows = []
    first = _next_id(session, Proposal)
    for i in range(scale.proposals):
        words = " ".join(rng.sample(WORDS, 3))
        roll = rng.random()
        status = "feasible" if roll < 0.9 else ("infeasible" if roll < 0.97 else "withdrawn")
        created = cycle.proposals_open_at + dt.timedelta(seconds=rng.randrange(30 * 86400))
        rows.append(
            {
                "id": first + i,
                "cycle_id": cycle.id,
                "author_id": rng.choice(authors),
                "title": f"{words.capitalize()} #{i + 1}",
                "description_html": f"<p>Residents ask for a {words} in their neighbourhood.</p>",
                "category": rng.choice(budget_domain.CATEGORIES),
                "district_id": rng.choice(districts) if districts else None,
                "address": f"{rng.randrange(1, 300)} Abay avenue",
                "estimated_cost": rng.randrange(500_000, 50_000_000, 1000),
                "status": status,
                "review_reason": "Reviewed." if status != "withdrawn" else None,
                "created_at": created,
                "updated_at": created,
            }
        )
    _insert(session, Proposal, rows)
    _advance_sequence(session, Proposal)
    return [row["id"] for row in rows if row["status"] == "feasible"]


def _ballots(session, cycle, scale, proposal_ids, districts, rng):
    secret = receipt_key()
    # A few projects are popular, most are not: choices follow a skewed distribution.
    weights = list(itertools.accumulate(1 / (rank + 1) ** 0.8 for rank in range(len(proposal_ids))))
    popular = proposal_ids[:]
    rng.shuffle(popular)
    first = _next_id(session, Ballot)
    at = cycle.voting_open_at + DAY
    ballots, choices, leaves = [], [], []
    for i in range(scale.ballots):
        ballot_id = first + i
        chosen = sorted(set(rng.choices(popular, cum_weights=weights, k=rng.randint(1, 5))))
        ballots.append(
            {
                "id": ballot_id,
                "cycle_id": cycle.id,
                "voter_key": None,
                "ledger_version": 1,
                "channel": "imported",
                "district_id": rng.choice(districts) if districts else None,
                "receipt": budget_domain.receipt_code(cycle.id, ballot_id, chosen, secret),
                "created_at": at,
                "updated_at": at,
            }
        )
        choices.extend({"ballot_id": ballot_id, "proposal_id": pid} for pid in chosen)
        leaves.append((ballot_id, 1, chosen))
        if len(ballots) >= CHUNK:
            _insert(session, Ballot, ballots)
            _insert(session, BallotChoice, choices)
            integrity.append(session, cycle, leaves)  # the public ledger holds every ballot
            ballots, choices, leaves = [], [], []
    _insert(session, Ballot, ballots)
    _insert(session, BallotChoice, choices)
    integrity.append(session, cycle, leaves)
    _advance_sequence(session, Ballot)


def _draft_text():
    lines = ["Проект правил благоустройства города", ""]
    for number, topic in enumerate(ARTICLE_TOPICS, start=1):
        lines.append(f"Статья {number}. {topic}")
        for paragraph in range(1, 4):
            lines.append(f"{paragraph}. Положение {paragraph} статьи {number} о теме «{topic}».")
        lines.append("")
    return "\n".join(lines)


def _draft(session, scale, region, staff):
    draft = consult.create_draft(
        session,
        staff,
        titles={
            "kk": f"Қалалық абаттандыру қағидалары ({scale.name})",
            "ru": f"Городские правила благоустройства ({scale.name})",
            "en": draft_title(scale),
        },
        agency="Akimat of Almaty",
        kind="bylaw",
        region=region,
        text=_draft_text(),
    )
    consult.open_draft(session, staff, draft, now=consult.now_utc() - 2 * DAY)
    return draft


def _comments(session, draft, scale, authors, staff, rng):
    """Comments: 60 % in campaigns of near-identical text, the rest individual."""
    articles = [a.id for a in draft.articles]
    now = utcnow()
    first_comment = _next_id(session, Comment)
    first_campaign = _next_id(session, Campaign)
    in_campaigns = int(scale.comments * 0.6)
    # Campaign sizes: a few big ones, many small; they add up to `in_campaigns`.
    sizes = [max(2, int(rng.paretovariate(1.2))) for _ in range(scale.campaigns)]
    scale_by = in_campaigns / sum(sizes)
    sizes = [max(2, int(s * scale_by)) for s in sizes]
    campaigns, rows = [], []
    next_id = first_comment
    for c, size in enumerate(sizes):
        campaign_id = first_campaign + c
        article = rng.choice(articles)
        text_ = f"<p>Мы против пункта о {rng.choice(WORDS)}: кампания {c + 1}.</p>"
        campaigns.append(
            {
                "id": campaign_id,
                "draft_id": draft.id,
                "size": size,
                "representative_id": next_id,
                "created_at": now,
            }
        )
        for _ in range(size):
            rows.append(_comment_row(next_id, draft, article, rng, authors, now, text_))
            rows[-1]["campaign_id"] = campaign_id
            rows[-1]["status"] = "published"
            next_id += 1
    while next_id < first_comment + scale.comments:
        article = rng.choice(articles + [None])
        text_ = f"<p>Предлагаю уточнить: {' '.join(rng.sample(WORDS, 4))} ({next_id}).</p>"
        rows.append(_comment_row(next_id, draft, article, rng, authors, now, text_))
        next_id += 1
    _insert(session, Campaign, campaigns)
    _insert(session, Comment, rows)
    _advance_sequence(session, Campaign)
    _advance_sequence(session, Comment)


def _comment_row(comment_id, draft, article, rng, authors, now, text_):
    roll = rng.random()
    status = (
        "pending"
        if roll < 0.15
        else "published"
        if roll < 0.9
        else "hidden"
        if roll < 0.95
        else "rejected"
    )
    return {
        "id": comment_id,
        "draft_id": draft.id,
        "article_id": article,
        "author_id": rng.choice(authors),
        "stance": rng.choice(STANCES),
        "text": text_,
        "proposed_wording": "",
        "status": status,
        "reject_reason": "spam" if status == "rejected" else None,
        "report_count": 0,
        "campaign_id": None,
        "created_at": now - dt.timedelta(seconds=rng.randrange(2 * 86400)),
        "justification": "",
        "new_wording": "",
    }
