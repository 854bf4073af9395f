"""Budgeting pages: cycles, proposals, review, ballots, receipts, implementation (the paper
desks' pages are in paper_views.py and the results' in results_views.py, on this
blueprint). Each request commits at most once; services do the writing."""

import dataclasses
import hmac

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal import database, formatting, group_commit
from portal.accounts.forms import EmptyForm
from portal.accounts.models import plain_user, utcnow
from portal.budgeting import ballots, domain, figures, integrity, publishing, services
from portal.budgeting import headings as pots
from portal.budgeting.domain import BudgetRuleError
from portal.budgeting.forms import (
    BALLOT_RULE_LABELS,
    BATCH_STATUS_LABELS,
    CATEGORY_LABELS,
    CHANNEL_LABELS,
    EVENT_LABELS,
    IMPLEMENTATION_LABELS,
    PHASE_LABELS,
    STATUS_LABELS,
    WINNER_RULE_LABELS,
    CycleForm,
    HeadingForm,
    PhaseForm,
    ProposalForm,
    ReviewForm,
    UpdateForm,
    message,
)
from portal.budgeting.models import (
    Ballot,
    BudgetCycle,
    Notification,
    PhaseChange,
    Proposal,
    ProposalPhoto,
)
from portal.errors import Refusal
from portal.extensions import db
from portal.forms import require_valid
from portal.keys import receipt_key
from portal.observability import metrics
from portal.pagination import paginate, paginate_concat
from portal.permissions import require_region_access, roles_required
from portal.ratelimit import limit
from portal.regions.models import District, Region
from portal.storage import get_storage

bp = Blueprint("budgeting", __name__, url_prefix="/budget")

# Refusals that mean "not now" or "not again" rather than "bad input".
CONFLICT_CODES = {
    "wrong_phase",
    "already_voted",
    "other_channel",
    "not_editable",
    "withdrawn",
    "rules_frozen",
    "ledger_frozen",
}
FORBIDDEN_CODES = {"forbidden", "not_resident"}
# Each order ends with the id in the same direction, so one index serves it (no sort).
SORTS = {
    "new": (Proposal.created_at.desc(), Proposal.id.desc()),
    "old": (Proposal.created_at.asc(), Proposal.id.asc()),
    "cost": (Proposal.estimated_cost.asc(), Proposal.id.asc()),
    "cost-desc": (Proposal.estimated_cost.desc(), Proposal.id.desc()),
    "title": (Proposal.title.asc(), Proposal.id.asc()),
}


@bp.app_template_filter("tenge")
def tenge_filter(value):
    return formatting.money(value)


@bp.app_template_filter("localtime")
def localtime_filter(value):
    return formatting.when(value, "short")


@bp.app_context_processor
def _labels():
    return {
        "PHASE_LABELS": PHASE_LABELS,
        "CATEGORY_LABELS": CATEGORY_LABELS,
        "STATUS_LABELS": STATUS_LABELS,
        "IMPLEMENTATION_LABELS": IMPLEMENTATION_LABELS,
        "BALLOT_RULE_LABELS": BALLOT_RULE_LABELS,
        "WINNER_RULE_LABELS": WINNER_RULE_LABELS,
        "CHANNEL_LABELS": CHANNEL_LABELS,
        "EVENT_LABELS": EVENT_LABELS,
        "BATCH_STATUS_LABELS": BATCH_STATUS_LABELS,
        "PHASES": domain.PHASES[1:],
    }


def _secret():
    return receipt_key()


def _ballot_key():
    return integrity.ballot_key(current_app.config)


def _owns(ballot):
    """The signed-in user cast this ballot (their pseudonym under the server's key)."""
    if not current_user.is_authenticated:
        return False
    key = _ballot_key()
    if ballot.iin_key is not None:  # also a desk ballot cast before the person had an account
        expected = integrity.iin_voter_key(key, ballot.cycle_id, current_user.iin_hash)
        if hmac.compare_digest(expected, ballot.iin_key):
            return True
    if ballot.voter_key is None:
        return False
    expected = integrity.voter_key(key, ballot.cycle_id, current_user.id)
    return hmac.compare_digest(expected, ballot.voter_key)


def _status_for(error):
    if error.code in FORBIDDEN_CODES:
        return 403
    if error.code in CONFLICT_CODES:
        return 409
    return 422


def _is_staff_for(cycle):
    return (
        current_user.is_authenticated
        and current_user.role in ("staff", "admin")
        and current_user.works_for(cycle.region_id)
    )


