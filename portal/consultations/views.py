"""Draft-law consultations: public pages, comments, staff publishing and answers."""

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal import bilingual, formatting
from portal.consultations import calendar, services
from portal.consultations.forms import (
    AnswerForm,
    ArticleForm,
    CommentForm,
    DraftForm,
    ExtendForm,
    OpenForm,
    VoteForm,
    decision_choices,
    kind_choices,
    reason_choices,
    stance_choices,
)
from portal.consultations.models import Article, Comment, Draft
from portal.consultations.services import ConsultationError
from portal.errors import Refusal
from portal.extensions import db
from portal.forms import BaseForm, require_valid
from portal.i18n import current_language
from portal.pagination import paginate, paginate_counted
from portal.permissions import roles_required
from portal.ratelimit import limit
from portal.regions.models import Region

bp = Blueprint("consultations", __name__, url_prefix="/consultations")


def error_message(error):
    """The user's-language message for a refused consultation or moderation action."""
    details = error.details
    last_day = details.get("last_day")
    messages = {
        "forbidden": _("You may not do this for this draft."),
        "closed": _(
            "The discussion is closed: comments were accepted until the end of %(day)s (%(zone)s).",
            day=formatting.day(last_day) if last_day else "—",
            zone=formatting.TIME_ZONE_NAME,
        ),
        "not_open_yet": _("This draft is not open for discussion yet."),
        "empty_text": _("Write your comment first."),
        "text_too_long": _("A comment can have at most 10,000 characters."),
        "not_utf8": _("The text is not valid UTF-8. Save it as UTF-8 and try again."),
        "control_chars": _("This field contains characters that are not allowed."),
        "bad_stance": _("Choose your position: support, object or propose other wording."),
        "article_not_in_draft": _("This article does not belong to this draft."),
        **_pair_messages(details),
        "paragraph_not_in_article": _("This paragraph does not belong to this article."),
        "wording_needs_article": _("Proposed wording needs an article to compare it with."),
        "no_articles": _(
            "No articles were found in the text. Articles start with a heading such as "
            "«Статья 1.», «1-бап.» or «Article 1.»."
        ),
        "draft_too_long": _("The text of the draft is too long."),
        "no_title": _("Give the draft a title in at least one language."),
        "bad_kind": _("Choose the kind of the draft."),
        "bad_days": _("The period must be between 1 and 60 working days."),
        "short_reason": _("An extension needs a written reason of at least 10 characters."),
        "bad_transition": _("This action is not possible in the draft's or comment's state."),
        "already_published": _("The draft is already published; its text cannot change."),
        "no_number": _("An article needs a number."),
        "own_comment": _("You cannot report your own comment."),
        "already_reported": _("You have already reported this comment."),
        "already_voted": _("You have already given your view of this draft."),
        "not_verified": not_verified_message(),
        "justification_required": _("A justification is required unless the comment is accepted."),
        "wording_rule": _(
            "An accepted comment needs the new wording; a comment that is not accepted "
            "cannot bring new wording."
        ),
        "already_answered": _("This comment has already been answered."),
        "not_published": _("Only published comments can be answered."),
        "bad_reason": _("Choose a reason for the rejection."),
        "too_many": _("Select at most 500 comments at once."),
        "nothing_selected": _("No comments were selected that this action applies to."),
        "not_found": _("Some of the selected comments no longer exist."),
        "bad_action": _("Unknown action."),
        "bad_topic": _("A topic is a short plain-text label (up to 60 characters)."),
    }
    return messages.get(error.code, _("This action is not possible."))


def _language_name(code):
    return {"kk": _("Kazakh"), "ru": _("Russian"), "en": _("English")}.get(code, code or "—")


def _in_text(code):
    names = {
        "kk": _("in the Kazakh text"),
        "ru": _("in the Russian text"),
        "en": _("in the English text"),
    }
    return names.get(code, code or "—")


