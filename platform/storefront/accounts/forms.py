"""Flask-Security's forms where the shops need more than it says."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_security.forms import LoginForm


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