def participation_refusal(cycle):
    """Why the signed-in user may not propose or vote in the cycle, and what to do about it."""
    user = current_user
    if user.verified_region_id is None:
        return Refusal(
            _(
                "Your residence is not verified yet, so you cannot propose or vote. "
                "Akimat staff verify residents, or your IIN is found in the voter register."
            ),
            url_for("main.verification_help"),
            _("How to get verified"),
        )
    if user.verified_region_id != cycle.region_id:
        return Refusal(
            _(
                "This cycle is for residents of %(region)s; you are verified as a resident "
                "of %(yours)s.",
                region=cycle.region.name,
                yours=user.verified_region.name,
            ),
            url_for("main.index", region=user.verified_region.code),
            _("See the cycles of your region"),
        )
    return Refusal(
        _(
            "This cycle is only for residents of the district %(district)s.",
            district=cycle.district.name if cycle.district else "—",
        ),
        url_for("budgeting.cycle", cycle_id=cycle.id),
        _("Back to the cycle"),
    )


def author_refusal(proposal):
    return Refusal(
        _("Only the author of a proposal may change or withdraw it."),
        url_for("budgeting.proposal", proposal_id=proposal.id),
        _("Back to the proposal"),
    )


def _heading_arg(cycle, source=None):
    """The heading named by ?heading= (404 if it is not the cycle's), else None."""
    raw = (source or request.args).get("heading", "")
    if not raw:
        return None
    try:
        return pots.resolve(db.session, cycle, raw)
    except BudgetRuleError:
        abort(404)


def _resident_heading(cycle):
    """(the heading the signed-in resident proposes or votes in, the headings open to them).

    ?heading= picks one; by default the first open to them (the city-wide one first)."""
    open_to = pots.open_to(db.session, current_user, cycle)
    if not open_to:
        raise participation_refusal(cycle)
    chosen = _heading_arg(cycle) or open_to[0]
    if chosen.id not in {h.id for h in open_to}:
        raise Refusal(
            _(
                "This budget heading is only for residents of the district %(district)s.",
                district=chosen.district.name if chosen.district else "—",
            ),
            url_for("budgeting.cycle", cycle_id=cycle.id),
            _("Back to the cycle"),
        )
    return chosen, open_to


# ------------------------------------------------------------------ cycles
@bp.route("/")
def cycles():
    query = select(BudgetCycle).order_by(BudgetCycle.voting_open_at.desc())
    region_code = request.args.get("region", "")
    if region_code:
        query = query.join(Region).where(Region.code == region_code)
    page = paginate(query)
    return render_template("budgeting/cycles.html", page=page, now=utcnow())


def _cycle_form_choices(form):
    if current_user.is_admin:
        regions = db.session.scalars(select(Region).order_by(Region.code)).all()
    else:
        regions = [db.session.get(Region, current_user.scope_region_id)]
    form.region_id.choices = [(r.id, r.name) for r in regions]
    ids = [r.id for r in regions]
    districts = db.session.scalars(
        select(District).where(District.region_id.in_(ids)).order_by(District.name_en)
    )
    form.district_id.choices = [(0, _("Whole region"))] + [(d.id, d.name) for d in districts]


def _cycle_values(form):
    values = {
        name: getattr(form, name).data
        for name in (
            "title_kk",
            "title_ru",
            "title_en",
            "summary_kk",
            "summary_ru",
            "summary_en",
            "min_votes",
            "ballot_rule",
            "max_choices",
            "winner_rule",
            "ballots_final",
        )
    }
    values["district_id"] = form.district_id.data or None
    values["budget"] = form.budget.tenge
    values["cost_cap"] = getattr(form.cost_cap, "tenge", None)
    for name in (
        "proposals_open_at",
        "review_open_at",
        "voting_open_at",
        "voting_close_at",
        "implementation_at",
    ):
        values[name] = domain.local_to_utc(getattr(form, name).data)
    return values


@bp.route("/new", methods=["GET", "POST"])
@roles_required("staff")
def new_cycle():
    form = CycleForm()
    _cycle_form_choices(form)
    if form.validate_on_submit():
        region = db.get_or_404(Region, form.region_id.data)
        require_region_access(region.id)
        try:
            cycle = services.create_cycle(db.session, current_user, region, **_cycle_values(form))
        except BudgetRuleError as error:
            db.session.rollback()
            form.form_errors.append(message(error))
        else:
            db.session.commit()
            flash(_("The budget cycle is created."), "success")
            return redirect(url_for("budgeting.cycle", cycle_id=cycle.id))
    status = 422 if request.method == "POST" else 200
    return render_template("budgeting/cycle_form.html", form=form, cycle=None), status


