"""Participatory budgeting: cycles, proposals, ballots, results and implementation.

Money is whole tenge (BigInteger). Times are naive UTC; the cycle's region is in
Asia/Almaty and forms convert local dates on the way in and out.
"""

from sqlalchemy import event, insert, select, update

from portal.accounts.models import utcnow
from portal.bilingual import in_language
from portal.budgeting import domain
from portal.extensions import db
from portal.i18n import current_language, localized


def _in(values):
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class BudgetCycle(db.Model):
    __tablename__ = "budget_cycle"

    id = db.Column(db.Integer, primary_key=True)
    title_kk = db.Column(db.String(200), nullable=False)
    title_ru = db.Column(db.String(200), nullable=False)
    title_en = db.Column(db.String(200), nullable=False)
    summary_kk = db.Column(db.Text, nullable=False, default="")
    summary_ru = db.Column(db.Text, nullable=False, default="")
    summary_en = db.Column(db.Text, nullable=False, default="")
    region_id = db.Column(db.Integer, db.ForeignKey("region.id"), nullable=False, index=True)
    district_id = db.Column(db.Integer, db.ForeignKey("district.id"), nullable=True)
    budget = db.Column(db.BigInteger, nullable=False)
    cost_cap = db.Column(db.BigInteger, nullable=True)
    min_votes = db.Column(db.Integer, nullable=True)
    ballot_rule = db.Column(db.String(16), nullable=False, default="knapsack")
    max_choices = db.Column(db.Integer, nullable=True)
    winner_rule = db.Column(db.String(16), nullable=False, default="greedy")
    ballots_final = db.Column(db.Boolean, nullable=False, default=False)
    proposals_open_at = db.Column(db.DateTime, nullable=False)
    review_open_at = db.Column(db.DateTime, nullable=False)
    voting_open_at = db.Column(db.DateTime, nullable=False)
    voting_close_at = db.Column(db.DateTime, nullable=False)
    implementation_at = db.Column(db.DateTime, nullable=True)
    # Set when staff move the phase by hand; None means "follow the dates".
    phase_override = db.Column(db.String(16), nullable=True)
    created_by_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    # Where an imported cycle came from (e.g. "pabulib: Assen Top Idee"); None for our own.
    source = db.Column(db.String(300), nullable=True)
    # Set when voting opens (the first ballot or a phase move); from then on database
    # triggers refuse changes to the rule, budget, limits, district and ballot projects.
    rules_frozen_at = db.Column(db.DateTime, nullable=True)

    region = db.relationship("Region")
    district = db.relationship("District")
    proposals = db.relationship("Proposal", back_populates="cycle", lazy="dynamic")
    date_changes = db.relationship("CycleDateChange", order_by="CycleDateChange.id", viewonly=True)

    __table_args__ = (
        db.CheckConstraint("budget > 0", name="budget_positive"),
        db.CheckConstraint("cost_cap IS NULL OR cost_cap > 0", name="cap_positive"),
        db.CheckConstraint("min_votes IS NULL OR min_votes >= 0", name="min_votes_ok"),
        db.CheckConstraint(f"ballot_rule IN {_in(domain.BALLOT_RULES)}", name="ballot_rule"),
        db.CheckConstraint(f"winner_rule IN {_in(domain.WINNER_RULES)}", name="winner_rule"),
        db.CheckConstraint(
            "ballot_rule != 'k_approval' OR max_choices >= 1", name="k_approval_has_k"
        ),
    )

    @property
    def title(self):
        return localized(self, "title")

    @property
    def summary(self):
        return localized(self, "summary")

    @property
    def schedule(self):
        return domain.Schedule(
            self.proposals_open_at,
            self.review_open_at,
            self.voting_open_at,
            self.voting_close_at,
            self.implementation_at,
        )

    def phase(self, now=None):
        return domain.effective_phase(self.schedule, now or utcnow(), self.phase_override)

    @property
    def rule(self):
        return domain.BallotRule(self.ballot_rule, self.budget, self.max_choices)

    def voting_closed(self, now=None):
        return self.phase(now) in ("results", "implementation")


