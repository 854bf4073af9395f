"""Registration, sign-in, profile and the staff pages that verify residents."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from portal import database
from portal.accounts import services
from portal.accounts.forms import (
    IIN_MESSAGES,
    EmptyForm,
    LoginForm,
    RegisterUploadForm,
    RegistrationForm,
)
from portal.accounts.models import User, iin_key
from portal.extensions import db, login_manager
from portal.i18n import current_language
from portal.pagination import paginate
from portal.permissions import require_region_access, roles_required
from portal.regions.models import District, Region

bp = Blueprint("accounts", __name__)

login_manager.login_view = "accounts.login"
login_manager.login_message_category = "info"


@login_manager.unauthorized_handler
def _unauthorized():
    flash(_("Please sign in to continue."), "info")
    return redirect(
        url_for("accounts.login", next=request.full_path if request.query_string else request.path)
    )


def _region_choices(form):
    regions = db.session.scalars(select(Region).order_by(Region.code)).all()
    form.region_id.choices = [(0, _("Choose a region"))] + [(r.id, r.name) for r in regions]
    districts = db.session.scalars(select(District).order_by(District.region_id, District.name_en))
    form.district_id.choices = [(0, _("Not listed / not applicable"))] + [
        (d.id, f"{d.name} ({d.region.name})") for d in districts
    ]


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.profile"))
    form = RegistrationForm()
    _region_choices(form)
    if form.validate_on_submit():
        region = db.session.get(Region, form.region_id.data)
        district = (
            db.session.get(District, form.district_id.data) if form.district_id.data else None
        )
        if region is None:
            form.region_id.errors.append(_("Choose a region."))
        else:
            try:
                user = services.register(
                    db.session,
                    full_name=form.full_name.data,
                    iin=form.iin.data,
                    email=form.email.data,
                    phone=form.phone.data,
                    password=form.password.data,
                    region=region,
                    district=district,
                    key=iin_key(),
                    locale=current_language(),
                )
            except services.AccountError as error:
                db.session.rollback()
                _attach_register_error(form, error.code)
            else:
                db.session.commit()
                _start_session(user)
                flash(_("Welcome to Tynda! Your account is ready."), "success")
                return redirect(url_for("accounts.profile"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/register.html", form=form), status


def _attach_register_error(form, code):
    messages = {
        "duplicate_iin": (
            form.iin,
            _("An account cannot be created with this IIN. If you registered before, sign in."),
        ),
        "duplicate_email": (
            form.email,
            _("An account cannot be created with this e-mail. If you registered before, sign in."),
        ),
        "district_region": (form.district_id, _("This district is not in the chosen region.")),
    }
    field, message = messages[code]
    field.errors = list(field.errors) + [message]


def _start_session(user):
    # A fresh session at sign-in: nothing an attacker planted in the old cookie survives.
    session.clear()
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.profile"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        config = current_app.config
        database.start_read(db.session)  # check the password in a snapshot, no lock held
        try:
            user = services.authenticate(
                db.session,
                form.email.data,
                form.password.data,
                client=request.remote_addr,
                attempts=config["LOGIN_THROTTLE_ATTEMPTS"],
                window_seconds=config["LOGIN_THROTTLE_WINDOW"],
            )
        except services.AccountError as error:
            db.session.commit()  # keep the record of the failed attempt
            if error.code == "throttled":
                status = 429
                form.form_errors.append(
                    _(
                        "Too many failed attempts. Try again in %(minutes)d minutes.",
                        **error.details,
                    )
                )
            else:
                status = 422
                form.form_errors.append(_("The e-mail or password is not correct."))
        else:
            db.session.commit()
            _start_session(user)
            flash(_("You are signed in."), "success")
            return redirect(_safe_next(request.args.get("next")) or url_for("accounts.profile"))
    elif request.method == "POST":
        status = 422
    return render_template("accounts/login.html", form=form), status


def _safe_next(target):
    # Only local paths: an open redirect would let phishing links borrow our domain.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    services.sign_out_everywhere(db.session, current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "success")
    return redirect(url_for("main.index"))


@bp.route("/profile")
@login_required
def profile():
    return render_template("accounts/profile.html", user=current_user, form=EmptyForm())


@bp.route("/staff/residents")
@roles_required("staff")
def residents():
    region_id = _staff_region_id()
    query = (
        select(User)
        .where(User.region_id == region_id, User.role == "resident")
        .order_by(User.verified_at.is_not(None), User.created_at.desc())
    )
    if request.args.get("show") != "all":
        query = query.where(User.verified_region_id.is_(None))
    page = paginate(query)
    region = db.session.get(Region, region_id)
    return render_template(
        "accounts/residents.html",
        page=page,
        region=region,
        form=EmptyForm(),
        upload=RegisterUploadForm(),
        show=request.args.get("show", "unverified"),
    )


def _staff_region_id():
    if current_user.is_admin:
        code = request.values.get("region", "KZ-75")
        region = db.session.scalar(select(Region).where(Region.code == code))
        if region is None:
            abort(404)
        return region.id
    return current_user.scope_region_id


@bp.route("/staff/residents/<int:user_id>/verify", methods=["POST"])
@roles_required("staff")
def verify(user_id):
    user = db.get_or_404(User, user_id)
    require_region_access(user.region_id)
    EmptyForm().validate_on_submit()
    services.verify_resident(db.session, current_user, user)
    db.session.commit()
    flash(_("%(name)s is verified as a resident.", name=user.full_name), "success")
    return redirect(url_for("accounts.residents", region=user.region.code))


@bp.route("/staff/register", methods=["POST"])
@roles_required("staff")
def upload_register():
    region = db.get_or_404(Region, _staff_region_id())
    require_region_access(region.id)
    form = RegisterUploadForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(url_for("accounts.residents", region=region.code))
    iins, errors = services.read_register_csv(form.file.data.read())
    if errors:
        for line, code in errors[:10]:
            flash(_register_error(line, code), "error")
        flash(_("Nothing was imported. Correct the file and upload it again."), "error")
        return redirect(url_for("accounts.residents", region=region.code))
    added, verified = services.import_register(db.session, current_user, region, iins, iin_key())
    db.session.commit()
    flash(
        _(
            "Register imported: %(added)d new entries, %(verified)d residents verified.",
            added=added,
            verified=verified,
        ),
        "success",
    )
    return redirect(url_for("accounts.residents", region=region.code))


def _register_error(line, code):
    if code == "encoding":
        return _("The file is not UTF-8 text.")
    if code == "empty":
        return _("The file contains no IINs.")
    return _("Line %(line)d: %(message)s", line=line, message=IIN_MESSAGES[code])