@bp.route("/<int:cycle_id>/edit", methods=["GET", "POST"])
@roles_required("staff")
def edit_cycle(cycle_id):
    cycle = db.get_or_404(BudgetCycle, cycle_id)
    require_region_access(cycle.region_id)
    form = CycleForm(obj=None if request.method == "POST" else cycle)
    _cycle_form_choices(form)
    if request.method == "GET":
        form.district_id.data = cycle.district_id or 0
        form.budget.data = str(cycle.budget)
        form.cost_cap.data = str(cycle.cost_cap) if cycle.cost_cap else ""
        for name in (
            "proposals_open_at",
            "review_open_at",
            "voting_open_at",
            "voting_close_at",
            "implementation_at",
        ):
            getattr(form, name).data = domain.utc_to_local(getattr(cycle, name))
    if form.validate_on_submit():
        try:
            services.update_cycle(
                db.session,
                current_user,
                cycle,
                reason=request.form.get("extension_reason", "")[:2000],
                **_cycle_values(form),
            )
        except BudgetRuleError as error:
            db.session.rollback()
            form.form_errors.append(message(error))
        else:
            db.session.commit()
            flash(_("The budget cycle is saved."), "success")
            return redirect(url_for("budgeting.cycle", cycle_id=cycle.id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "budgeting/cycle_form.html",
        form=form,
        cycle=cycle,
        frozen=integrity.is_frozen(cycle),
        extension_reason=request.form.get("extension_reason", ""),
    ), status


@bp.route("/<int:cycle_id>")
def cycle(cycle_id):
    cycle = db.get_or_404(BudgetCycle, cycle_id)
    now = utcnow()
    user = current_user if current_user.is_authenticated else None
    ballot = services.ballot_of(db.session, cycle, user, _ballot_key()) if user else None
    changes = db.session.scalars(
        select(PhaseChange).where(PhaseChange.cycle_id == cycle.id).order_by(PhaseChange.id)
    ).all()
    by_status = services.proposals_by_status(db.session, cycle)
    counts = {
        "proposals": sum(n for status, n in by_status.items() if status != "withdrawn"),
        "feasible": by_status.get("feasible", 0),
    }
    is_staff = _is_staff_for(cycle)
    heading_form = None
    if is_staff and not integrity.is_frozen(cycle, now):
        heading_form = HeadingForm(formdata=None)
        _heading_form_choices(heading_form, cycle)
    return render_template(
        "budgeting/cycle.html",
        cycle=cycle,
        phase=cycle.phase(now),
        headings=pots.summary(db.session, cycle),
        open_headings={h.id for h in pots.open_to(db.session, user, cycle)} if user else set(),
        heading_form=heading_form,
        district_names={d.id: d.name for d in cycle.region.districts},
        may_take_part=services.may_take_part(user, cycle),
        is_staff=_is_staff_for(cycle),
        ballot=ballot,
        changes=changes,
        counts=counts,
        result=publishing.published_result(db.session, cycle),
        phase_form=PhaseForm(phase=cycle.phase_override or ""),
        ledger_head=integrity.head_of(db.session, cycle),
        date_changes=cycle.date_changes,
    )


def _heading_form_choices(form, cycle):
    form.district_id.choices = [(0, _("Whole region"))] + [
        (d.id, d.name) for d in sorted(cycle.region.districts, key=_by_name)
    ]


@bp.route("/<int:cycle_id>/headings", methods=["POST"])
@roles_required("staff")
def add_heading(cycle_id):
    """Staff add a budget heading (pot) to a cycle before voting opens."""
    cycle = db.get_or_404(BudgetCycle, cycle_id)
    require_region_access(cycle.region_id)
    form = HeadingForm()
    _heading_form_choices(form, cycle)
    if form.validate_on_submit():
        try:
            pots.add_heading(
                db.session,
                current_user,
                cycle,
                name=form.name.data,
                budget=form.budget.tenge,
                district_id=form.district_id.data or None,
                ballot_rule=form.ballot_rule.data,
                max_choices=form.max_choices.data,
                min_votes=form.min_votes.data,
                winner_rule=form.winner_rule.data,
                cost_cap=form.cost_cap.tenge,
            )
        except BudgetRuleError as error:
            db.session.rollback()
            form.form_errors.append(message(error))
        else:
            db.session.commit()
            flash(_("The budget heading is added."), "success")
            return redirect(url_for("budgeting.cycle", cycle_id=cycle.id) + "#headings")
    return render_template("budgeting/heading_form.html", form=form, cycle=cycle), 422


@bp.route("/<int:cycle_id>/headings/<int:heading_id>/remove", methods=["POST"])
@roles_required("staff")
def remove_heading(cycle_id, heading_id):
    cycle = db.get_or_404(BudgetCycle, cycle_id)
    require_region_access(cycle.region_id)
    require_valid(EmptyForm())
    try:
        pots.remove_heading(db.session, current_user, cycle, heading_id)
    except BudgetRuleError as error:
        db.session.rollback()
        flash(message(error), "error")
        return redirect(url_for("budgeting.cycle", cycle_id=cycle.id) + "#headings"), 303
    db.session.commit()
    flash(_("The budget heading is removed."), "success")
    return redirect(url_for("budgeting.cycle", cycle_id=cycle.id) + "#headings")


@bp.route("/<int:cycle_id>/phase", methods=["POST"])
@roles_required("staff")
def move_phase(cycle_id):
    cycle = db.get_or_404(BudgetCycle, cycle_id)
    require_region_access(cycle.region_id)
    form = PhaseForm()
    if not form.validate_on_submit():
        abort(400)
    services.move_phase(db.session, current_user, cycle, form.phase.data or None)
    db.session.commit()
    flash(_("The phase is now “%(phase)s”.", phase=PHASE_LABELS[cycle.phase()]), "success")
    return redirect(url_for("budgeting.cycle", cycle_id=cycle.id))


# ------------------------------------------------------------------ proposals
def _filters(source):
    """(search text, category, district id) from the query string or the ballot form."""
    q = source.get("q", "").strip()[:100]
    category = source.get("category", "")
    district = source.get("district", "")
    return (
        q,
        category if category in CATEGORY_LABELS else "",
        int(district) if district.isdigit() and len(district) <= 9 else None,
    )


def _filtered(query, q, category, district):
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                Proposal.title.ilike(like, escape="\\"),
                Proposal.description_html.ilike(like, escape="\\"),
                Proposal.address.ilike(like, escape="\\"),
                Proposal.title_kk.ilike(like, escape="\\"),
                Proposal.title_ru.ilike(like, escape="\\"),
            )
        )
    if category:
        query = query.where(Proposal.category == category)
    if district is not None:
        query = query.where(Proposal.district_id == district)
    return query


