"""The moderation queue of a region (or the national one), single, bulk and campaign actions.

Every action is a plain form POST that redirects back to the queue; `static/js/moderation.js`
adds keyboard triage on top and asks for JSON (Accept: application/json) to stay on the page.
"""

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.consultations.models import Campaign, Comment, Draft
from portal.consultations.services import can_moderate, plain
from portal.consultations.views import error_message, labels
from portal.errors import Refusal
from portal.extensions import db
from portal.forms import require_valid
from portal.jobs import enqueue
from portal.moderation import services
from portal.moderation.forms import ActionForm, QueueFilterForm, TopicForm
from portal.moderation.jobs import CLUSTER_JOB
from portal.moderation.services import ModerationError, QueueFilters
from portal.pagination import paginate
from portal.permissions import roles_required
from portal.regions.models import Region

bp = Blueprint("moderation", __name__, url_prefix="/moderation")
ACTIONS = ("publish", "reject", "restore")


def _other_region():
    return Refusal(
        _("This draft is moderated by the moderators of its region."),
        url_for("moderation.queue"),
        _("Go to your queue"),
    )


def _wants_json():
    return request.accept_mimetypes.best == "application/json"


def _queue_region():
    """(region_id, region) of the queue shown: a moderator's own; admins pick with ?region=."""
    if current_user.is_admin:
        code = request.args.get("region", "national")
        if code == "national":
            return None, None
        region = db.session.scalar(select(Region).where(Region.code == code))
        if region is None:
            abort(404)
        return region.id, region
    return current_user.scope_region_id, current_user.scope_region


def _safe_next(default):
    target = request.form.get("next", "")
    if target.startswith("/moderation") and not target.startswith("//"):
        return target
    return default


SHORTCUTS_COOKIE = "shortcuts"


def shortcuts_on():
    """Single-key shortcuts are on unless the moderator switched them off (WCAG 2.1.4)."""
    return request.cookies.get(SHORTCUTS_COOKIE) != "off"


