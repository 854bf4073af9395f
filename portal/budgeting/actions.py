"""What the budgeting services' staff and resident actions share: who may act, in which
phase, clean text, and the records an action leaves (the audit log, a proposal's history).

No Flask imports. Refusals raise BudgetError with a stable code the views translate.
"""

from portal.accounts.models import utcnow
from portal.audit import code_of, record
from portal.budgeting.domain import BudgetError
from portal.budgeting.models import ProposalEvent
from portal.textcheck import bad_field


def require_staff(actor, region_id):
    if actor is None or not actor.works_for(region_id) or actor.role == "moderator":
        raise BudgetError("forbidden")


def check_characters(*, single=None, multi=None):
    """Refuse control characters here too: CLI commands and scripts bypass the forms."""
    field = bad_field(single=single, multi=multi)
    if field is not None:
        raise BudgetError("control_chars", field=field)


def require_phase(cycle, now, *phases):
    phase = cycle.phase(now)
    if phase not in phases:
        raise BudgetError("wrong_phase", phase=phase, needed=phases[0])
    return phase


def audit(session, actor, action, cycle, **details):
    """The audit log's record of a privileged action on `cycle`."""
    record(
        session,
        actor,
        action,
        target=f"cycle:{cycle.id}",
        details=details,
        region_code=code_of(cycle.region),
    )


def proposal_event(session, proposal, actor, kind, note=None, now=None):
    """A line of the proposal's public history (submitted, reviewed, funded ...)."""
    session.add(
        ProposalEvent(
            proposal_id=proposal.id,
            actor_id=actor.id if actor else None,
            kind=kind,
            note=note,
            at=now or utcnow(),
        )
    )
