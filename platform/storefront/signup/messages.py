"""The sign-up's refusals in the reader's language, by their stable codes."""

from __future__ import annotations

from flask_babel import gettext as _


def refusal(code: str) -> str:
    """The translated one-line message for a ``SignupRefused`` code."""
    messages = {
        "invalid": _(
            "Use 2 to 63 lower-case letters, digits and single hyphens, starting with a letter."
        ),
        "reserved": _("This address is reserved. Please choose another."),
        "taken": _("This address is taken. Please choose another."),
        "invalid_email": _("Enter an email address mail can reach."),
        "weak_password": _("Choose a password of at least 8 characters."),
        "invalid_name": _("Give your shop a name (up to 200 characters)."),
        "invalid_locale": _("Choose one of the languages offered."),
        "invalid_currency": _("Choose one of the currencies offered."),
        "too_many_for_address": _(
            "This address has opened enough shops for today. Please try again tomorrow."
        ),
        "too_many_for_network": _(
            "Too many shops were opened from your network today. Please try again tomorrow."
        ),
        "cooling_off": _("Too many refused attempts from your network. Please wait a while."),
        "bad_link": _("This link is not valid."),
        "used": _("This link has been used already."),
        "expired": _("This link has expired. Please sign up again."),
    }
    return messages.get(code, _("This address is taken. Please choose another."))