class BudgetHeading(db.Model):
    """One pot of a cycle (CONSUL's "heading"): city-wide (no district) or one district's,
    with its own budget, ballot rule, k, threshold, winner rule and projects.

    Every cycle has a main heading (position 0) that mirrors the cycle's own budget and rules
    (kept in step by the events below), so a one-heading cycle works exactly as before.
    """

    __tablename__ = "budget_heading"

    id = db.Column(db.Integer, primary_key=True)
    cycle_id = db.Column(db.Integer, db.ForeignKey("budget_cycle.id"), nullable=False, index=True)
    position = db.Column(db.Integer, nullable=False, default=0)
    name = db.Column(db.String(200), nullable=False)
    district_id = db.Column(db.Integer, db.ForeignKey("district.id"), nullable=True)
    budget = db.Column(db.BigInteger, nullable=False)
    cost_cap = db.Column(db.BigInteger, nullable=True)
    min_votes = db.Column(db.Integer, nullable=True)
    ballot_rule = db.Column(db.String(16), nullable=False, default="knapsack")
    max_choices = db.Column(db.Integer, nullable=True)
    winner_rule = db.Column(db.String(16), nullable=False, default="greedy")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    cycle = db.relationship("BudgetCycle")
    district = db.relationship("District")

    __table_args__ = (
        db.UniqueConstraint("cycle_id", "position"),
        db.UniqueConstraint("cycle_id", "name"),
        db.CheckConstraint("budget > 0", name="budget_positive"),
        db.CheckConstraint("cost_cap IS NULL OR cost_cap > 0", name="cap_positive"),
        db.CheckConstraint("min_votes IS NULL OR min_votes >= 0", name="min_votes_ok"),
        db.CheckConstraint(f"ballot_rule IN {_in(domain.BALLOT_RULES)}", name="ballot_rule"),
        db.CheckConstraint(f"winner_rule IN {_in(domain.WINNER_RULES)}", name="winner_rule"),
        db.CheckConstraint(
            "ballot_rule != 'k_approval' OR max_choices >= 1", name="k_approval_has_k"
        ),
    )

    @property
    def rule(self):
        return domain.BallotRule(self.ballot_rule, self.budget, self.max_choices)

    @property
    def is_main(self):
        return self.position == 0


# The cycle's fields that its main heading mirrors.
MIRRORED = (
    "district_id",
    "budget",
    "cost_cap",
    "min_votes",
    "ballot_rule",
    "max_choices",
    "winner_rule",
)


@event.listens_for(BudgetCycle, "after_insert")
def _create_main_heading(_mapper, connection, cycle):
    connection.execute(
        insert(BudgetHeading.__table__).values(
            cycle_id=cycle.id,
            position=0,
            name=(cycle.title_en or cycle.title_ru or cycle.title_kk or str(cycle.id))[:200],
            created_at=utcnow(),
            **{name: getattr(cycle, name) for name in MIRRORED},
        )
    )


@event.listens_for(BudgetCycle, "after_update")
def _mirror_main_heading(_mapper, connection, cycle):
    connection.execute(
        update(BudgetHeading.__table__)
        .where(BudgetHeading.cycle_id == cycle.id, BudgetHeading.position == 0)
        .values(**{name: getattr(cycle, name) for name in MIRRORED})
    )


def _main_heading_id(context):
    """Rows written without a heading belong to their cycle's main heading."""
    cycle_id = context.get_current_parameters()["cycle_id"]
    return context.connection.scalar(
        select(BudgetHeading.id).where(
            BudgetHeading.cycle_id == cycle_id, BudgetHeading.position == 0
        )
    )


class CycleDateChange(db.Model):
    """A date moved after voting opened (only ever later), with its public reason."""

    __tablename__ = "budget_date_change"

    id = db.Column(db.Integer, primary_key=True)
    cycle_id = db.Column(db.Integer, db.ForeignKey("budget_cycle.id"), nullable=False, index=True)
    field = db.Column(db.String(24), nullable=False)
    old_value = db.Column(db.DateTime, nullable=True)
    new_value = db.Column(db.DateTime, nullable=False)
    reason = db.Column(db.Text, nullable=False)
    actor_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)


class PhaseChange(db.Model):
    """Staff moved a cycle's phase by hand (or back to following the dates)."""

    __tablename__ = "budget_phase_change"

    id = db.Column(db.Integer, primary_key=True)
    cycle_id = db.Column(db.Integer, db.ForeignKey("budget_cycle.id"), nullable=False, index=True)
    from_phase = db.Column(db.String(16), nullable=False)
    to_phase = db.Column(db.String(16), nullable=True)  # None: follow the dates again
    actor_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=False)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)

    actor = db.relationship("User")


