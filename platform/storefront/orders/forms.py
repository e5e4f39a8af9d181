"""The checkout form."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, HiddenField, RadioField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..addresses.forms import AddressFieldsForm
from ..emails import InvalidEmail, checked_email
from . import totals
from .payments import enabled_methods


def _email_rule(_form: Any, field: Any) -> None:
    """The one email rule (storefront.emails), as registration applies it."""
    try:
        field.data = checked_email(field.data or "")
    except InvalidEmail:
        raise ValidationError(_l("Invalid email address.")) from None


class CheckoutForm(AddressFieldsForm):
    """Contact, the address (its lines follow the country: ``AddressFieldsForm``), payment."""

    # autocomplete: browsers and password managers fill the address in one go.
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Length(max=255), _email_rule],
        render_kw={"autocomplete": "email"},
    )
    # Shown when the owner turned cart reminders on (storefront.reminders): unticked
    # until the shopper ticks it; the checkout's script sends it as soon as it changes.
    cart_reminder = BooleanField(_l("Email me one reminder if I leave items in my cart"))
    payment_method = RadioField(_l("Payment"), validators=[DataRequired()])
    # Signed-in shoppers only (the page shows it to them): the address joins their book.
    save_address = BooleanField(_l("Save this address to my address book"))
    discount_code = StringField(
        _l("Discount code"), validators=[Optional(), Length(max=40)], description=_l("Optional.")
    )
    gift_card_code = StringField(
        _l("Gift card"),
        validators=[Optional(), Length(max=40)],
        description=_l("Optional: the code pays for all or part of the order."),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    # Shown when the cart holds gift cards: who gets their codes by mail.
    gift_card_recipient = EmailField(
        _l("Send the gift card to"),
        validators=[Optional(), Length(max=255), _email_rule],
        description=_l("Optional: their email address; empty sends it to you."),
    )
    # One per rendered form: a doubled or retried submission carries the same key, and
    # the order it made is answered again instead of a second one.
    checkout_key = HiddenField()
    # The total (minor units) the shopper last saw; an order that would cost anything
    # else is not placed, the page shows the new total instead.
    expected_total = HiddenField()
    # A button of this form, so "update" posts every field typed so far and shows it again
    # (a script refreshes the totals as they change; without one, this does).
    update = SubmitField(_l("Update the totals"), render_kw={"formnovalidate": True})
    submit = SubmitField(_l("Place order"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read per form, so a provider registered after import is offered too.
        methods = enabled_methods()
        self.payment_method.choices = [SelectChoice(p.code, str(p.label)) for p in methods]
        if methods and not self.payment_method.data:
            self.payment_method.data = methods[0].code
        # The countries the shop ships to, named in the shopper's language.
        self.country.choices = [SelectChoice(code, name) for code, name in totals.countries()]
