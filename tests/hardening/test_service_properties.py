"""Hypothesis on the services behind every form: whatever text arrives (control characters,
NULs, huge numbers, any Unicode), a service either does its work or refuses with its own
error (a code the views translate), and a refusal writes nothing. On PostgreSQL this is also
the proof that no NUL reaches the database (it would be a DataError, not a service error).
"""

import datetime as dt

import pytest
from consult_helpers import DRAFT_TEXT, make_comment, make_draft, publish
from hardening_helpers import new_project, row_counts
from helpers import make_iin, make_user, new_cycle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.accounts import services as accounts
from portal.accounts.domain import IINError
from portal.accounts.services import AccountError
from portal.budgeting import services as budget
from portal.budgeting.domain import BudgetRuleError
from portal.consultations import services as consult
from portal.consultations.services import ConsultationError
from portal.extensions import db as _db
from portal.moderation import services as moderation
from portal.regions.services import region_by_code
from portal.textcheck import has_bad_characters

SETTINGS = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
REFUSALS = (BudgetRuleError, ConsultationError, AccountError, IINError)
# Any text a browser or script can send: control characters and NUL included, no lone surrogates.
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=120)
line = st.one_of(text, st.sampled_from(["", " ", "\x00", "ok\x1b[0m", "a\tb", "Ж" * 300]))
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70), text, st.sampled_from(["1 000", "NaN"])
)


def attempt(call, writes_on_refusal=False):
    """Run a service in a savepoint; return the error code (or None) and undo everything."""
    before = row_counts()
    savepoint = _db.session.begin_nested()
    try:
        call()
        _db.session.flush()
        code = None
    except REFUSALS as error:
        code = getattr(error, "code", "refused")
    finally:
        savepoint.rollback()
    if code is not None and not writes_on_refusal:
        assert row_counts() == before, f"refused ({code}) but rows changed"
    return code


@pytest.fixture
def world(db):
    staff = make_user(role="staff")
    resident = make_user()
    draft = make_draft(staff=staff)
    return {
        "staff": staff,
        "resident": resident,
        "moderator": make_user(role="moderator"),
        "region": region_by_code(_db.session, "KZ-75"),
        "cycle": new_cycle("proposals"),
        "funded": new_project(new_cycle("implementation"), 1000, funded=True),
        "draft": draft,
        "unpublished": make_draft(staff=staff, open_it=False),
        "comment": publish(make_comment(draft, author=resident)),
        "pending": make_comment(draft),
    }


@SETTINGS
@given(title=line, description=text, address=line, cost=numbers)
def test_submit_proposal(world, title, description, address, cost):
    code = attempt(
        lambda: budget.submit_proposal(
            _db.session,
            world["resident"],
            world["cycle"],
            title=title,
            description=description,
            category="greenery",
            address=address,
            estimated_cost=cost,
        )
    )
    if has_bad_characters(title) or has_bad_characters(address):
        assert code == "control_chars"


@SETTINGS
@given(titles=st.lists(line, min_size=3, max_size=3), summary=text, budget_value=numbers)
def test_create_cycle(world, titles, summary, budget_value):
    start = dt.datetime(2027, 3, 1)
    values = dict(zip(("title_kk", "title_ru", "title_en"), titles, strict=True))
    code = attempt(
        lambda: budget.create_cycle(
            _db.session,
            world["staff"],
            world["region"],
            **values,
            summary_en=summary,
            budget=budget_value,
            ballot_rule="knapsack",
            winner_rule="greedy",
            proposals_open_at=start,
            review_open_at=start + dt.timedelta(days=30),
            voting_open_at=start + dt.timedelta(days=60),
            voting_close_at=start + dt.timedelta(days=70),
        )
    )
    if any(has_bad_characters(t) for t in titles):
        assert code == "control_chars"


@SETTINGS
@given(note=text, progress=numbers, status=st.sampled_from(["in_progress", "done", "x"]))
def test_add_update(world, note, progress, status):
    code = attempt(
        lambda: budget.add_update(
            _db.session,
            world["staff"],
            world["funded"],
            status=status,
            progress=progress,
            note=note,
        )
    )
    if has_bad_characters(note, multiline=True):
        assert code == "control_chars"


