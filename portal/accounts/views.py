"""Registration, sign-in, profile and the staff pages that verify residents."""

import time

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
from portal.accounts import mails, services
from portal.accounts.forms import (
    IIN_MESSAGES,
    EmptyForm,
    LoginForm,
    RegisterUploadForm,
    RegistrationForm,
)
from portal.accounts.models import User, iin_key
from portal.extensions import db, login_manager
from portal.forms import require_valid
from portal.i18n import current_language
from portal.pagination import paginate
from portal.permissions import require_region_access, roles_required
from portal.ratelimit import limit
from portal.redirects import safe_local_path
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
@limit("RATELIMIT_REGISTER")
def register():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.profile"))
    form = RegistrationForm()
    _region_choices(form)
    confirmed_iin = session.get("oidc_iin")
    if confirmed_iin and request.method == "GET":
        form.iin.data = confirmed_iin
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
                    consent=form.consent.data,
                )
                mails.send_confirmation(db.session, user)
            except services.AccountError as error:
                db.session.rollback()
                _attach_register_error(form, error.code)
            else:
                if confirmed_iin and confirmed_iin == form.iin.data.strip():
                    from portal.accounts.oidc import verify_by_provider

                    verify_by_provider(user)
                db.session.commit()
                _start_session(user)
                flash(
                    _(
                        "Welcome to Tynda! Your account is ready. We have sent you a link "
                        "to confirm your e-mail address."
                    ),
                    "success",
                )
                return redirect(url_for("accounts.profile"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/register.html", form=form), status


def _attach_register_error(form, code):
    if code in ("duplicate_iin", "duplicate_email"):
        # One answer for both, on no particular field: it must not tell whether an IIN
        # already has an account, only what the person can do next.
        form.form_errors.append(
            _(
                "We could not create an account with these details. If you have registered "
                "before, sign in or reset your password from the sign-in page. If you have "
                "never registered, contact your akimat's staff: they can check who holds "
                "an account with your IIN."
            )
        )
        return
    if code == "district_region":
        form.district_id.errors = list(form.district_id.errors) + [
            _("This district is not in the chosen region.")
        ]
    elif code == "control_chars":
        form.full_name.errors = list(form.full_name.errors) + [
            _("This field contains characters that are not allowed.")
        ]
    elif code == "bad_name":
        form.full_name.errors = list(form.full_name.errors) + [
            _("Enter your full name (at most 200 characters).")
        ]
    elif code == "bad_email":
        form.email.errors = list(form.email.errors) + [_("Enter a valid e-mail address.")]
    elif code == "bad_phone":
        form.phone.errors = list(form.phone.errors) + [
            _("Enter a Kazakhstan number: +7 and 10 digits.")
        ]
    else:  # consent_required: the form checks it first; the service checks again
        form.consent.errors = list(form.consent.errors) + [
            _("Without your consent we cannot create an account. Read the notice.")
        ]


def _start_session(user):
    # A fresh session at sign-in: nothing an attacker planted in the old cookie survives.
    session.clear()
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
@database.writes_late  # the password is checked in a snapshot; the lock only for the writes
def login():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.profile"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user, error = _authenticate(form.email.data, form.password.data)
        if user is not None:
            _start_session(user)
            flash(_("You are signed in."), "success")
            return redirect(_safe_next(request.args.get("next")) or url_for("accounts.profile"))
        if error.code == "throttled":
            status = 429
            form.form_errors.append(
                _("Too many failed attempts. Try again in %(minutes)d minutes.", **error.details)
            )
        else:
            status = 422
            form.form_errors.append(_("The e-mail or password is not correct."))
    elif request.method == "POST":
        status = 422
    return render_template(
        "accounts/login.html", form=form, oidc_enabled="tynda_oidc" in current_app.extensions
    ), status


def _authenticate(email, password):
    """Sign-in in three steps so Argon2 runs with no transaction open: read, check, write.

    Returns (user, None) or (None, AccountError). An address with many failures (of any
    accounts) is slowed down by a delay, never refused; an account with many failures is
    locked for the window whatever the address.
    """
    config = current_app.config
    window = config["LOGIN_THROTTLE_WINDOW"]
    client = request.remote_addr
    database.start_read(db.session)  # a snapshot read: no write lock while we look
    check = services.check_login(db.session, email, client=client, window_seconds=window)
    db.session.commit()  # end the read transaction before the slow part
    delay = services.address_delay(
        check.address_failures,
        threshold=config["LOGIN_ADDRESS_ATTEMPTS"],
        maximum=config["LOGIN_ADDRESS_DELAY_MAX"],
    )
    if delay:
        time.sleep(delay)
    if check.account_failures >= config["LOGIN_THROTTLE_ATTEMPTS"]:
        # Same Argon2 work as any other answer, so a locked account is not told by timing.
        services.password_matches(None, password)
        return None, services.AccountError("throttled", minutes=max(1, window // 60))
    ok = services.password_matches(check.password_hash, password)
    new_hash = services.rehash_if_needed(check.password_hash, password) if ok else None
    user = services.record_login(
        db.session,
        email,
        client=client,
        check=check,
        ok=ok,
        new_hash=new_hash,
        window_seconds=window,
    )
    db.session.commit()
    if not ok:
        return None, services.AccountError("bad_credentials")
    # A sign-in that wrote nothing returns the account as read before the hash, detached:
    # attach it as it is instead of reading it again (a committed one is returned as it is).
    return db.session.merge(user, load=False), None


def _safe_next(target):
    # Only local paths: an open redirect would let phishing links borrow our domain.
    return safe_local_path(target)


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
    require_valid(EmptyForm())
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