def _pair_messages(details):
    """Why a draft's Kazakh and Russian texts were refused, naming the article that differs."""
    number = details.get("number", "")
    return {
        "same_language": _(
            "The two texts must be one in Kazakh (articles headed «1-бап») and one in Russian "
            "(«Статья 1»)."
        ),
        "article_missing": _(
            "Article %(number)s is %(present)s but not %(missing)s.",
            number=number,
            present=_in_text(details.get("present")),
            missing=_in_text(details.get("missing")),
        ),
        "article_count": _(
            "There are more articles %(present)s than %(missing)s: check article %(number)s.",
            number=number,
            present=_in_text(details.get("present")),
            missing=_in_text(details.get("missing")),
        ),
        "article_order": _(
            "The articles are in a different order: article no. %(position)s is article "
            "%(first)s %(first_text)s and article %(second)s %(second_text)s.",
            position=details.get("position", ""),
            first=details.get("first", ""),
            second=details.get("second", ""),
            first_text=_in_text(details.get("first_language")),
            second_text=_in_text(details.get("second_language")),
        ),
        "paragraphs_differ": _(
            "Article %(number)s has different numbered paragraphs in the two texts "
            "(%(first)s and %(second)s).",
            number=number,
            first=details.get("first", ""),
            second=details.get("second", ""),
        ),
    }


def not_verified_message():
    return _(
        "Only verified residents of the draft's region can comment on it and give their "
        "view (any verified resident for a national draft). To get verified, ask your "
        "akimat's staff to confirm your residence (bring your ID card), then come back."
    )


def _refuse_unverified(draft):
    """The view's own check (the services check again): a clear message, nothing written."""
    flash(not_verified_message(), "error")
    return redirect(url_for("consultations.show", draft_id=draft.id)), 303


def labels():
    """Translated labels of stances, decisions, reasons and kinds for templates and CSV.

    Built once per request and language: every comment a page shows includes a template
    that asks for them (50 builds were a third of the article page's time)."""
    language = str(get_locale()) if has_request_context() else None
    cached = g.get("_consult_labels") if has_request_context() else None
    if cached is not None and cached[0] == language:
        return cached[1]
    built = _build_labels()
    if has_request_context():
        g._consult_labels = (language, built)
    return built


def _build_labels():
    return {
        "stances": dict(stance_choices()),
        "decisions": dict(decision_choices()),
        "reasons": dict(reason_choices()),
        "kinds": dict(kind_choices()),
        "languages": {code: _language_name(code) for code in ("kk", "ru", "en")},
        "statuses": {
            "draft": _("Not published"),
            "open": _("Open for comments"),
            "closed": _("Closed"),
            "report_published": _("Report published"),
            "pending": _("Awaiting moderation"),
            "published": _("Published"),
            "hidden": _("Hidden after reports"),
            "rejected": _("Rejected"),
        },
    }


@bp.app_context_processor
def _inject():
    return {
        "consult_labels": labels,
        "last_open_day": _last_open_day,
        "last_day": _last_day,
        "now_utc": services.now_utc,
        "plain_text": services.plain,
        "in_language": bilingual.in_language,
        "READ_IN": bilingual.READ_IN,
    }


def _text_language(draft, asked=None):
    """The language of the draft's text to show: the switch (?text=), else the reader's, else
    the original. It is not the interface language, which stays as the reader chose."""
    return bilingual.choose(draft.languages, asked or request.args.get("text"), current_language())


def _last_day(end):
    """The last local day of a period that ends (exclusively) at the naive UTC `end`."""
    return calendar.last_open_day(services.aware(end)) if end is not None else None


def _last_open_day(draft):
    return _last_day(draft.period_end)


def _draft_or_404(draft_id):
    draft = db.session.get(Draft, draft_id)
    user = current_user if current_user.is_authenticated else None
    if draft is None or not services.is_visible(draft, user):
        abort(404)
    return draft


def _manage_or_403(draft):
    if not (current_user.is_authenticated and services.can_manage(current_user, draft)):
        raise Refusal(
            _(
                "Only the akimat staff of the draft's region (or administrators, for national "
                "drafts) manage it."
            ),
            url_for("consultations.show", draft_id=draft.id),
            _("Back to the draft"),
        )


def _user():
    return current_user if current_user.is_authenticated else None


@bp.route("/")
def index():
    page = paginate(services.drafts_for_list(db.session, _user()))
    return render_template("consultations/index.html", page=page, services=services)


@bp.route("/<int:draft_id>")
def show(draft_id):
    draft = _draft_or_404(draft_id)
    counts = services.article_counts(db.session, draft)
    return render_template(
        "consultations/draft.html",
        draft=draft,
        text_lang=_text_language(draft),
        counts=counts,
        votes=services.vote_counts(db.session, draft),
        status=services.effective_status(draft),
        vote_form=VoteForm(),
        can_take_part=services.may_take_part(_user(), draft),
        not_verified=not_verified_message(),
        can_manage=services.can_manage(_user(), draft),
        general=services.public_positions(db.session, draft, None),
    )