@bp.route("/<int:cycle_id>/proposals")
def proposals(cycle_id):
    cycle = db.get_or_404(BudgetCycle, cycle_id)
    args = request.args
    query = select(Proposal).where(Proposal.cycle_id == cycle.id)
    q, category, district = _filters(args)
    query = _filtered(query, q, category, district)
    if args.get("status") in STATUS_LABELS:
        query = query.where(Proposal.status == args["status"])
    sort = args.get("sort", "new")
    query = query.order_by(*SORTS.get(sort, SORTS["new"]))
    page = paginate(query.options(joinedload(Proposal.district)))
    return render_template(
        "budgeting/proposals.html",
        cycle=cycle,
        page=page,
        thumbs=_first_photos([p.id for p in page.items]),
        phase=cycle.phase(),
        q=q,
        sort=sort if sort in SORTS else "new",
        may_take_part=services.may_take_part(
            current_user if current_user.is_authenticated else None, cycle
        ),
    )


def _first_photos(proposal_ids):
    """proposal id -> file name of its first photo, for the thumbnails of one listing page."""
    if not proposal_ids:
        return {}
    rows = db.session.execute(
        select(ProposalPhoto.proposal_id, ProposalPhoto.filename)
        .where(ProposalPhoto.proposal_id.in_(proposal_ids), ProposalPhoto.update_id.is_(None))
        .order_by(ProposalPhoto.id.desc())
    )
    return {proposal_id: filename for proposal_id, filename in rows}


def _proposal_form_choices(form, cycle):
    districts = (
        [cycle.district] if cycle.district_id else sorted(cycle.region.districts, key=_by_name)
    )
    form.district_id.choices = [(0, _("Not tied to one district"))] + [
        (d.id, d.name) for d in districts
    ]


def _by_name(district):
    return district.name


def _proposal_values(form):
    return {
        "title": form.title.data,
        "description": form.description.data,
        **{
            f"{name}_{lang}": getattr(form, f"{name}_{lang}").data
            for name in ("title", "description")
            for lang in ("kk", "ru")
        },
        "category": form.category.data,
        "district_id": form.district_id.data or None,
        "address": form.address.data,
        "estimated_cost": form.estimated_cost.tenge,
    }


def _save_photos(proposal, form):
    for upload in form.photos.data or []:
        if not getattr(upload, "filename", ""):
            continue
        services.add_photo(db.session, current_user, proposal, upload.read(), get_storage())