class Proposal(db.Model):
    __tablename__ = "budget_proposal"

    id = db.Column(db.Integer, primary_key=True)
    cycle_id = db.Column(db.Integer, db.ForeignKey("budget_cycle.id"), nullable=False, index=True)
    heading_id = db.Column(
        db.Integer,
        db.ForeignKey("budget_heading.id"),
        nullable=False,
        index=True,
        default=_main_heading_id,
    )
    # None for projects imported from a pabulib file (they have no author account here).
    author_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=True)
    # The project's id in the file it was imported from, kept for a faithful export.
    external_id = db.Column(db.String(64), nullable=True)
    title = db.Column(db.String(200), nullable=False)
    description_html = db.Column(db.Text, nullable=False)
    # The title and description in the state languages, when given besides the original
    # (portal.bilingual); pages show the reader's language, else the original.
    title_kk = db.Column(db.String(200), nullable=True)
    title_ru = db.Column(db.String(200), nullable=True)
    description_html_kk = db.Column(db.Text, nullable=True)
    description_html_ru = db.Column(db.Text, nullable=True)
    category = db.Column(db.String(20), nullable=False)
    district_id = db.Column(db.Integer, db.ForeignKey("district.id"), nullable=True)
    address = db.Column(db.String(300), nullable=False, default="")
    estimated_cost = db.Column(db.BigInteger, nullable=False)
    final_cost = db.Column(db.BigInteger, nullable=True)
    status = db.Column(db.String(16), nullable=False, default="submitted", index=True)
    review_reason = db.Column(db.Text, nullable=True)
    reviewed_by_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=True)
    reviewed_at = db.Column(db.DateTime, nullable=True)
    funded = db.Column(db.Boolean, nullable=False, default=False)
    implementation_status = db.Column(db.String(16), nullable=True)
    progress = db.Column(db.Integer, nullable=False, default=0)
    cancel_reason = db.Column(db.Text, nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    cycle = db.relationship("BudgetCycle", back_populates="proposals")
    heading = db.relationship("BudgetHeading")
    author = db.relationship("User", foreign_keys=[author_id])
    district = db.relationship("District")
    photos = db.relationship(
        "ProposalPhoto",
        back_populates="proposal",
        order_by="ProposalPhoto.id",
        primaryjoin="and_(ProposalPhoto.proposal_id == Proposal.id, "
        "ProposalPhoto.update_id.is_(None))",
        viewonly=True,
    )
    events = db.relationship("ProposalEvent", order_by="ProposalEvent.id", viewonly=True)
    updates = db.relationship(
        "ImplementationUpdate", order_by="ImplementationUpdate.id.desc()", viewonly=True
    )

    __table_args__ = (
        db.CheckConstraint("estimated_cost > 0", name="cost_positive"),
        db.CheckConstraint("final_cost IS NULL OR final_cost > 0", name="final_cost_positive"),
        db.CheckConstraint(f"category IN {_in(domain.CATEGORIES)}", name="category"),
        db.CheckConstraint(f"status IN {_in(domain.PROPOSAL_STATUSES)}", name="status"),
        db.CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        db.CheckConstraint(
            f"implementation_status IS NULL OR implementation_status IN "
            f"{_in(domain.IMPLEMENTATION_STATUSES)}",
            name="implementation_status",
        ),
        # The proposal list in each sort order, the ballot page and implementation: each
        # reads one page in index order (no sort of the whole cycle).
        db.Index("ix_budget_proposal_cycle_created", "cycle_id", "created_at", "id"),
        db.Index("ix_budget_proposal_cycle_cost", "cycle_id", "estimated_cost", "id"),
        db.Index("ix_budget_proposal_cycle_title", "cycle_id", "title", "id"),
        db.Index("ix_budget_proposal_ballot", "cycle_id", "status", "category", "id"),
        db.Index("ix_budget_proposal_funded", "cycle_id", "funded", "id"),
        # The staff review queue: waiting proposals, oldest first (figures.review_parts).
        db.Index("ix_budget_proposal_review", "cycle_id", "status", "created_at", "id"),
        # The staff dashboard's proposals by category, status and district, from the index.
        db.Index("ix_budget_proposal_figures", "cycle_id", "category", "status", "district_id"),
        # The cycle page's counts by status and feasible projects per heading (index only).
        db.Index("ix_budget_proposal_cycle_status_heading", "cycle_id", "status", "heading_id"),
    )

    @property
    def cost(self):
        """The cost on the ballot: the reviewed cost if staff set one."""
        return self.final_cost or self.estimated_cost

    @property
    def shown_title(self):
        """The title in the reader's language, else the original."""
        return in_language(self, "title", current_language())

    @property
    def shown_description_html(self):
        return in_language(self, "description_html", current_language())


class ProposalPhoto(db.Model):
    """A photo of a proposal, or of an implementation update when update_id is set."""

    __tablename__ = "budget_photo"

    id = db.Column(db.Integer, primary_key=True)
    proposal_id = db.Column(
        db.Integer, db.ForeignKey("budget_proposal.id"), nullable=False, index=True
    )
    update_id = db.Column(db.Integer, db.ForeignKey("budget_update.id"), nullable=True)
    filename = db.Column(db.String(64), nullable=False, unique=True)
    content_type = db.Column(db.String(32), nullable=False)
    size = db.Column(db.Integer, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    proposal = db.relationship("Proposal", foreign_keys=[proposal_id])


class ProposalEvent(db.Model):
    """One line of a proposal's public history."""

    __tablename__ = "budget_proposal_event"

    id = db.Column(db.Integer, primary_key=True)
    proposal_id = db.Column(
        db.Integer, db.ForeignKey("budget_proposal.id"), nullable=False, index=True
    )
    actor_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=True)
    kind = db.Column(db.String(24), nullable=False)
    note = db.Column(db.Text, nullable=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)


class Ballot(db.Model):
    """One resident's ballot in one heading of a cycle (a cycle of one heading: in the cycle).
    The unique constraint is the last line of defence.

    No voter id: `voter_key` is an HMAC of (cycle, voter) under BALLOT_KEY, a key kept in
    the server's configuration, never in the database. A copy of the database alone cannot
    tell whose ballot a row is; the server can still find a voter's own ballot.
    """

    __tablename__ = "budget_ballot"
    __table_args__ = (
        # One ballot per voter and heading. The voter's key comes before the heading so
        # that a voter's ballots in a cycle are one index range (the cycle page's lookup).
        db.UniqueConstraint("cycle_id", "voter_key", "heading_id"),
        db.CheckConstraint(f"channel IN {_in(domain.CHANNELS)}", name="channel"),
        # Turnout by channel and district, counted from the index alone.
        db.Index("ix_budget_ballot_turnout", "cycle_id", "channel", "district_id"),
        # Ballots per day on the staff dashboard, counted from the index alone.
        db.Index("ix_budget_ballot_cycle_created", "cycle_id", "created_at"),
        # One ballot per person whichever the channel: online and paper ballots of one IIN
        # carry the same `iin_key`, so the second insert fails even in a race.
        db.Index("uq_budget_ballot_person", "cycle_id", "iin_key", "heading_id", unique=True),
    )

    id = db.Column(db.Integer, primary_key=True)
    cycle_id = db.Column(db.Integer, db.ForeignKey("budget_cycle.id"), nullable=False, index=True)
    heading_id = db.Column(
        db.Integer,
        db.ForeignKey("budget_heading.id"),
        nullable=False,
        index=True,
        default=_main_heading_id,
    )
    # None for anonymised imported ballots; NULLs never collide in the unique constraint.
    voter_key = db.Column(db.String(64), nullable=True)
    # HMAC of (cycle, the voter's IIN hash) under BALLOT_KEY: the same for the person's online
    # and paper ballot, with or without an account. None on ballots cast before paper_01 (they
    # are found by `voter_key`), on imported ballots and on tally-sheet ballots.
    iin_key = db.Column(db.String(64), nullable=True)
    # The voter's birth year and sex for the published turnout figures (as in the .pb file).
    birth_year = db.Column(db.Integer, nullable=True)
    sex = db.Column(db.String(1), nullable=True)
    # Which version of this ballot the ledger holds last (1 on casting, +1 per replacement).
    ledger_version = db.Column(db.Integer, nullable=False, default=0)
    channel = db.Column(db.String(8), nullable=False, default="online")
    entered_by_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=True)
    # The voter's district when voting, for turnout by district.
    district_id = db.Column(db.Integer, db.ForeignKey("district.id"), nullable=True)
    receipt = db.Column(db.String(16), nullable=False, index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    cycle = db.relationship("BudgetCycle")
    heading = db.relationship("BudgetHeading")
    choices = db.relationship(
        "BallotChoice", cascade="all, delete-orphan", order_by="BallotChoice.proposal_id"
    )

    @property
    def project_ids(self):
        return [c.proposal_id for c in self.choices]


class BallotChoice(db.Model):
    __tablename__ = "budget_ballot_choice"
    # Votes of given projects (a page's worth) without reading every ballot.
    __table_args__ = (db.Index("ix_budget_ballot_choice_proposal", "proposal_id", "ballot_id"),)

    ballot_id = db.Column(db.Integer, db.ForeignKey("budget_ballot.id"), primary_key=True)
    proposal_id = db.Column(db.Integer, db.ForeignKey("budget_proposal.id"), primary_key=True)


PAPER_BATCH_STATUSES = ("pending", "confirmed", "rejected")


class PaperBatch(db.Model):
    """A paper station's ballots typed in by one staff member.

    Its rows wait in PaperEntry and become ballots (and ledger leaves) only when a second
    staff member confirms the batch; until then nothing counts them. A rejected batch keeps
    this row as the record and loses its entries.
    """

    __tablename__ = "budget_paper_batch"
    __table_args__ = (
        db.CheckConstraint(f"status IN {_in(PAPER_BATCH_STATUSES)}", name="status"),
        # Four eyes, also for scripts that bypass the service (anyone may discard a batch).
        db.CheckConstraint(
            "status != 'confirmed' OR decided_by_id != entered_by_id", name="second_person"
        ),
        db.Index("ix_budget_paper_batch_cycle", "cycle_id", "status", "id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    cycle_id = db.Column(db.Integer, db.ForeignKey("budget_cycle.id"), nullable=False)
    # The heading whose sheet was typed; its ballots are cast in it. Nullable only because
    # SQLite cannot add a NOT NULL column without rebuilding the table (paper_02 fills it).
    heading_id = db.Column(
        db.Integer,
        db.ForeignKey("budget_heading.id"),
        nullable=True,
        index=True,
        default=_main_heading_id,
    )
    station = db.Column(db.String(200), nullable=False)
    district_id = db.Column(db.Integer, db.ForeignKey("district.id"), nullable=True)
    size = db.Column(db.Integer, nullable=False)
    status = db.Column(db.String(16), nullable=False, default="pending")
    entered_by_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=False)
    entered_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    decided_by_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=True)
    decided_at = db.Column(db.DateTime, nullable=True)
    reason = db.Column(db.Text, nullable=True)

    cycle = db.relationship("BudgetCycle")
    heading = db.relationship("BudgetHeading")
    district = db.relationship("District")
    entered_by = db.relationship("User", foreign_keys=[entered_by_id])
    decided_by = db.relationship("User", foreign_keys=[decided_by_id])


class PaperEntry(db.Model):
    """One typed ballot of a batch: the project ids, in the order typed; `ballot_id` once
    confirmed."""

    __tablename__ = "budget_paper_entry"

    batch_id = db.Column(db.Integer, db.ForeignKey("budget_paper_batch.id"), primary_key=True)
    position = db.Column(db.Integer, primary_key=True, autoincrement=False)
    choices = db.Column(db.JSON, nullable=False)
    ballot_id = db.Column(db.Integer, db.ForeignKey("budget_ballot.id"), nullable=True)


class CycleResult(db.Model):
    """The tally of one heading of a cycle with one winner rule; published when staff say so.

    A published version never changes (database triggers refuse it); a correction is a new
    version with a public reason, and earlier versions stay on the results page.
    """

    __tablename__ = "budget_result"
    __table_args__ = (db.UniqueConstraint("cycle_id", "heading_id", "rule", "version"),)

    id = db.Column(db.Integer, primary_key=True)
    cycle_id = db.Column(db.Integer, db.ForeignKey("budget_cycle.id"), nullable=False)
    heading_id = db.Column(
        db.Integer,
        db.ForeignKey("budget_heading.id"),
        nullable=False,
        index=True,
        default=_main_heading_id,
    )
    rule = db.Column(db.String(24), nullable=False)
    version = db.Column(db.Integer, nullable=False, default=1)
    # Why a later version corrects an earlier published one (public); None for version 1.
    reason = db.Column(db.Text, nullable=True)
    # {"selected": [ids], "votes": {id: n}, "costs": {id: n}, "payments": {id: [[amount, n]]},
    #  "turnout": {...}, "ballots": n}
    data = db.Column(db.JSON, nullable=False)
    total_cost = db.Column(db.BigInteger, nullable=False)
    computed_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    computed_by_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=True)
    published_at = db.Column(db.DateTime, nullable=True)
    published_by_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=True)

    cycle = db.relationship("BudgetCycle")
    heading = db.relationship("BudgetHeading")


