"""Shared form pieces: a base form and field checks every package uses."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.validators import ValidationError


class BaseForm(FlaskForm):
    """Flask-WTF form (CSRF included) that refuses text with control characters or NULs."""


class PlainText:
    """Refuse NUL and other control characters that no person types into a text field."""

    message = _l("This field contains characters that are not allowed.")

    def __call__(self, form, field):
        value = field.data or ""
        if any(ord(ch) < 32 and ch not in "\t\r\n" for ch in value):
            raise ValidationError(self.message)
