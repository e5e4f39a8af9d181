"""The shopper's review form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from .models import BODY_MAX, TITLE_MAX

STARS = [
    ("5", _l("5 stars: excellent")),
    ("4", _l("4 stars: good")),
    ("3", _l("3 stars: average")),
    ("2", _l("2 stars: poor")),
    ("1", _l("1 star: very poor")),
]


class ReviewForm(FlaskForm):
    rating = RadioField(
        _l("Your rating"),
        choices=STARS,
        validators=[InputRequired(message=_l("Choose a rating from 1 to 5 stars."))],
    )
    title = StringField(_l("Title (optional)"), validators=[Length(max=TITLE_MAX)])
    body = TextAreaField(_l("Your review (optional)"), validators=[Length(max=BODY_MAX)])
    submit = SubmitField(_l("Send review"))
