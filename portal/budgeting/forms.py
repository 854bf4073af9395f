"""Budgeting forms and the translated messages for refused actions. Forms never write."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, MultipleFileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal import formatting
from portal.accounts.forms import IIN, IIN_MESSAGES
from portal.budgeting import domain
from portal.budgeting.domain import BudgetRuleError
from portal.forms import BaseForm, PlainText

PHASE_LABELS = {
    "draft": _l("Not started"),
    "proposals": _l("Proposals"),
    "review": _l("Feasibility review"),
    "voting": _l("Voting"),
    "results": _l("Results"),
    "implementation": _l("Implementation"),
}
CATEGORY_LABELS = {
    "yards": _l("Yards and playgrounds"),
    "lighting": _l("Lighting"),
    "roads": _l("Roads and sidewalks"),
    "greenery": _l("Greenery"),
    "sports": _l("Sports"),
    "accessibility": _l("Accessibility"),
    "culture": _l("Culture"),
    "other": _l("Other"),
}
STATUS_LABELS = {
    "submitted": _l("Awaiting review"),
    "feasible": _l("Feasible — on the ballot"),
    "infeasible": _l("Not feasible"),
    "withdrawn": _l("Withdrawn"),
}
IMPLEMENTATION_LABELS = {
    "planned": _l("Planned"),
    "in_progress": _l("In progress"),
    "done": _l("Done"),
    "cancelled": _l("Cancelled"),
}
BALLOT_RULE_LABELS = {
    "knapsack": _l("Choose any projects whose total cost fits the budget"),
    "k_approval": _l("Choose up to k projects (cost does not matter)"),
    "single": _l("Choose one project"),
}
WINNER_RULE_LABELS = {
    "greedy": _l("Greedy: most votes first, while the money lasts"),
    "mes": _l("Method of Equal Shares"),
}
CHANNEL_LABELS = {
    "online": _l("Online"),
    "paper": _l("Paper"),
    "imported": _l("Imported from a data file"),
}
BATCH_STATUS_LABELS = {
    "pending": _l("Waiting for a second staff member"),
    "confirmed": _l("Confirmed: counted"),
    "rejected": _l("Rejected: discarded"),
}
EVENT_LABELS = {
    "submitted": _l("Submitted"),
    "edited": _l("Edited by the author"),
    "withdrawn": _l("Withdrawn by the author"),
    "feasible": _l("Marked feasible"),
    "infeasible": _l("Marked not feasible"),
    "funded": _l("Won the vote: funded"),
    "update": _l("Implementation update"),
}

# Refusal code -> message; details fill the placeholders.
MESSAGES = {
    "forbidden": _l("You may not do this."),
    "control_chars": _l("This field contains characters that are not allowed."),
    "wrong_phase": _l("This is not possible now: the cycle is in the “%(phase)s” phase."),
    "not_resident": _l(
        "Only verified residents of the cycle's region (and district, if it has one) may take "
        "part. Ask the region's staff to verify your residence."
    ),
    "empty": _l("Choose at least one project."),
    "duplicate": _l("A project was chosen twice. Choose each project at most once."),
    "unknown": _l(
        "A chosen project is not on this ballot (it may have been withdrawn or found not "
        "feasible). Reload the page and choose again."
    ),
    "over_budget": _l(
        "Your choice costs %(total)s tenge, more than the budget of %(budget)s tenge. "
        "Remove a project and try again."
    ),
    "too_many": _l("Choose at most %(k)s projects."),
    "single": _l("Choose exactly one project."),
    "already_voted": _l("You have already voted in this cycle, and ballots here are final."),
    "other_channel": _l(
        "This resident has already voted (%(channel)s ballot); one person votes once."
    ),
    "voter_unknown": _l("No account is registered with this IIN."),
    "iin_invalid": _l("This IIN is not valid. Check the ID card and type the 12 digits again."),
    "other_region": _l(
        "This resident is registered in another region. They vote in their own region's "
        "cycle; if they have moved, they change their region in their profile (or at the "
        "akimat) first."
    ),
    "other_district": _l(
        "This cycle is for one district only, and this resident lives in another. They vote "
        "in their own district's cycle."
    ),
    "residence_undeclared": _l(
        "This resident has no online account: ask whether they live in this region and tick "
        "the box to record their declaration."
    ),
    "station_required": _l("Enter the name of the paper station (at most 200 characters)."),
    "not_ids": _l("Use only project numbers, separated by spaces or commas."),
    "batch_empty": _l("Type at least one ballot: one line per paper ballot."),
    "batch_large": _l("A batch holds at most %(maximum)s ballots. Enter the sheet in parts."),
    "batch_row": _l("Line %(line)s: %(problem)s Correct the line and send the batch again."),
    "batch_decided": _l(
        "This batch has already been decided (%(status)s); nothing was changed. Reload the page."
    ),
    "batch_own": _l(
        "You typed this batch, so another staff member of the region must confirm it (four "
        "eyes). Ask a colleague to check it against the paper sheet."
    ),
    "cost_missing": _l("Enter the cost in tenge."),
    "cost_not_number": _l("Enter the cost in whole tenge, digits only, e.g. 1 500 000."),
    "cost_not_positive": _l("The cost must be more than zero."),
    "cost_fraction": _l("Enter whole tenge, without tiyn."),
    "cost_too_large": _l("This amount is too large."),
    "cost_over_cap": _l("The cost may not be more than %(cap)s tenge in this cycle."),
    "cap_over_budget": _l("The per-project cap cannot be more than the whole budget."),
    "k_required": _l("Say how many projects a voter may choose (k)."),
    "heading_unknown": _l("This cycle has no such budget heading."),
    "heading_name_required": _l("Enter the name of the budget heading."),
    "heading_name_taken": _l("This cycle already has a budget heading with this name."),
    "heading_main": _l("The main budget heading follows the cycle and cannot be removed."),
    "heading_not_empty": _l("Projects were proposed in this budget heading; it cannot be removed."),
    "titles_required": _l("Enter the title in all three languages."),
    "dates_required": _l("Enter all phase dates."),
    "dates_order": _l("Each phase must start after the previous one."),
    "district_region": _l("This district is not in the cycle's region."),
    "batch_district": _l(
        "The heading %(heading)s is for one district: enter sheets of that district's "
        "stations only."
    ),
    "title_required": _l("Enter a title."),
    "title_long": _l("Use at most 200 characters."),
    "description_required": _l("Describe the project."),
    "description_long": _l("The description is too long."),
    "category_unknown": _l("Choose a category."),
    "not_editable": _l("This proposal can no longer be changed."),
    "withdrawn": _l("The author withdrew this proposal."),
    "reason_required": _l("Write the reason; it is shown to residents."),
    "photo_pixels": _l(
        "This image is too large: at most %(megapixels)d megapixels. Send a smaller photo."
    ),
    "photo_type": _l("Photos must be JPEG, PNG or WebP images."),
    "photo_large": _l("Each photo may be at most %(megabytes)s MB."),
    "photo_count": _l("At most %(maximum)s photos per proposal."),
    "not_computed": _l("Compute the results first."),
    "not_funded": _l("Only funded projects have an implementation status."),
    "status_unknown": _l("Choose a status."),
    "progress": _l("Progress is a whole percentage from 0 to 100."),
    "rule_unknown": _l("Choose a rule."),
    "phase_unknown": _l("Choose a phase."),
    "min_votes": _l("The minimum number of votes cannot be negative."),
    "rules_frozen": _l(
        "Voting has opened, so the rule, budget, limits, district, projects and opening dates "
        "of this cycle can no longer change. The closing dates may only move later, with a "
        "public reason."
    ),
    "extension_reason": _l(
        "Write the public reason for moving the date (at least 10 characters); it is shown "
        "on the cycle page."
    ),
    "ledger_frozen": _l("Voting has closed; the ballot ledger is final."),
    "already_published": _l(
        "This version is already published and cannot change. Compute the results again to "
        "prepare a correction."
    ),
    "correction_reason": _l(
        "A correction replaces published results: write the public reason (at least 10 characters)."
    ),
}


def message(error):
    """The translated text of a BudgetRuleError."""
    details = dict(error.details)
    if "phase" in details:
        details["phase"] = PHASE_LABELS.get(details["phase"], details["phase"])
    if "channel" in details:
        details["channel"] = CHANNEL_LABELS.get(details["channel"], details["channel"])
    if "status" in details:
        details["status"] = BATCH_STATUS_LABELS.get(details["status"], details["status"])
    if error.code == "iin_invalid" and details.get("problem") in IIN_MESSAGES:
        return str(IIN_MESSAGES[details["problem"]])
    if isinstance(details.get("problem"), BudgetRuleError):
        details["problem"] = message(details["problem"])
    for key in ("total", "budget", "cap"):
        if key in details:
            details[key] = formatting.number(details[key])
    text = MESSAGES.get(error.code, MESSAGES["forbidden"])
    return str(text) % details if details else str(text).replace("%%", "%")


class Tenge:
    """Whole tenge > 0 (and ≤ the cap, if given); the parsed int goes to `field.tenge`."""

    def __init__(self, cap=None):
        self.cap = cap

    def __call__(self, form, field):
        if not (field.data or "").strip() and not field.flags.required:
            field.tenge = None
            return
        try:
            field.tenge = domain.parse_tenge(field.data, cap=self.cap)
        except BudgetRuleError as error:
            raise ValidationError(message(error)) from None


def _choices(labels):
    return [(key, label) for key, label in labels.items()]


DATE_FORMAT = "%Y-%m-%dT%H:%M"


def _rule_fields():
    """The voting rules a cycle and each of its headings carry (cost cap, threshold, ballot
    rule, k, winner rule). Called inside each form's class body, so the fields keep their
    place among that form's own fields (WTForms orders fields by creation)."""
    return (
        StringField(_l("Maximum cost of one project, tenge (optional)"), [Tenge()]),
        IntegerField(
            _l("Minimum votes a project needs to win (optional)"),
            validators=[Optional(), NumberRange(min=0, max=1_000_000)],
        ),
        RadioField(_l("Ballot"), choices=_choices(BALLOT_RULE_LABELS), default="knapsack"),
        IntegerField(
            _l("k: how many projects a voter may choose"),
            validators=[Optional(), NumberRange(min=1, max=100)],
        ),
        RadioField(
            _l("How winners are chosen"), choices=_choices(WINNER_RULE_LABELS), default="greedy"
        ),
    )