@bp.route("/<int:draft_id>/articles/<int:article_id>")
def article(draft_id, article_id):
    draft = _draft_or_404(draft_id)
    article = db.session.get(Article, article_id)
    if article is None or article.draft_id != draft.id:
        abort(404)
    form = CommentForm(article_id=article.id, text_language=_text_language(draft))
    _paragraph_choices(form, article)
    return _article_page(draft, article, form)


def _paragraph_choices(form, article):
    form.paragraph_id.choices = [("", _("The whole article"))] + [
        (str(p.id), p.number or _("Text")) for p in article.paragraphs
    ]


def _article_page(draft, article, form, status=200):
    return (
        render_template(
            "consultations/article.html",
            draft=draft,
            article=article,
            form=form,
            text_lang=_text_language(draft, form.text_language.data),
            counts=services.article_counts(
                db.session, draft, [article.id if article else None]
            ).get(article.id if article else None),
            positions=services.public_positions(db.session, draft, article.id if article else None),
            status=services.effective_status(draft),
            report_form=BaseForm(),
            can_take_part=services.may_take_part(_user(), draft),
            not_verified=not_verified_message(),
            diff=services.domain.word_diff,
            plain=services.plain,
        ),
        status,
    )


@bp.route("/<int:draft_id>/comments", methods=["POST"])
@login_required
@limit("RATELIMIT_COMMENT", per="account")
def comment(draft_id):
    draft = _draft_or_404(draft_id)
    if not services.may_take_part(current_user, draft):
        return _refuse_unverified(draft)
    form = CommentForm()
    raw_article = form.article_id.data or ""
    article = None
    if raw_article:
        if not raw_article.isdigit():
            abort(400)
        article = db.session.get(Article, int(raw_article))
    if article is not None and article.draft_id == draft.id:
        _paragraph_choices(form, article)
    else:
        form.paragraph_id.choices = [("", "")] + [(form.paragraph_id.data or "", "")]
    if form.validate_on_submit():
        paragraph = form.paragraph_id.data
        try:
            services.add_comment(
                db.session,
                current_user,
                draft,
                stance=form.stance.data,
                text=form.text.data,
                article_id=int(raw_article) if raw_article else None,
                paragraph_id=int(paragraph) if paragraph and paragraph.isdigit() else None,
                proposed_wording=form.proposed_wording.data or "",
                text_language=form.text_language.data or None,
            )
        except ConsultationError as error:
            db.session.rollback()
            form.form_errors.append(error_message(error))
        else:
            db.session.commit()
            flash(_("Thank you. Your comment will appear after a moderator checks it."), "success")
            return redirect(url_for("consultations.my_comments"))
    if article is None or article.draft_id != draft.id:
        if raw_article:
            # An article of another draft: refuse clearly, write nothing.
            flash(_("This article does not belong to this draft."), "error")
            return redirect(url_for("consultations.show", draft_id=draft.id)), 303
        return redirect(url_for("consultations.show", draft_id=draft.id))
    return _article_page(draft, article, form, status=422)


@bp.route("/<int:draft_id>/vote", methods=["POST"])
@login_required
@limit("RATELIMIT_DRAFT_VOTE", per="account")
def vote(draft_id):
    draft = _draft_or_404(draft_id)
    if not services.may_take_part(current_user, draft):
        return _refuse_unverified(draft)
    form = VoteForm()
    if not form.validate_on_submit():
        flash(_("Choose whether you support the draft."), "error")
    else:
        try:
            services.vote(db.session, current_user, draft, supports=form.supports.data == "yes")
        except ConsultationError as error:
            db.session.rollback()
            flash(error_message(error), "error")
        else:
            db.session.commit()
            flash(_("Your view of the draft is recorded."), "success")
    return redirect(url_for("consultations.show", draft_id=draft.id))


@bp.route("/comments/<int:comment_id>/report", methods=["POST"])
@login_required
@limit("RATELIMIT_REPORT", per="account")
def report(comment_id):
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.status != "published":
        abort(404)
    require_valid(BaseForm())
    try:
        services.report_comment(db.session, current_user, comment)
    except ConsultationError as error:
        db.session.rollback()
        flash(error_message(error), "error")
    else:
        db.session.commit()
        flash(_("Thank you. A moderator will review the comment."), "success")
    if comment.article_id:
        target = url_for(
            "consultations.article", draft_id=comment.draft_id, article_id=comment.article_id
        )
    else:
        target = url_for("consultations.show", draft_id=comment.draft_id)
    return redirect(target)


@bp.route("/my-comments")
@login_required
def my_comments():
    page = paginate(services.comments_of_query(current_user))
    return render_template("consultations/my_comments.html", page=page, comments=page.items)


