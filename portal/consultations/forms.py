"""Consultation forms. They validate input; services do the writing and the rules."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal.consultations.services import MAX_COMMENT_CHARS
from portal.forms import BaseForm, PlainText


def stance_choices():
    return [
        ("support", _l("I support it")),
        ("object", _l("I object")),
        ("reword", _l("I propose other wording")),
    ]


def kind_choices():
    return [
        ("law", _l("Law")),
        ("bylaw", _l("By-law or order")),
        ("concept", _l("Concept")),
        ("budget_programme", _l("Budget programme")),
    ]


def decision_choices():
    return [
        ("accepted", _l("Accepted")),
        ("partly_accepted", _l("Partly accepted")),
        ("not_accepted", _l("Not accepted")),
    ]


def reason_choices():
    return [
        ("spam", _l("Spam")),
        ("abuse", _l("Abuse")),
        ("off_topic", _l("Off-topic")),
        ("personal_data", _l("Personal data")),
        ("duplicate", _l("Duplicate")),
    ]


class CommentForm(BaseForm):
    article_id = HiddenField()
    # The language of the text shown above the form (a draft may have a Kazakh and a Russian).
    text_language = HiddenField()
    paragraph_id = SelectField(_l("Paragraph"), coerce=str, validators=[Optional()])
    stance = RadioField(_l("Your position"), choices=stance_choices(), validators=[InputRequired()])
    text = TextAreaField(
        _l("Your comment"),
        validators=[DataRequired(), Length(max=MAX_COMMENT_CHARS)],
        description=_l("Plain text, up to 10,000 characters. Links are kept; HTML is removed."),
    )
    proposed_wording = TextAreaField(
        _l("Proposed wording (optional)"),
        validators=[Optional(), Length(max=MAX_COMMENT_CHARS)],
        description=_l("The text as you would write it; it is shown as a change to the draft."),
    )


class DraftForm(BaseForm):
    title_kk = StringField(_l("Title (Kazakh)"), validators=[Length(max=300), PlainText()])
    title_ru = StringField(_l("Title (Russian)"), validators=[Length(max=300), PlainText()])
    title_en = StringField(_l("Title (English)"), validators=[Length(max=300), PlainText()])
    summary_kk = TextAreaField(_l("Summary (Kazakh)"), validators=[Length(max=5000)])
    summary_ru = TextAreaField(_l("Summary (Russian)"), validators=[Length(max=5000)])
    summary_en = TextAreaField(_l("Summary (English)"), validators=[Length(max=5000)])
    agency = StringField(
        _l("Drafting agency"), validators=[DataRequired(), Length(max=200), PlainText()]
    )
    kind = SelectField(_l("Kind"), choices=kind_choices(), validators=[DataRequired()])
    scope = SelectField(_l("Scope"), coerce=str)
    explanatory_note = TextAreaField(_l("Explanatory note"), validators=[Length(max=50_000)])
    text = TextAreaField(
        _l("Text of the draft"),
        validators=[Optional(), Length(max=2_000_000)],
        description=_l("Paste the text, or upload a file below."),
    )
    file = FileField(
        _l("Text file (.txt or .md, UTF-8)"),
        description=_l("Articles are found by their headings: «Статья 1», «1-бап», «Article 1»."),
    )
    second_text = TextAreaField(
        _l("Text in the other state language (optional)"),
        validators=[Optional(), Length(max=2_000_000)],
        description=_l(
            "The same draft in Russian if the text above is in Kazakh, or in Kazakh if it is "
            "in Russian. Both texts must have the same articles and paragraphs."
        ),
    )
    second_file = FileField(_l("File with the text in the other state language (optional)"))


class ArticleForm(BaseForm):
    number = StringField(_l("Number"), validators=[DataRequired(), Length(max=20), PlainText()])
    title = StringField(_l("Heading"), validators=[Optional(), Length(max=500), PlainText()])
    text = TextAreaField(_l("Text"), validators=[Optional(), Length(max=200_000)])
    second_title = StringField(
        _l("Heading in the other state language"),
        validators=[Optional(), Length(max=500), PlainText()],
    )
    second_text = TextAreaField(
        _l("Text in the other state language"), validators=[Optional(), Length(max=200_000)]
    )


class OpenForm(BaseForm):
    working_days = IntegerField(
        _l("Discussion period in working days"),
        default=10,
        validators=[InputRequired(), NumberRange(min=1, max=60)],
    )


class ExtendForm(BaseForm):
    working_days = IntegerField(
        _l("Extend by working days"), default=5, validators=[InputRequired(), NumberRange(1, 60)]
    )
    reason = TextAreaField(
        _l("Reason for the extension (shown publicly)"),
        validators=[DataRequired(), Length(min=10, max=2000)],
    )


class VoteForm(BaseForm):
    supports = RadioField(
        _l("Your view of the whole draft"),
        choices=[("yes", _l("I support the draft")), ("no", _l("I do not support the draft"))],
        validators=[InputRequired()],
    )


class AnswerForm(BaseForm):
    decision = RadioField(_l("Decision"), choices=decision_choices(), validators=[InputRequired()])
    justification = TextAreaField(
        _l("Justification"),
        validators=[Optional(), Length(max=MAX_COMMENT_CHARS)],
        description=_l("Required unless the comment is accepted."),
    )
    new_wording = TextAreaField(
        _l("New wording"),
        validators=[Optional(), Length(max=MAX_COMMENT_CHARS)],
        description=_l("Required when the comment is accepted."),
    )