@bp.route("/<int:cycle_id>/proposals/new", methods=["GET", "POST"])
@login_required
@limit("RATELIMIT_PROPOSAL", per="account")
def new_proposal(cycle_id):
    cycle = db.get_or_404(BudgetCycle, cycle_id)
    heading, open_to = _resident_heading(cycle)
    form = ProposalForm(cap=heading.cost_cap)
    _proposal_form_choices(form, cycle)
    if heading.district_id is not None:
        form.district_id.choices = [(heading.district_id, heading.district.name)]
    status = 200
    if cycle.phase() != "proposals":
        flash(message(BudgetRuleError("wrong_phase", phase=cycle.phase())), "error")
        return redirect(url_for("budgeting.cycle", cycle_id=cycle.id))
    if form.validate_on_submit():
        try:
            proposal = services.submit_proposal(
                db.session, current_user, cycle, heading=heading, **_proposal_values(form)
            )
            _save_photos(proposal, form)
        except BudgetRuleError as error:
            db.session.rollback()
            form.form_errors.append(message(error))
            status = _status_for(error)
        else:
            db.session.commit()
            flash(_("Thank you! Your proposal is submitted."), "success")
            return redirect(url_for("budgeting.proposal", proposal_id=proposal.id))
    elif request.method == "POST":
        status = 422
    return render_template(
        "budgeting/proposal_form.html",
        form=form,
        cycle=cycle,
        proposal=None,
        heading=heading,
        headings=open_to,
    ), status


@bp.route("/proposals/<int:proposal_id>")
def proposal(proposal_id):
    proposal = db.get_or_404(Proposal, proposal_id)
    cycle = proposal.cycle
    user = current_user if current_user.is_authenticated else None
    is_staff = _is_staff_for(cycle)
    return render_template(
        "budgeting/proposal.html",
        proposal=proposal,
        cycle=cycle,
        phase=cycle.phase(),
        is_author=user is not None and proposal.author_id == user.id,
        is_staff=is_staff,
        several_headings=pots.count(db.session, cycle) > 1,
        review_form=ReviewForm() if is_staff else None,
        update_form=UpdateForm() if is_staff and proposal.funded else None,
        form=EmptyForm(),
    )


@bp.route("/proposals/<int:proposal_id>/edit", methods=["GET", "POST"])
@login_required
def edit_proposal(proposal_id):
    proposal = db.get_or_404(Proposal, proposal_id)
    cycle = proposal.cycle
    if proposal.author_id != current_user.id:
        raise author_refusal(proposal)
    form = ProposalForm(cap=cycle.cost_cap, obj=proposal if request.method == "GET" else None)
    _proposal_form_choices(form, cycle)
    if request.method == "GET":
        form.description.data = proposal.description_html
        form.description_kk.data = proposal.description_html_kk
        form.description_ru.data = proposal.description_html_ru
        form.estimated_cost.data = str(proposal.estimated_cost)
        form.district_id.data = proposal.district_id or 0
    status = 200
    if form.validate_on_submit():
        try:
            services.edit_proposal(db.session, current_user, proposal, **_proposal_values(form))
            _save_photos(proposal, form)
        except BudgetRuleError as error:
            db.session.rollback()
            form.form_errors.append(message(error))
            status = _status_for(error)
        else:
            db.session.commit()
            flash(_("Your proposal is saved."), "success")
            return redirect(url_for("budgeting.proposal", proposal_id=proposal.id))
    elif request.method == "POST":
        status = 422
    return render_template(
        "budgeting/proposal_form.html", form=form, cycle=cycle, proposal=proposal
    ), status


@bp.route("/proposals/<int:proposal_id>/withdraw", methods=["POST"])
@login_required
def withdraw_proposal(proposal_id):
    proposal = db.get_or_404(Proposal, proposal_id)
    if proposal.author_id != current_user.id:
        raise author_refusal(proposal)
    try:
        services.withdraw_proposal(db.session, current_user, proposal)
    except BudgetRuleError as error:
        db.session.rollback()
        flash(message(error), "error")
        return redirect(url_for("budgeting.proposal", proposal_id=proposal.id)), 303
    db.session.commit()
    flash(_("Your proposal is withdrawn."), "success")
    return redirect(url_for("budgeting.proposal", proposal_id=proposal.id))


@bp.route("/photos/<name>")
def photo(name):
    return _send_photo(name, thumbnail=False)


@bp.route("/photos/thumbs/<name>")
def thumbnail(name):
    return _send_photo(name, thumbnail=True)


def _send_photo(name, thumbnail):
    """A stored photo from whichever storage backend is configured (local disk or S3)."""
    found = db.session.scalar(select(ProposalPhoto).where(ProposalPhoto.filename == name))
    data = None
    if found is not None:
        storage = get_storage()
        data = storage.read(services.photo_key(found.filename, thumbnail=thumbnail))
        if data is None and thumbnail:  # photos stored before thumbnails existed
            data = storage.read(services.photo_key(found.filename))
    if data is None:
        abort(404)
    response = current_app.response_class(data, mimetype=found.content_type)
    response.headers["Content-Disposition"] = "inline"
    # The name is random and the file never changes: caches may keep it.
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


# ------------------------------------------------------------------ review
@bp.route("/<int:cycle_id>/review")
@roles_required("staff")
def review_queue(cycle_id):
    cycle = db.get_or_404(BudgetCycle, cycle_id)
    require_region_access(cycle.region_id)
    page = paginate_concat(figures.review_parts(db.session, cycle))
    return render_template("budgeting/review.html", cycle=cycle, page=page, phase=cycle.phase())


