"""Moderation forms: queue filters (GET, no CSRF), actions, bulk selection, topics."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from portal.consultations.forms import reason_choices, stance_choices
from portal.forms import BaseForm, PlainText


class QueueFilterForm(BaseForm):
    class Meta:
        csrf = False

    draft = IntegerField(_l("Draft"), validators=[Optional(), NumberRange(min=1)])
    article = IntegerField(_l("Article"), validators=[Optional(), NumberRange(min=1)])
    status = SelectField(
        _l("State"),
        choices=[
            ("pending", _l("Awaiting moderation")),
            ("published", _l("Published")),
            ("hidden", _l("Hidden after reports")),
            ("rejected", _l("Rejected")),
            ("", _l("Any state")),
        ],
        default="pending",
        validators=[Optional()],
    )
    stance = SelectField(
        _l("Stance"), choices=[("", _l("Any stance"))] + stance_choices(), validators=[Optional()]
    )
    reported = BooleanField(_l("Only reported comments"))
    campaign = IntegerField(_l("Campaign"), validators=[Optional(), NumberRange(min=1)])
    sort = SelectField(
        _l("Order"),
        choices=[("oldest", _l("Oldest first")), ("newest", _l("Newest first"))],
        default="oldest",
        validators=[Optional()],
    )
    after = IntegerField(validators=[Optional(), NumberRange(min=1)])


class ActionForm(BaseForm):
    reason = SelectField(
        _l("Reason for rejection"),
        choices=[("", _l("Choose a reason"))] + reason_choices(),
        validators=[Optional()],
    )


class TopicForm(BaseForm):
    topic = StringField(_l("Topic"), validators=[Optional(), Length(max=60), PlainText()])
