"""Shared form pieces: a base form and field checks every package uses."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import ValidationError

from portal.textcheck import has_bad_characters

BAD_CHARACTERS = _l("This field contains characters that are not allowed.")


class PlainText:
    """Refuse NUL and other control characters that no person types into a text field.

    Multi-line fields (TextAreaField) may keep tab, CR and LF; single-line fields may not.
    """

    message = BAD_CHARACTERS

    def __init__(self, multiline=None):
        self.multiline = multiline

    def __call__(self, form, field):
        multiline = isinstance(field, TextAreaField) if self.multiline is None else self.multiline
        value = field.data if isinstance(field.data, str) else ""
        if has_bad_characters(value, multiline=multiline):
            raise ValidationError(self.message)


_CHECK = PlainText()


class BaseForm(FlaskForm):
    """Flask-WTF form (CSRF included) that refuses text with control characters or NULs.

    Every StringField (and so TextAreaField, EmailField, PasswordField, HiddenField) gets the
    PlainText check, whether or not its own validators list it: one rule for the whole class.
    """

    def validate(self, extra_validators=None):
        extra = {name: list(checks) for name, checks in (extra_validators or {}).items()}
        for name, field in self._fields.items():
            if isinstance(field, StringField):
                extra.setdefault(name, []).append(_CHECK)
        return super().validate(extra_validators=extra)


def require_valid(form):
    """Validate a POSTed form or stop the request with a 400 that says what was wrong.

    For button forms (CSRF token only, or a few fields) whose views have no page to re-render.
    """
    if form.validate_on_submit():
        return form
    from werkzeug.exceptions import BadRequest

    error = BadRequest()
    messages = [str(m) for errors in form.errors.values() for m in errors]
    error.user_message = " ".join(messages) or None
    raise error