@bp.route("/proposals/<int:proposal_id>/review", methods=["POST"])
@roles_required("staff")
def review(proposal_id):
    proposal = db.get_or_404(Proposal, proposal_id)
    require_region_access(proposal.cycle.region_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for text in errors:
                flash(text, "error")
        return redirect(url_for("budgeting.proposal", proposal_id=proposal.id)), 303
    try:
        services.review_proposal(
            db.session,
            current_user,
            proposal,
            feasible=form.decision.data == "feasible",
            reason=form.reason.data,
            final_cost=getattr(form.final_cost, "tenge", None),
        )
    except BudgetRuleError as error:
        db.session.rollback()
        flash(message(error), "error")
        return redirect(url_for("budgeting.proposal", proposal_id=proposal.id)), 303
    db.session.commit()
    flash(_("The review is saved and the author is notified."), "success")
    return redirect(url_for("budgeting.review_queue", cycle_id=proposal.cycle_id))


@bp.route("/notifications")
@login_required
def notifications():
    query = (
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc())
    )
    page = paginate(query)
    unread = {n.id for n in page.items if n.read_at is None}
    services.mark_notifications_read(db.session, current_user)
    db.session.commit()
    return render_template("budgeting/notifications.html", page=page, unread=unread)


@bp.route("/my/proposals")
@login_required
def my_proposals():
    query = (
        select(Proposal)
        .options(joinedload(Proposal.cycle))
        .where(Proposal.author_id == current_user.id)
        .order_by(Proposal.created_at.desc(), Proposal.id.desc())
    )
    return render_template("budgeting/my_proposals.html", page=paginate(query))


MY_BALLOT_CYCLES = 500


@bp.route("/my/ballots")
@login_required
def my_ballots():
    # Ballots carry a keyed pseudonym per cycle, not the voter's id: compute the user's
    # pseudonyms for the cycles of their region (bounded) and look those up.
    region_id = current_user.verified_region_id or current_user.region_id
    cycle_ids = db.session.scalars(
        select(BudgetCycle.id)
        .where(BudgetCycle.region_id == region_id)
        .order_by(BudgetCycle.id.desc())
        .limit(MY_BALLOT_CYCLES)
    ).all()
    keys = [integrity.voter_key(_ballot_key(), cid, current_user.id) for cid in cycle_ids]
    # A desk ballot entered before the person had an account carries only the IIN pseudonym.
    persons = [
        integrity.iin_voter_key(_ballot_key(), cid, current_user.iin_hash) for cid in cycle_ids
    ]
    query = (
        select(Ballot)
        .options(joinedload(Ballot.cycle), joinedload(Ballot.heading))
        .where(or_(Ballot.voter_key.in_(keys or [""]), Ballot.iin_key.in_(persons or [""])))
        .order_by(Ballot.created_at.desc(), Ballot.id.desc())
    )
    return render_template("budgeting/my_ballots.html", page=paginate(query))


# ------------------------------------------------------------------ voting
# How many chosen projects a ballot page carries at most; more is no real ballot.
MAX_CARRIED = 500


def _chosen_ids(raw):
    ids = []
    for value in raw:
        text = str(value).strip()
        if text.isascii() and text.isdigit() and len(text) <= 12 and int(text) not in ids:
            ids.append(int(text))
    return ids[:MAX_CARRIED]


def _ballot_page(
    cycle, chosen=None, error=None, status=200, paper_form=None, heading=None, open_to=()
):
    """One page of the ballot: filters, a page of projects, and the chosen ones carried along.

    The chosen projects on other pages travel as hidden inputs, so paging and filtering
    (submit buttons named `browse`) keep the selection without JavaScript. The HTML is
    bounded by the page size plus the chosen projects, never by the size of the cycle.
    """
    source = request.form if request.method == "POST" else request.args
    q, category, district = _filters(source)
    user = current_user if current_user.is_authenticated else None
    ballot = (
        services.ballot_of(db.session, cycle, user, _ballot_key(), heading)
        if user and not paper_form
        else None
    )
    if chosen is None:
        chosen = ballot.project_ids if ballot is not None else []
    removed = set(_chosen_ids(request.form.getlist("remove")))
    ids = [i for i in _chosen_ids(chosen) if i not in removed]
    chosen_rows = services.chosen_projects(db.session, cycle, ids, heading)
    query = _filtered(services.ballot_query(cycle, heading), q, category, district)
    page = paginate(
        query.options(joinedload(Proposal.district)),
        page=source.get("browse") or source.get("page"),
    )
    on_page = {p.id for p in page.items}
    return render_template(
        "budgeting/paper.html" if paper_form else "budgeting/ballot.html",
        cycle=cycle,
        page=page,
        filters={"q": q, "category": category, "district": district},
        filtered=bool(q or category or district is not None),
        chosen={p.id for p in chosen_rows},
        chosen_rows=chosen_rows,
        carried=[p for p in chosen_rows if p.id not in on_page],
        total=sum(p.cost for p in chosen_rows),
        districts=sorted(cycle.region.districts, key=_by_name),
        ballot=ballot,
        error=error,
        phase=cycle.phase(),
        form=paper_form or EmptyForm(),
        heading=heading,
        headings=open_to,
    ), status