@bp.route("/shortcuts", methods=["POST"])
@roles_required("moderator")
def shortcuts():
    """Switch the queue's single-key shortcuts on or off; remembered for a year."""
    ActionForm().validate_on_submit()  # CSRF is checked globally
    on = request.form.get("on") == "1"
    response = redirect(_safe_next(url_for("moderation.queue")))
    response.set_cookie(
        SHORTCUTS_COOKIE,
        "on" if on else "off",
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    flash(
        _("Single-key shortcuts are on.") if on else _("Single-key shortcuts are off."),
        "success",
    )
    return response


@bp.route("/")
@roles_required("moderator")
def queue():
    region_id, region = _queue_region()
    form = QueueFilterForm(request.args)
    if request.args and not form.validate():
        abort(400)
    filters = QueueFilters(
        draft_id=form.draft.data,
        article_id=form.article.data,
        status=form.status.data if "status" in request.args else "pending",
        stance=form.stance.data or None,
        reported=bool(form.reported.data),
        campaign_id=form.campaign.data,
        newest_first=form.sort.data == "newest",
        after=form.after.data,
    )
    try:
        comments, next_cursor, total = services.queue(db.session, current_user, region_id, filters)
    except ModerationError:
        abort(403)
    drafts = db.session.scalars(
        select(Draft)
        .where(Draft.id.in_(services.region_drafts(region_id)), Draft.status != "draft")
        .order_by(Draft.id.desc())
        .limit(200)
    ).all()
    next_args = request.args.to_dict()
    next_args["after"] = next_cursor
    regions = (
        db.session.scalars(select(Region).order_by(Region.code)).all()
        if current_user.is_admin
        else []
    )
    return render_template(
        "moderation/queue.html",
        shortcuts_on=shortcuts_on(),
        comments=comments,
        total=total,
        count_cap=services.COUNT_CAP,
        form=form,
        action_form=ActionForm(),
        drafts=drafts,
        region=region,
        regions=regions,
        next_url=url_for("moderation.queue", **next_args) if next_cursor else None,
        first_url=url_for(
            "moderation.queue", **{k: v for k, v in request.args.items() if k != "after"}
        ),
        plain=plain,
    )


def _comment_or_404(comment_id):
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        abort(404)
    if not can_moderate(current_user, comment.draft):
        raise _other_region()
    return comment


def _done(message, ok=True, status=200, status_label=None):
    if _wants_json():
        body = {"ok": ok, "message": message}
        if status_label is not None:
            body["status_label"] = status_label
        return jsonify(body), status
    flash(message, "success" if ok else "error")
    return redirect(_safe_next(url_for("moderation.queue")))


@bp.route("/comments/<int:comment_id>/<action>", methods=["POST"])
@roles_required("moderator")
def act(comment_id, action):
    if action not in ACTIONS:
        abort(404)
    comment = _comment_or_404(comment_id)
    form = require_valid(ActionForm())
    try:
        services.moderate(db.session, current_user, [comment], action, form.reason.data or None)
    except ModerationError as error:
        db.session.rollback()
        return _done(error_message(error), ok=False, status=422)
    db.session.commit()
    messages = {
        "publish": _("Comment %(id)d is published.", id=comment.id),
        "reject": _("Comment %(id)d is rejected.", id=comment.id),
        "restore": _("Comment %(id)d is published again.", id=comment.id),
    }
    label = labels()["statuses"][comment.status]
    if comment.reject_reason:
        label = f"{label}: {labels()['reasons'][comment.reject_reason]}"
    return _done(messages[action], status_label=label)


@bp.route("/bulk", methods=["POST"])
@roles_required("moderator")
def bulk():
    form = require_valid(ActionForm())
    action = request.form.get("action", "")
    raw_ids = request.form.getlist("ids")
    if action not in ACTIONS or not all(i.isdigit() for i in raw_ids):
        abort(400)
    try:
        comments = services.comments_by_ids(db.session, raw_ids)
        services.moderate(db.session, current_user, comments, action, form.reason.data or None)
    except ModerationError as error:
        db.session.rollback()
        if error.code == "forbidden":
            raise _other_region() from None
        return _done(error_message(error), ok=False, status=422)
    db.session.commit()
    return _done(_("%(count)d comments updated.", count=len(comments)))


@bp.route("/comments/<int:comment_id>/topic", methods=["POST"])
@roles_required("moderator")
def topic(comment_id):
    comment = _comment_or_404(comment_id)
    form = TopicForm()
    if not form.validate_on_submit():
        return _done(_("A topic is a short plain-text label (up to 60 characters)."), False, 422)
    services.set_topic(db.session, current_user, comment, form.topic.data)
    db.session.commit()
    return _done(_("The topic is saved."))


def _draft_for_moderation(draft_id):
    draft = db.session.get(Draft, draft_id)
    if draft is None:
        abort(404)
    if not can_moderate(current_user, draft):
        raise _other_region()
    return draft


@bp.route("/drafts/<int:draft_id>/campaigns")
@roles_required("moderator")
def campaigns(draft_id):
    draft = _draft_for_moderation(draft_id)
    page = paginate(services.campaigns_of(db.session, draft))
    return render_template(
        "moderation/campaigns.html",
        draft=draft,
        page=page,
        rows=services.campaign_rows(db.session, page.items),
        action_form=ActionForm(),
        plain=plain,
    )


@bp.route("/drafts/<int:draft_id>/cluster", methods=["POST"])
@roles_required("moderator")
def cluster(draft_id):
    draft = _draft_for_moderation(draft_id)
    require_valid(ActionForm())
    # Clustering a large draft takes long: a background job does it while staff watch.
    back = url_for("moderation.campaigns", draft_id=draft.id)
    payload = {"draft_id": draft.id, "user_id": current_user.id, "back": back}
    queued = enqueue(db.session, CLUSTER_JOB, payload, actor=current_user)
    db.session.commit()
    return redirect(url_for("jobs.status", job_id=queued.id))


@bp.route("/campaigns/<int:campaign_id>/<action>", methods=["POST"])
@roles_required("moderator")
def campaign_act(campaign_id, action):
    if action not in ACTIONS:
        abort(404)
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    _draft_for_moderation(campaign.draft_id)
    form = require_valid(ActionForm())
    try:
        count = services.moderate_campaign(
            db.session, current_user, campaign, action, form.reason.data or None
        )
    except ModerationError as error:
        db.session.rollback()
        flash(error_message(error), "error")
    else:
        db.session.commit()
        flash(_("%(count)d comments updated.", count=count), "success")
    return redirect(url_for("moderation.campaigns", draft_id=campaign.draft_id))
