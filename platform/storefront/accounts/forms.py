"""Flask-Security's forms where the shops need more than it says."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security.forms import (
    EmailValidation,
    ForgotPasswordForm,
    IsString,
    LoginForm,
    email_required,
)
from wtforms import BooleanField, EmailField, SubmitField
from wtforms.fields.choices import SelectChoice

from ..addresses.forms import AddressFieldsForm
from ..orders import totals
from .mail import request_password_reset


class ShopLoginForm(LoginForm):
    """The login form; a shopper who gave the right password but has not confirmed the
    address is told so (and offered the mail again), not "wrong email or password".

    The password proved who they are, so saying it gives away nothing: the generic
    answer the platform gives otherwise (SECURITY_RETURN_GENERIC_RESPONSES) stays for
    every other failure. The message is a form error, which the generic answer leaves be.
    """

    unconfirmed = False

    def validate(self, **kwargs: Any) -> bool:
        valid = bool(super().validate(**kwargs))
        proven = getattr(self, "user_authenticated", False)
        if not valid and proven and getattr(self, "requires_confirmation", False):
            self.unconfirmed = True
            for field in (self.email, self.password):
                field.errors = []
            self.form_errors.append(
                _(
                    "Your email address is not confirmed yet: open the link in the mail "
                    "we sent you, or have the mail sent again."
                )
            )
        return valid


class ShopForgotPasswordForm(ForgotPasswordForm):
    """ "Forgot password" does the same work for every address, known or not.

    Flask-Security's form looks the account up, and its view then either builds the
    link and queues the mail (known) or hashes a dummy password (unknown): ~10 ms against
    ~100 ms, which told who has an account. Here the form checks only the address's form
    and queues the request (one outbox row, the same for every address); a valid form
    never says "valid", so Flask-Security's view always takes its generic path (the same
    dummy hash, the same message). The outbox job looks the account up and mails it the
    link after the response, or does nothing (``mail.send_password_reset``)."""

    email = EmailField(
        *ForgotPasswordForm.email.args,  # Flask-Security's label
        render_kw={"autocomplete": "email"},
        validators=[IsString(), email_required, EmailValidation(verify=True)],
    )

    def validate(self, **kwargs: Any) -> bool:
        # The fields alone (format, CSRF); not ForgotPasswordForm's account checks.
        if super(ForgotPasswordForm, self).validate(**kwargs):
            request_password_reset(str(self.email.data))
        return False


class AddressForm(AddressFieldsForm):
    """An address in the shopper's address book: the checkout's address lines, for the
    countries the shop ships to."""

    make_default = BooleanField(_l("Use as my default address"))
    submit = SubmitField(_l("Save address"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = [SelectChoice(code, name) for code, name in totals.countries()]
