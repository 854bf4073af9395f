"""Account forms. They validate input; services do the writing."""

import re

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from portal.accounts.domain import IINError, parse_iin, password_problem
from portal.forms import BaseForm, PlainText

PHONE_RE = re.compile(r"^\+7\d{10}$")

IIN_MESSAGES = {
    "empty": _l("Enter your IIN."),
    "not_digits": _l("An IIN contains only the digits 0–9."),
    "length": _l("An IIN has exactly 12 digits."),
    "century": _l("The 7th digit of an IIN must be from 1 to 6."),
    "date": _l("The first six digits of an IIN must be a real birth date (YYMMDD)."),
    "check_digit": _l("This IIN is not valid: its check digit does not match. Check for a typo."),
}

PASSWORD_MESSAGES = {
    "short": _l("Use at least 8 characters."),
    "long": _l("Use at most 256 characters."),
    "common": _l("This password is too common. Choose a less predictable one."),
    "personal": _l("Do not use your name or e-mail as a password."),
}


def normalise_phone(value):
    digits = re.sub(r"[\s\-()]", "", value or "")
    if digits.startswith("8") and len(digits) == 11:
        digits = "+7" + digits[1:]
    return digits


class IIN:
    def __call__(self, form, field):
        try:
            parse_iin(field.data)
        except IINError as error:
            raise ValidationError(IIN_MESSAGES[error.code]) from None


class RegistrationForm(BaseForm):
    full_name = StringField(
        _l("Full name"), validators=[DataRequired(), Length(max=200), PlainText()]
    )
    iin = StringField(
        _l("IIN"), validators=[IIN()], description=_l("12 digits, as on your ID card.")
    )
    region_id = SelectField(_l("Region of residence"), coerce=int, validators=[DataRequired()])
    district_id = SelectField(_l("District"), coerce=int, validators=[Optional()])
    phone = StringField(
        _l("Mobile phone"),
        validators=[DataRequired(), Length(max=20)],
        description=_l("For example +7 701 234 56 78."),
        filters=[normalise_phone],
    )
    email = EmailField(
        _l("E-mail"),
        validators=[
            DataRequired(),
            Length(max=254),
            Email(message=_l("Enter a valid e-mail address."), check_deliverability=False),
        ],
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired()], description=_l("At least 8 characters.")
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
    )
    consent = BooleanField(
        _l("I consent to the processing of my personal data as the privacy notice describes."),
        validators=[
            DataRequired(
                message=_l("Without your consent we cannot create an account. Read the notice.")
            )
        ],
    )

    def validate_phone(self, field):
        if not PHONE_RE.match(field.data or ""):
            raise ValidationError(_l("Enter a Kazakhstan number: +7 and 10 digits."))

    def validate_password(self, field):
        problem = password_problem(
            field.data or "", email=self.email.data or "", full_name=self.full_name.data or ""
        )
        if problem:
            raise ValidationError(PASSWORD_MESSAGES[problem])


class LoginForm(BaseForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class RegisterUploadForm(BaseForm):
    file = FileField(
        _l("Voter register (CSV, one IIN per line)"),
        validators=[
            FileRequired(_l("Choose a CSV file.")),
            FileAllowed(["csv", "txt"], _l("Upload a .csv or .txt file.")),
        ],
    )


class EmptyForm(BaseForm):
    """A form with only the CSRF token, for buttons that POST."""


def _email_field(label):
    return EmailField(
        label,
        validators=[
            DataRequired(),
            Length(max=254),
            Email(message=_l("Enter a valid e-mail address."), check_deliverability=False),
        ],
    )


class NewPasswordMixin:
    """A new password twice, checked against the policy (and the person's own e-mail)."""

    password = PasswordField(
        _l("New password"), validators=[DataRequired()], description=_l("At least 8 characters.")
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
    )
    email_for_policy = ""

    def validate_password(self, field):
        problem = password_problem(field.data or "", email=self.email_for_policy)
        if problem:
            raise ValidationError(PASSWORD_MESSAGES[problem])


class ForgotPasswordForm(BaseForm):
    email = _email_field(_l("E-mail"))


class ResetPasswordForm(NewPasswordMixin, BaseForm):
    pass


class ChangePasswordForm(NewPasswordMixin, BaseForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])


class ProfileForm(BaseForm):
    full_name = StringField(
        _l("Full name"), validators=[DataRequired(), Length(max=200), PlainText()]
    )
    phone = StringField(
        _l("Mobile phone"),
        validators=[DataRequired(), Length(max=20)],
        description=_l("For example +7 701 234 56 78."),
        filters=[normalise_phone],
    )
    email = _email_field(_l("E-mail"))
    locale = SelectField(
        _l("Language of e-mails"),
        choices=[("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")],
    )

    def validate_phone(self, field):
        if not PHONE_RE.match(field.data or ""):
            raise ValidationError(_l("Enter a Kazakhstan number: +7 and 10 digits."))


class DeleteAccountForm(BaseForm):
    password = PasswordField(
        _l("Your password, to confirm"), validators=[DataRequired(), Length(max=256)]
    )