class ImplementationUpdate(db.Model):
    __tablename__ = "budget_update"

    id = db.Column(db.Integer, primary_key=True)
    proposal_id = db.Column(
        db.Integer, db.ForeignKey("budget_proposal.id"), nullable=False, index=True
    )
    author_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=False)
    status = db.Column(db.String(16), nullable=False)
    progress = db.Column(db.Integer, nullable=False)
    note = db.Column(db.Text, nullable=False, default="")
    at = db.Column(db.DateTime, nullable=False, default=utcnow)

    photos = db.relationship(
        "ProposalPhoto",
        primaryjoin="ProposalPhoto.update_id == ImplementationUpdate.id",
        viewonly=True,
    )

    __table_args__ = (
        db.CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        db.CheckConstraint(f"status IN {_in(domain.IMPLEMENTATION_STATUSES)}", name="status"),
    )


class Notification(db.Model):
    """A message to one user inside the portal (e.g. the review of their proposal)."""

    __tablename__ = "budget_notification"

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=False, index=True)
    proposal_id = db.Column(db.Integer, db.ForeignKey("budget_proposal.id"), nullable=True)
    kind = db.Column(db.String(24), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    read_at = db.Column(db.DateTime, nullable=True)

    proposal = db.relationship("Proposal")


class LedgerLeaf(db.Model):
    """One leaf of a cycle's public ballot ledger (append-only: triggers refuse changes)."""

    __tablename__ = "budget_ledger_leaf"
    __table_args__ = (
        db.Index("ix_budget_ledger_leaf_ballot", "cycle_id", "ballot_id", "position"),
    )

    cycle_id = db.Column(db.Integer, db.ForeignKey("budget_cycle.id"), primary_key=True)
    position = db.Column(db.Integer, primary_key=True, autoincrement=False)
    ballot_id = db.Column(db.Integer, nullable=False)
    data = db.Column(db.Text, nullable=False)
    hash = db.Column(db.String(64), nullable=False)


class LedgerChunk(db.Model):
    """The root of each full, aligned block of CHUNK leaves, so proofs read few rows."""

    __tablename__ = "budget_ledger_chunk"

    cycle_id = db.Column(db.Integer, db.ForeignKey("budget_cycle.id"), primary_key=True)
    index = db.Column(db.Integer, primary_key=True, autoincrement=False)
    hash = db.Column(db.String(64), nullable=False)


class LedgerHead(db.Model):
    """The ledger's current size and root with its frontier; frozen (unchangeable) at close."""

    __tablename__ = "budget_ledger_head"

    cycle_id = db.Column(db.Integer, db.ForeignKey("budget_cycle.id"), primary_key=True)
    size = db.Column(db.Integer, nullable=False, default=0)
    root = db.Column(db.String(64), nullable=False)
    frontier = db.Column(db.JSON, nullable=False)
    frozen_at = db.Column(db.DateTime, nullable=True)


class VoteCount(db.Model):
    """A ballot project's approvals and its place in the count (1 = most votes), as of the
    ledger size in VoteCountState: the live counts page reads one page of ranks instead of
    counting 800,000 choices per request (see services.vote_count_page)."""

    __tablename__ = "budget_vote_count"
    __table_args__ = (db.Index("ix_budget_vote_count_rank", "cycle_id", "rank"),)

    proposal_id = db.Column(db.Integer, primary_key=True, autoincrement=False)
    cycle_id = db.Column(db.Integer, nullable=False)
    rank = db.Column(db.Integer, nullable=False)
    votes = db.Column(db.Integer, nullable=False)


class VoteCountState(db.Model):
    """Which ledger size a cycle's VoteCount rows were counted at, and its ballots then."""

    __tablename__ = "budget_vote_count_state"

    cycle_id = db.Column(db.Integer, primary_key=True, autoincrement=False)
    ledger_size = db.Column(db.Integer, nullable=False)
    ballots = db.Column(db.Integer, nullable=False)
    projects = db.Column(db.Integer, nullable=False)
    counted_at = db.Column(db.DateTime, nullable=False)