class CycleForm(BaseForm):
    region_id = SelectField(_l("Region"), coerce=int)
    district_id = SelectField(
        _l("District"), coerce=int, description=_l("Leave empty for the whole region.")
    )
    title_kk = StringField(
        _l("Title in Kazakh"), validators=[DataRequired(), Length(max=200), PlainText()]
    )
    title_ru = StringField(
        _l("Title in Russian"), validators=[DataRequired(), Length(max=200), PlainText()]
    )
    title_en = StringField(
        _l("Title in English"), validators=[DataRequired(), Length(max=200), PlainText()]
    )
    summary_kk = TextAreaField(
        _l("What it is (Kazakh)"), validators=[Length(max=4000), PlainText()]
    )
    summary_ru = TextAreaField(
        _l("What it is (Russian)"), validators=[Length(max=4000), PlainText()]
    )
    summary_en = TextAreaField(
        _l("What it is (English)"), validators=[Length(max=4000), PlainText()]
    )
    budget = StringField(
        _l("Total budget, tenge"),
        validators=[DataRequired(), Tenge()],
        description=_l("Whole tenge, e.g. 150 000 000."),
    )
    cost_cap, min_votes, ballot_rule, max_choices, winner_rule = _rule_fields()
    ballots_final = BooleanField(_l("Ballots are final (voters cannot change them)"))
    proposals_open_at = DateTimeLocalField(
        _l("Proposals open"), format=DATE_FORMAT, validators=[DataRequired()]
    )
    review_open_at = DateTimeLocalField(
        _l("Review starts"), format=DATE_FORMAT, validators=[DataRequired()]
    )
    voting_open_at = DateTimeLocalField(
        _l("Voting opens"), format=DATE_FORMAT, validators=[DataRequired()]
    )
    voting_close_at = DateTimeLocalField(
        _l("Voting closes (results)"), format=DATE_FORMAT, validators=[DataRequired()]
    )
    implementation_at = DateTimeLocalField(
        _l("Implementation starts (optional)"), format=DATE_FORMAT, validators=[Optional()]
    )


