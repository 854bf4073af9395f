"""Account lifecycle pages on the accounts blueprint: e-mail confirmation, password reset
and change, profile edit, personal-data download, account deletion and the privacy notice.

Argon2 hashing runs with no transaction open (SQLite write transactions are IMMEDIATE).
"""

import json

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from portal.accounts import mails, services
from portal.accounts.forms import (
    ChangePasswordForm,
    DeleteAccountForm,
    EmptyForm,
    ForgotPasswordForm,
    ProfileForm,
    ResetPasswordForm,
)
from portal.accounts.models import User
from portal.accounts.tokens import TokenError
from portal.accounts.views import _start_session, bp
from portal.extensions import db
from portal.ratelimit import limit


def _token_problem(error):
    if error.code == "expired":
        return _("This link has expired. Ask for a new one.")
    return _("This link is not valid or was already used. Ask for a new one.")


@bp.route("/password/forgot", methods=["GET", "POST"])
@limit("RATELIMIT_MAIL")
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = services.find_active_by_email(db.session, form.email.data)
        if user is not None:  # no mail at all to an address without an account
            mails.send_password_reset(db.session, user)
        db.session.commit()
        # The same answer either way: the page must not tell who has an account.
        flash(
            _(
                "If an account uses this address, we have sent it a link to choose a new "
                "password. Check your mailbox (and the spam folder); the link works for one hour."
            ),
            "success",
        )
        return redirect(url_for("accounts.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/forgot_password.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    try:
        user, _payload = mails.read_token(token, "reset")
    except TokenError as error:
        flash(_token_problem(error), "error")
        return redirect(url_for("accounts.forgot_password"))
    form = ResetPasswordForm()
    form.email_for_policy = user.email
    if form.validate_on_submit():
        db.session.commit()  # no transaction open while hashing
        new_hash = services.hash_password(form.password.data)
        try:  # read again: the link may have been used while we were hashing
            user, _payload = mails.read_token(token, "reset")
        except TokenError as error:
            flash(_token_problem(error), "error")
            return redirect(url_for("accounts.forgot_password"))
        services.set_password(db.session, user, new_hash)
        if user.email_confirmed_at is None:
            services.confirm_email(db.session, user)  # the link proved the mailbox
        db.session.commit()
        flash(_("Your new password is set. Sign in with it."), "success")
        return redirect(url_for("accounts.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/reset_password.html", form=form), status


@bp.route("/email/confirm/<token>")
def confirm_email(token):
    try:
        user, _payload = mails.read_token(token, "confirm")
    except TokenError as error:
        flash(_token_problem(error), "error")
        return redirect(url_for("accounts.profile"))
    services.confirm_email(db.session, user)
    db.session.commit()
    flash(_("Thank you! Your e-mail address is confirmed."), "success")
    return redirect(url_for("accounts.profile"))


@bp.route("/email/confirm", methods=["POST"])
@login_required
@limit("RATELIMIT_MAIL", per="account")
def resend_confirmation():
    EmptyForm().validate_on_submit()
    if current_user.email_confirmed_at is None:
        mails.send_confirmation(db.session, current_user)
        db.session.commit()
    flash(_("We have sent the confirmation link again. Check your mailbox."), "success")
    return redirect(url_for("accounts.profile"))


@bp.route("/email/change/<token>")
def confirm_email_change(token):
    try:
        user, payload = mails.read_token(token, "change_email")
        services.confirm_email(db.session, user, payload.get("email"))
    except TokenError as error:
        flash(_token_problem(error), "error")
        return redirect(url_for("accounts.profile"))
    except services.AccountError:
        db.session.rollback()
        flash(_("Another account already uses this e-mail address."), "error")
        return redirect(url_for("accounts.profile"))
    db.session.commit()
    flash(_("Your new e-mail address is confirmed and in use."), "success")
    return redirect(url_for("accounts.profile"))


@bp.route("/profile/edit", methods=["GET", "POST"])
@login_required
@limit("RATELIMIT_MAIL", per="account")
def edit_profile():
    user = current_user
    form = ProfileForm(obj=user)
    if request.method == "GET":
        form.locale.data = user.locale or "kk"
    if form.validate_on_submit():
        try:
            new_email = None
            if services.normalise_email(form.email.data) != user.email:
                new_email = services.check_new_email(db.session, user, form.email.data)
            services.update_profile(
                db.session,
                user,
                full_name=form.full_name.data,
                phone=form.phone.data,
                locale=form.locale.data,
                district=user.district,
            )
            if new_email:
                mails.send_email_change(db.session, user, new_email)
        except services.AccountError as error:
            db.session.rollback()
            form.email.errors = list(form.email.errors) + [
                _("Another account already uses this e-mail address.")
                if error.code == "duplicate_email"
                else _("This is already your e-mail address.")
            ]
        else:
            db.session.commit()
            flash(_("Your profile is saved."), "success")
            if new_email:
                flash(
                    _(
                        "We have sent a link to %(email)s. Your address changes when you "
                        "open it; until then we keep using the old one.",
                        email=new_email,
                    ),
                    "info",
                )
            return redirect(url_for("accounts.profile"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/edit_profile.html", form=form), status


@bp.route("/password/change", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    form.email_for_policy = current_user.email
    if form.validate_on_submit():
        stored = current_user.password_hash
        user_id = current_user.id
        db.session.commit()  # hash with no transaction open
        if not services.password_matches(stored, form.current.data):
            form.current.errors = list(form.current.errors) + [
                _("The current password is not correct.")
            ]
        else:
            new_hash = services.hash_password(form.password.data)
            user = db.session.get(User, user_id)
            services.set_password(db.session, user, new_hash)
            db.session.commit()
            _start_session(user)  # this browser stays signed in; others are signed out
            flash(_("Your password is changed. Other devices were signed out."), "success")
            return redirect(url_for("accounts.profile"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/change_password.html", form=form), status


@bp.route("/profile/data.json")
@login_required
def download_data():
    data = services.personal_data(db.session, current_user)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": "attachment; filename=tynda-my-data.json",
            "Cache-Control": "no-store",
        },
    )


@bp.route("/profile/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    form = DeleteAccountForm()
    if form.validate_on_submit():
        stored = current_user.password_hash
        user_id = current_user.id
        db.session.commit()
        if services.password_matches(stored, form.password.data):
            services.delete_account(db.session, db.session.get(User, user_id))
            db.session.commit()
            logout_user()
            flash(
                _(
                    "Your account is deleted. Your personal data are erased; your ballots "
                    "and published comments stay without your name."
                ),
                "success",
            )
            return redirect(url_for("main.index"))
        form.password.errors = list(form.password.errors) + [_("The password is not correct.")]
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/delete_account.html", form=form), status


@bp.route("/privacy")
def privacy():
    return render_template("accounts/privacy.html")