@SETTINGS
@given(reason=text, final_cost=numbers, feasible=st.booleans())
def test_review_proposal(world, reason, final_cost, feasible):
    proposal = new_project(world["cycle"], 1000, status="submitted")
    attempt(
        lambda: budget.review_proposal(
            _db.session,
            world["staff"],
            proposal,
            feasible=feasible,
            reason=reason,
            final_cost=final_cost,
        )
    )


@SETTINGS
@given(body=text, wording=text, stance=st.sampled_from(["support", "object", "amend", "??"]))
def test_add_comment(world, body, wording, stance):
    draft = world["draft"]
    code = attempt(
        lambda: consult.add_comment(
            _db.session,
            world["resident"],
            draft,
            stance=stance,
            text=body,
            article_id=draft.articles[0].id,
            proposed_wording=wording,
        )
    )
    if has_bad_characters(body.strip(), multiline=True) and body.strip():
        assert code in ("control_chars", "bad_stance", "text_too_long")


@SETTINGS
@given(titles=st.lists(line, min_size=3, max_size=3), agency=line, note=text, extra=text)
def test_create_draft(world, titles, agency, note, extra):
    code = attempt(
        lambda: consult.create_draft(
            _db.session,
            world["staff"],
            titles=dict(zip(("kk", "ru", "en"), titles, strict=True)),
            agency=agency,
            kind="law",
            region=world["region"],
            text=DRAFT_TEXT + extra,
            explanatory_note=note,
        )
    )
    if has_bad_characters(agency):
        assert code == "control_chars"


@SETTINGS
@given(number=line, title=line, body=text)
def test_correct_article(world, number, title, body):
    article = world["unpublished"].articles[0]
    attempt(
        lambda: consult.correct_article(
            _db.session, world["staff"], article, number=number, title=title, text=body
        )
    )


@SETTINGS
@given(days=st.integers(min_value=-5, max_value=100), reason=text)
def test_extend_draft(world, days, reason):
    attempt(
        lambda: consult.extend_draft(
            _db.session, world["staff"], world["draft"], working_days=days, reason=reason
        )
    )


@SETTINGS
@given(
    decision=st.sampled_from(["accepted", "partly_accepted", "not_accepted", "maybe"]),
    justification=text,
    wording=text,
)
def test_answer_comment(world, decision, justification, wording):
    attempt(
        lambda: consult.answer_comment(
            _db.session,
            world["staff"],
            world["comment"],
            decision=decision,
            justification=justification,
            new_wording=wording,
        )
    )


@SETTINGS
@given(reason=st.one_of(st.none(), text), action=st.sampled_from(["publish", "reject", "x"]))
def test_moderate(world, reason, action):
    attempt(
        lambda: moderation.moderate(
            _db.session, world["moderator"], [world["pending"]], action, reason
        )
    )


@SETTINGS
@given(topic=line)
def test_set_topic(world, topic):
    code = attempt(
        lambda: moderation.set_topic(_db.session, world["moderator"], world["comment"], topic)
    )
    if has_bad_characters(topic.strip()):
        assert code == "bad_topic"


@SETTINGS
@given(full_name=line, email=line, phone=line, password=text)
def test_register(world, full_name, email, phone, password):
    code = attempt(
        lambda: accounts.register(
            _db.session,
            full_name=full_name,
            iin=make_iin(),
            email=email,
            phone=phone,
            password=password or "x",
            region=world["region"],
            district=None,
            key="property-key",
        )
    )
    if any(has_bad_characters(v) for v in (full_name, email, phone)):
        assert code == "control_chars"
    elif len(phone) > 16:
        assert code == "bad_phone"  # the column holds 16: PostgreSQL would refuse it


@SETTINGS
@given(email=line, password=text)
def test_authenticate(world, email, password):
    # Sign-in manages its own write transaction (database.start_write): no savepoint here.
    try:
        accounts.authenticate(
            _db.session, email, password, client="127.0.0.1", attempts=1000, window_seconds=60
        )
        outcome = None
    except AccountError as error:
        outcome = error.code
    finally:
        _db.session.rollback()
    assert outcome == "bad_credentials"  # no generated e-mail belongs to an account