class ProposalForm(BaseForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200), PlainText()])
    description = TextAreaField(
        _l("Description"),
        validators=[DataRequired(), Length(max=20_000)],
        description=_l(
            "What, where and why. Simple formatting (bold, lists, links) is kept; "
            "anything else is removed."
        ),
    )
    # The proposal in the state languages, besides the original above (optional).
    title_kk = StringField(
        _l("Title in Kazakh (optional)"), validators=[Optional(), Length(max=200), PlainText()]
    )
    description_kk = TextAreaField(
        _l("Description in Kazakh (optional)"), validators=[Optional(), Length(max=20_000)]
    )
    title_ru = StringField(
        _l("Title in Russian (optional)"), validators=[Optional(), Length(max=200), PlainText()]
    )
    description_ru = TextAreaField(
        _l("Description in Russian (optional)"), validators=[Optional(), Length(max=20_000)]
    )
    category = SelectField(_l("Category"), choices=_choices(CATEGORY_LABELS))
    district_id = SelectField(_l("District"), coerce=int)
    address = StringField(_l("Address or place"), validators=[Length(max=300), PlainText()])
    estimated_cost = StringField(
        _l("Estimated cost, tenge"),
        validators=[DataRequired()],
        description=_l("Whole tenge, e.g. 2 500 000."),
    )
    photos = MultipleFileField(
        _l("Photos (optional)"),
        validators=[FileAllowed(["jpg", "jpeg", "png", "webp"], _l("JPEG, PNG or WebP only."))],
        description=_l("Up to 5 images, 5 MB each."),
    )

    def __init__(self, *args, cap=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.estimated_cost.validators = [DataRequired(), Tenge(cap)]


class ReviewForm(BaseForm):
    decision = RadioField(
        _l("Decision"),
        choices=[("feasible", _l("Feasible")), ("infeasible", _l("Not feasible"))],
        validators=[DataRequired()],
    )
    final_cost = StringField(
        _l("Final cost, tenge (optional)"),
        [Tenge()],
        description=_l("Leave empty to keep the author's estimate."),
    )
    reason = TextAreaField(
        _l("Reason (public)"),
        validators=[Length(max=4000), PlainText()],
        description=_l("Required when the project is not feasible."),
    )


class HeadingForm(BaseForm):
    """A budget heading (pot) of a cycle: city-wide or one district's, with its own rules."""

    name = StringField(
        _l("Name of the heading"),
        validators=[DataRequired(), Length(max=200), PlainText()],
        description=_l("For example the district's name, or “City-wide”."),
    )
    district_id = SelectField(
        _l("District"), coerce=int, description=_l("Leave empty for the whole region.")
    )
    budget = StringField(
        _l("Budget of the heading, tenge"),
        validators=[DataRequired(), Tenge()],
        description=_l("Whole tenge, e.g. 150 000 000."),
    )
    cost_cap, min_votes, ballot_rule, max_choices, winner_rule = _rule_fields()


class PhaseForm(BaseForm):
    phase = SelectField(
        _l("Phase"),
        choices=[("", _l("Follow the dates"))] + _choices(PHASE_LABELS),
    )


class PaperBallotForm(BaseForm):
    iin = StringField(_l("Voter's IIN"), validators=[IIN()])
    district_id = SelectField(
        _l("District of residence"),
        coerce=int,
        validators=[Optional()],
        description=_l("As the resident declares it; an account's own district takes precedence."),
    )
    declared = BooleanField(
        _l("The resident declares that they live in this region"),
        description=_l("Required for a resident without an online account."),
    )


class PaperBatchForm(BaseForm):
    station = StringField(
        _l("Paper station"), validators=[DataRequired(), Length(max=200), PlainText()]
    )
    district_id = SelectField(_l("District of the station"), coerce=int, validators=[Optional()])
    rows = TextAreaField(
        _l("Ballots, one per line"),
        validators=[DataRequired(), Length(max=200_000)],
        description=_l(
            "Type each paper ballot on its own line: the numbers of the projects it approves, "
            "separated by spaces or commas (e.g. 12 15 31). The ballots count only after "
            "another staff member confirms the batch."
        ),
    )


class BatchRejectForm(BaseForm):
    reason = TextAreaField(
        _l("Why is the batch rejected?"),
        validators=[DataRequired(), Length(max=2000), PlainText()],
        description=_l("Kept with the batch record; its ballots are discarded."),
    )


class UpdateForm(BaseForm):
    status = SelectField(_l("Status"), choices=_choices(IMPLEMENTATION_LABELS))
    progress = IntegerField(
        _l("Progress, %"),
        validators=[InputRequired(message=_l("Enter a percentage.")), NumberRange(0, 100)],
    )
    note = TextAreaField(
        _l("Update (public)"),
        validators=[Length(max=4000), PlainText()],
        description=_l("Required when the project is cancelled: say why."),
    )
    photo = FileField(
        _l("Photo (optional)"),
        validators=[FileAllowed(["jpg", "jpeg", "png", "webp"], _l("JPEG, PNG or WebP only."))],
    )
