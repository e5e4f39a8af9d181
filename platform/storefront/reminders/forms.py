"""The consent the checkout's script sends as the shopper types (CSRF-protected)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import Length


class ConsentForm(FlaskForm):
    """The checkout form's ``email`` and ``cart_reminder`` fields, posted on their own."""

    email = StringField(validators=[Length(max=255)])
    cart_reminder = BooleanField()


class UnsubscribeForm(FlaskForm):
    """The unsubscribe page's button: the signed link is the credential, so no CSRF token
    (a mail client's one-click POST, RFC 8058, carries none)."""

    class Meta:
        csrf = False