def _browsing():
    """A POST that pages, filters or removes a choice: show the ballot again, cast nothing."""
    return "browse" in request.form or "remove" in request.form


@bp.route("/<int:cycle_id>/ballot", methods=["GET", "POST"])
@database.writes_late  # cast_ballot takes the write lock only to store the ballot
@plain_user  # a POST reads the voter as one row (pages read the rest on first use)
@login_required
def ballot(cycle_id):
    if request.method == "POST" and not _browsing():
        voting = _voting_rows(cycle_id)
        if voting is not None:  # the usual vote: plain rows, no ORM object of the cycle
            _require_token()
            return _cast(cycle_id, *voting)
    cycle = db.get_or_404(BudgetCycle, cycle_id)
    heading, open_to = _resident_heading(cycle)
    if request.method == "GET":
        return _ballot_page(cycle, heading=heading, open_to=open_to)
    require_valid(EmptyForm())
    if _browsing():
        return _ballot_page(
            cycle, request.form.getlist("project"), heading=heading, open_to=open_to
        )
    return _cast(cycle_id, cycle, heading, open_to)


def _require_token():
    """require_valid(EmptyForm()), without building the form when CSRFProtect has checked
    this POST's token before the view already (flask-wtf marks that in g.csrf_valid, and
    the form's own check then passes without looking)."""
    if not g.get("csrf_valid"):
        require_valid(EmptyForm())


def _voting_rows(cycle_id):
    """(cycle, heading, open headings) as plain rows when the signed-in resident may vote
    here in the heading they asked for; None for anything else (no such cycle, a refusal,
    an unknown ?heading=), which the ordinary path then answers exactly as before."""
    found = services.voting_cycle(db.session, cycle_id)
    if found is None:
        return None
    cycle, all_headings = found
    open_to = [h for h in all_headings if pots.may_take_part(current_user, cycle, h)]
    if not open_to:
        return None
    raw = request.args.get("heading", "")
    if not raw:
        return cycle, open_to[0], open_to
    try:
        wanted = int(raw)
    except ValueError:
        return None
    chosen = [h for h in open_to if h.id == wanted]
    return (cycle, chosen[0], open_to) if chosen else None


def _cast(cycle_id, cycle, heading, open_to):
    """Store the POSTed ballot and redirect to its receipt, or show the ballot with the
    refusal. `cycle` and the headings are ORM objects or plain rows (services.VotingCycle)."""
    chosen = request.form.getlist("project")
    try:
        ballot_id = _store(cycle, chosen, heading)
    except group_commit.Unconfirmed as error:
        db.session.rollback()
        current_app.logger.warning("ballot unconfirmed: %s", error)
        raise Refusal(
            _(
                "Your ballot was sent, but the server is very busy and could not confirm in "
                "time that it was recorded. Open the ballot page in a minute: it shows your "
                "ballot if it was recorded. If it does not, vote again."
            ),
            url_for("budgeting.ballot", cycle_id=cycle_id),
            _("Open the ballot page"),
            code=503,
        ) from None
    except BudgetRuleError as error:
        db.session.rollback()
        text = message(error)
        if error.code == "other_channel":
            text = _(
                "You have already voted on paper at an akimat desk in this cycle. One person "
                "votes once, and your paper ballot counts."
            )
        if not isinstance(cycle, BudgetCycle):  # the page needs the objects
            cycle = db.get_or_404(BudgetCycle, cycle_id)
            heading, open_to = _resident_heading(cycle)
        return _ballot_page(
            cycle, chosen, text, _status_for(error), heading=heading, open_to=open_to
        )
    # Read before commit: afterwards they would be loaded again in a new transaction.
    target = url_for("budgeting.receipt", cycle_id=cycle_id, ballot_id=ballot_id)
    db.session.commit()
    metrics.ballot_cast("online")
    return redirect(target)