@bp.route("/<int:draft_id>/summary")
def summary(draft_id):
    draft = _draft_or_404(draft_id)
    counts = services.article_counts(db.session, draft)
    page = paginate_counted(
        sum(c["total"] for c in counts.values()),
        lambda offset, limit: services.summary_slice(db.session, draft, counts, offset, limit),
    )
    return render_template(
        "consultations/summary.html",
        draft=draft,
        text_lang=_text_language(draft),
        page=page,
        rows=page.items,
        is_overdue=services.is_overdue,
        plain=services.plain,
    )


def _summary_labels():
    """Header and cell labels of the summary download, in the user's language."""
    names = labels()
    return {
        "header": [
            _("Article"),
            _("Comment"),
            _("Stance"),
            _("Decision"),
            _("Justification"),
            _("New wording"),
            _("Date of answer"),
            _("Article title (Kazakh)"),
            _("Article title (Russian)"),
        ],
        "stances": {k: str(v) for k, v in names["stances"].items()},
        "decisions": {k: str(v) for k, v in names["decisions"].items()},
        "pending": _("No answer yet"),
        "whole": _("Whole draft"),
    }


def _attachment(draft, extension):
    return {"Content-Disposition": f'attachment; filename="draft-{draft.id}-summary.{extension}"'}


@bp.route("/<int:draft_id>/summary.csv")
def summary_csv(draft_id):
    draft = _draft_or_404(draft_id)
    text = services.summary_csv(db.session, draft, labels=_summary_labels())
    return Response(text, mimetype="text/csv", headers=_attachment(draft, "csv"))


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/<int:draft_id>/summary.xlsx")
def summary_xlsx(draft_id):
    draft = _draft_or_404(draft_id)
    data = services.summary_xlsx(
        db.session, draft, labels=_summary_labels(), sheet_title=_("Summary table")
    )
    return Response(data, mimetype=XLSX_MIMETYPE, headers=_attachment(draft, "xlsx"))


# Staff --------------------------------------------------------------------------------------


def _scope_choices(form):
    if current_user.is_admin:
        regions = db.session.scalars(select(Region).order_by(Region.code)).all()
        form.scope.choices = [("national", _("National"))] + [(r.code, r.name) for r in regions]
    else:
        region = current_user.scope_region
        form.scope.choices = [(region.code, region.name)] if region else []


@bp.route("/new", methods=["GET", "POST"])
@roles_required("staff")
def new_draft():
    form = DraftForm()
    _scope_choices(form)
    status = 200
    if form.validate_on_submit():
        text = _uploaded(form.file) or form.text.data or ""
        second_text = _uploaded(form.second_file) or form.second_text.data or None
        region = None
        if form.scope.data != "national":
            region = db.session.scalar(select(Region).where(Region.code == form.scope.data))
        try:
            draft = services.create_draft(
                db.session,
                current_user,
                titles={lang: getattr(form, f"title_{lang}").data for lang in ("kk", "ru", "en")},
                summaries={
                    lang: getattr(form, f"summary_{lang}").data for lang in ("kk", "ru", "en")
                },
                agency=form.agency.data,
                kind=form.kind.data,
                region=region,
                text=text,
                second_text=second_text,
                explanatory_note=form.explanatory_note.data or "",
            )
        except ConsultationError as error:
            db.session.rollback()
            form.form_errors.append(error_message(error))
            status = 422
        else:
            db.session.commit()
            flash(_("The draft is saved. Check the articles, then open the discussion."), "success")
            return redirect(url_for("consultations.manage", draft_id=draft.id))
    elif request.method == "POST":
        status = 422
    return render_template("consultations/new.html", form=form), status


def _uploaded(field):
    upload = field.data
    return upload.read() if upload and getattr(upload, "filename", "") else None


@bp.route("/<int:draft_id>/manage")
@login_required
def manage(draft_id):
    draft = _draft_or_404(draft_id)
    _manage_or_403(draft)
    return render_template(
        "consultations/manage.html",
        draft=draft,
        status=services.effective_status(draft),
        open_form=OpenForm(),
        extend_form=ExtendForm(),
        action_form=BaseForm(),
    )