def _store(cycle, chosen, heading):
    """The stored ballot's id: checked here in the request's snapshot, then written by the
    machine's writer process (BALLOT_WRITER_SOCKET), else on SQLite by the process's group
    writer (BALLOT_GROUP_COMMIT), else here. The writers write the ballots that arrive
    together in one transaction: one commit, one flush (portal.group_commit)."""
    prepared = services.prepare_ballot(
        db.session,
        current_user,
        cycle,
        chosen,
        secret=_secret(),
        ballot_key=_ballot_key(),
        heading=heading,
    )
    url = db.engine.url  # an in-memory database is one per connection: not a writer's
    shared = url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")
    path = current_app.config["BALLOT_WRITER_SOCKET"]
    grouped = current_app.config["BALLOT_GROUP_COMMIT"] and url.get_backend_name() == "sqlite"
    # The cycle's first ballot stamps its rules frozen, with the caller's cycle: written here.
    if prepared.frozen is None or not shared or not (path or grouped):
        return ballots.write_ballot(db.session, prepared)
    # Ends the snapshot (the writer reads again under the lock); COMMIT on PostgreSQL, which
    # keeps the request's prepared statements (database.end_read).
    database.end_read(db.session)
    if path:  # the machine's writer process (flask budgeting ballot-writer)
        try:
            return group_commit.remote(path).submit(dataclasses.replace(prepared, cycle=None))
        except group_commit.Unreachable as error:  # nothing was sent: write it here
            current_app.logger.warning("ballot writer unreachable (%s): writing here", error)
    if not grouped:
        return ballots.write_ballot(db.session, prepared)
    writer = group_commit.writer(current_app, "ballots", ballots.write_ballots)
    return writer.submit(prepared)


@bp.route("/<int:cycle_id>/ballot/<int:ballot_id>/receipt")
@login_required
def receipt(cycle_id, ballot_id):
    stored = db.get_or_404(Ballot, ballot_id)
    if stored.cycle_id != cycle_id:
        abort(404)
    if not _owns(stored) and not (stored.channel == "paper" and _is_staff_for(stored.cycle)):
        raise Refusal(
            _("This receipt belongs to another voter. Anyone can check a receipt by its code."),
            url_for("budgeting.lookup_receipt"),
            _("Check a receipt"),
        )
    projects = db.session.scalars(
        select(Proposal).where(Proposal.id.in_(stored.project_ids)).order_by(Proposal.id)
    ).all()
    return render_template(
        "budgeting/receipt.html",
        ballot=stored,
        cycle=stored.cycle,
        projects=projects,
        code=domain.group_receipt(stored.receipt),
        heading=stored.heading if pots.count(db.session, stored.cycle) > 1 else None,
        total=sum(p.cost for p in projects),
        proof=integrity.proof(db.session, stored.cycle, stored),
    )


@bp.route("/receipt")
@limit("RATELIMIT_RECEIPT", methods=None)
def lookup_receipt():
    raw = request.args.get("code", "")
    found = services.find_receipt(db.session, raw) if raw else None
    own = found is not None and _owns(found)
    return render_template(
        "budgeting/lookup.html",
        code=raw[:40],
        searched=bool(raw),
        malformed=bool(raw) and domain.normalise_receipt(raw) is None,
        found=found,
        counted=found is not None and services.receipt_is_current(found, _secret()),
        own=own,
        proof=integrity.proof(db.session, found.cycle, found) if found is not None else None,
    ), (200 if found or not raw else 404)


# ------------------------------------------------------------------ implementation
@bp.route("/<int:cycle_id>/implementation")
def implementation(cycle_id):
    cycle = db.get_or_404(BudgetCycle, cycle_id)
    page = paginate(
        select(Proposal)
        .where(Proposal.cycle_id == cycle.id, Proposal.funded.is_(True))
        .order_by(Proposal.id)
        .options(selectinload(Proposal.updates))
    )
    return render_template("budgeting/implementation.html", cycle=cycle, page=page)


@bp.route("/proposals/<int:proposal_id>/updates", methods=["POST"])
@roles_required("staff")
def add_update(proposal_id):
    proposal = db.get_or_404(Proposal, proposal_id)
    require_region_access(proposal.cycle.region_id)
    form = UpdateForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for text in errors:
                flash(text, "error")
        return redirect(url_for("budgeting.proposal", proposal_id=proposal.id)), 303
    try:
        update = services.add_update(
            db.session,
            current_user,
            proposal,
            status=form.status.data,
            progress=form.progress.data,
            note=form.note.data,
        )
        if form.photo.data and getattr(form.photo.data, "filename", ""):
            services.add_photo(
                db.session,
                current_user,
                proposal,
                form.photo.data.read(),
                get_storage(),
                update=update,
            )
    except BudgetRuleError as error:
        db.session.rollback()
        flash(message(error), "error")
        return redirect(url_for("budgeting.proposal", proposal_id=proposal.id)), 303
    db.session.commit()
    flash(_("The update is published."), "success")
    return redirect(url_for("budgeting.proposal", proposal_id=proposal.id))