@bp.route("/<int:draft_id>/articles/<int:article_id>/edit", methods=["GET", "POST"])
@login_required
def edit_article(draft_id, article_id):
    draft = _draft_or_404(draft_id)
    _manage_or_403(draft)
    article = db.session.get(Article, article_id)
    if article is None or article.draft_id != draft.id:
        abort(404)
    form = ArticleForm(obj=article)
    second = draft.second_language
    if second and request.method == "GET":
        form.second_title.data = getattr(article, f"title_{second}") or ""
        form.second_text.data = getattr(article, f"text_{second}") or ""
    status = 200
    if form.validate_on_submit():
        try:
            services.correct_article(
                db.session,
                current_user,
                article,
                number=form.number.data,
                title=form.title.data or "",
                text=form.text.data or "",
                second_title=form.second_title.data if second else None,
                second_text=form.second_text.data if second else None,
            )
        except ConsultationError as error:
            db.session.rollback()
            form.form_errors.append(error_message(error))
            status = 422
        else:
            db.session.commit()
            flash(_("The article is saved."), "success")
            return redirect(url_for("consultations.manage", draft_id=draft.id))
    elif request.method == "POST":
        status = 422
    return render_template(
        "consultations/edit_article.html", draft=draft, article=article, form=form
    ), status


def _staff_action(draft_id, action, form_class=BaseForm):
    draft = _draft_or_404(draft_id)
    _manage_or_403(draft)
    form = form_class()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(url_for("consultations.manage", draft_id=draft.id))
    try:
        action(draft, form)
    except ConsultationError as error:
        db.session.rollback()
        flash(error_message(error), "error")
    else:
        db.session.commit()
        flash(_("Saved."), "success")
    return redirect(url_for("consultations.manage", draft_id=draft.id))


@bp.route("/<int:draft_id>/open", methods=["POST"])
@login_required
def open_draft(draft_id):
    return _staff_action(
        draft_id,
        lambda d, f: services.open_draft(
            db.session, current_user, d, working_days=f.working_days.data
        ),
        OpenForm,
    )


@bp.route("/<int:draft_id>/extend", methods=["POST"])
@login_required
def extend(draft_id):
    return _staff_action(
        draft_id,
        lambda d, f: services.extend_draft(
            db.session, current_user, d, working_days=f.working_days.data, reason=f.reason.data
        ),
        ExtendForm,
    )


@bp.route("/<int:draft_id>/close", methods=["POST"])
@login_required
def close(draft_id):
    return _staff_action(draft_id, lambda d, f: services.close_draft(db.session, current_user, d))


@bp.route("/<int:draft_id>/publish-report", methods=["POST"])
@login_required
def publish_report(draft_id):
    return _staff_action(
        draft_id, lambda d, f: services.publish_report(db.session, current_user, d)
    )


@bp.route("/<int:draft_id>/answers")
@login_required
def answers(draft_id):
    draft = _draft_or_404(draft_id)
    _manage_or_403(draft)
    statement = (
        select(Comment)
        .where(
            Comment.draft_id == draft.id,
            Comment.status == "published",
            Comment.decision.is_(None),
        )
        .order_by(Comment.id)
        .options(joinedload(Comment.article), joinedload(Comment.campaign))
    )
    # Counted from the counters, not by a COUNT over the draft's published comments.
    page = paginate_counted(
        services.unanswered_count(db.session, draft),
        lambda offset, limit: db.session.scalars(statement.offset(offset).limit(limit)).all(),
    )
    return render_template(
        "consultations/answers.html",
        draft=draft,
        page=page,
        form=AnswerForm(),
        is_overdue=services.is_overdue,
    )


@bp.route("/comments/<int:comment_id>/answer", methods=["POST"])
@login_required
def answer(comment_id):
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        abort(404)
    _manage_or_403(comment.draft)
    form = AnswerForm()
    back = redirect(url_for("consultations.answers", draft_id=comment.draft_id))
    if not form.validate_on_submit():
        if form.decision.errors:
            flash(_("Choose a decision."), "error")
        for name, errors in form.errors.items():
            for text in errors if name != "decision" else ():
                flash(text, "error")
        return back
    try:
        answered = services.answer_comment(
            db.session,
            current_user,
            comment,
            decision=form.decision.data,
            justification=form.justification.data or "",
            new_wording=form.new_wording.data or "",
        )
    except ConsultationError as error:
        db.session.rollback()
        flash(error_message(error), "error")
        return back, 303
    db.session.commit()
    flash(_("The answer is published (%(count)d comments).", count=len(answered)), "success")
    return back


@bp.route("/overdue")
@roles_required("staff")
def overdue():
    if current_user.is_admin:
        comments = services.overdue_comments(db.session)
    else:
        comments = services.overdue_comments(db.session, region_id=current_user.scope_region_id)
    return render_template("consultations/overdue.html", comments=comments)
