"""Flask-Security's labels and messages in the platform's own words, in every language.

Flask-Security translates every label and message it shows through one object, its
``i18n_domain`` (``localize_callback``), from its own catalog: "Email Address",
"Remember Me", a "Login" button, "Please authenticate…", in its voice and not in every
language the platform speaks. The platform replaces that domain with ``PlatformWording``:

- a message is named by its key, so ``SECURITY_MSG_<KEY>`` (Flask-Security's documented
  way to change one) holds our own lazy string; the domain renders it from the platform's
  catalog, with the shop's ``[texts.<locale>]`` wording on top like any other message;
- a field label is named only by its English text, so ``LABELS`` maps Flask-Security's
  text (taken from its own table, by key) to ours.

Anything else (a feature the platform never switches on) keeps Flask-Security's catalog.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_security import forms as fs_forms
from flask_security.babel import FsDomain

# Every message the platform's features can show (login, registration, confirmation,
# recovery, password change, re-authentication), as (text, flash category).
MESSAGES: dict[str, tuple[LazyString, str]] = {
    "API_ERROR": (_l("This request is not valid."), "error"),
    "GENERIC_AUTHN_FAILED": (_l("Wrong email or password."), "error"),
    "GENERIC_RECOVERY": (
        _l("If an account uses this email address, a link to choose a new password is on its way."),
        "info",
    ),
    "UNAUTHORIZED": (_l("Your account may not see this page."), "error"),
    "UNAUTHENTICATED": (_l("Please log in to see this page."), "info"),
    "LOGIN": (_l("Please log in to see this page."), "info"),
    "REAUTHENTICATION_REQUIRED": (_l("Please enter your password again to go on."), "info"),
    "REFRESH": (_l("Please enter your password again to go on."), "info"),
    "REAUTHENTICATION_SUCCESSFUL": (_l("Thank you: you can go on."), "info"),
    "ANONYMOUS_USER_REQUIRED": (_l("You are logged in already."), "info"),
    "CONFIRM_REGISTRATION": (
        _l("Thank you. To confirm %(email)s, open the link in the mail we have just sent you."),
        "success",
    ),
    "EMAIL_CONFIRMED": (_l("Thank you: your email address is confirmed."), "success"),
    "ALREADY_CONFIRMED": (_l("Your email address is confirmed already."), "info"),
    "INVALID_CONFIRMATION_TOKEN": (
        _l("This confirmation link is not valid: have the mail sent again."),
        "error",
    ),
    "CONFIRMATION_EXPIRED": (
        _l(
            "This confirmation link has expired (it works for %(within)s): "
            "have the mail sent again."
        ),
        "error",
    ),
    "CONFIRMATION_REQUIRED": (_l("Your email address is not confirmed yet."), "error"),
    "CONFIRMATION_REQUEST": (
        _l("If an account uses %(email)s, a confirmation link is on its way there."),
        "info",
    ),
    "EMAIL_ALREADY_ASSOCIATED": (_l("An account with %(email)s exists already."), "error"),
    "IDENTITY_ALREADY_ASSOCIATED": (_l("An account with %(value)s exists already."), "error"),
    "USER_DOES_NOT_EXIST": (_l("No account uses this email address."), "error"),
    "DISABLED_ACCOUNT": (_l("This account is disabled."), "error"),
    "EMAIL_NOT_PROVIDED": (_l("Enter your email address."), "error"),
    "INVALID_EMAIL_ADDRESS": (_l("Invalid email address."), "error"),  # as at checkout
    "INVALID_INPUT": (_l("This value is not valid here."), "error"),
    "INVALID_INPUT_LENGTH": (_l("Enter fewer than %(length)s characters."), "error"),
    "INVALID_REDIRECT": (_l("That link leads away from this shop."), "error"),
    "PASSWORD_NOT_PROVIDED": (_l("Enter your password."), "error"),
    "PASSWORD_INVALID_LENGTH": (_l("A password needs at least %(length)s characters."), "error"),
    "PASSWORD_TOO_SIMPLE": (_l("This password is too easy to guess."), "error"),
    "PASSWORD_BREACHED": (
        _l("This password is on a list of leaked passwords: choose another one."),
        "error",
    ),
    "PASSWORD_BREACHED_SITE_ERROR": (
        _l("The list of leaked passwords could not be checked: try again."),
        "error",
    ),
    "INVALID_PASSWORD": (_l("Wrong password."), "error"),
    "PASSWORD_MISMATCH": (_l("Wrong password."), "error"),
    "RETYPE_PASSWORD_MISMATCH": (_l("The two passwords are not the same."), "error"),
    "PASSWORD_IS_THE_SAME": (_l("Choose a password other than your current one."), "error"),
    "FORGOT_PASSWORD": (_l("Forgot your password?"), "info"),
    "PASSWORD_RESET_REQUEST": (
        _l("If an account uses %(email)s, a link to choose a new password is on its way there."),
        "info",
    ),
    "PASSWORD_RESET_EXPIRED": (
        _l("This link has expired (it works for %(within)s): ask for a new one."),
        "error",
    ),
    "INVALID_RESET_PASSWORD_TOKEN": (_l("This link is not valid: ask for a new one."), "error"),
    "PASSWORD_RESET": (_l("Your new password is saved and you are logged in."), "success"),
    "PASSWORD_RESET_NO_LOGIN": (_l("Your new password is saved: log in with it."), "success"),
    "PASSWORD_CHANGE": (_l("Your new password is saved."), "success"),
    # Two-step sign-in (accounts.second_factor): an authenticator app and recovery codes.
    "TWO_FACTOR_CHANGE_METHOD_SUCCESSFUL": (_l("Two-step sign-in is on."), "success"),
    "TWO_FACTOR_DISABLED": (_l("Two-step sign-in is off."), "success"),
    "TWO_FACTOR_INVALID_TOKEN": (_l("That code is not right: try the newest one."), "error"),
    "TWO_FACTOR_LOGIN_SUCCESSFUL": (_l("Code accepted."), "success"),
    "TWO_FACTOR_METHOD_NOT_AVAILABLE": (_l("This way of signing in is not offered."), "error"),
    "TWO_FACTOR_PERMISSION_DENIED": (_l("Please log in to see this page."), "error"),
    "TWO_FACTOR_SETUP_EXPIRED": (
        _l("Setting up took longer than %(within)s: please start again."),
        "error",
    ),
    "INVALID_RECOVERY_CODE": (_l("That recovery code is not valid, or was used."), "error"),
    "NO_RECOVERY_CODES_SETUP": (_l("You have no recovery codes yet: make some."), "info"),
    "INVALID_CODE": (_l("That code is not right: try the newest one."), "error"),
    # Passkeys (accounts.passkeys): Flask-Security's WebAuthn feature.
    "WEBAUTHN_EXPIRED": (
        _l("That took longer than %(within)s: please start again."),
        "error",
    ),
    "WEBAUTHN_NAME_REQUIRED": (_l("Give the passkey a name."), "error"),
    "WEBAUTHN_NAME_INUSE": (
        _l("You have a passkey named %(name)s already: choose another name."),
        "error",
    ),
    "WEBAUTHN_NAME_NOT_FOUND": (_l("You have no passkey named %(name)s."), "error"),
    "WEBAUTHN_NAME_DISALLOWED_CHARACTERS": (
        _l("A passkey's name may hold letters, digits, spaces, dashes and underscores."),
        "error",
    ),
    "WEBAUTHN_CREDENTIAL_DELETED": (_l("The passkey %(name)s is deleted."), "success"),
    "WEBAUTHN_REGISTER_SUCCESSFUL": (_l("The passkey %(name)s is added."), "success"),
    "WEBAUTHN_CREDENTIAL_ID_INUSE": (_l("This passkey is added already."), "error"),
    "WEBAUTHN_UNKNOWN_CREDENTIAL_ID": (_l("This shop knows no such passkey."), "error"),
    "WEBAUTHN_ORPHAN_CREDENTIAL_ID": (_l("This shop knows no such passkey."), "error"),
    # The library's reason (a mismatched host, a bad signature) is for the logs, not people.
    "WEBAUTHN_NO_VERIFY": (_l("The passkey could not be checked: please try again."), "error"),
    "WEBAUTHN_CREDENTIAL_WRONG_USAGE": (
        _l("This passkey is set up for the other step of signing in."),
        "error",
    ),
    "WEBAUTHN_MISMATCH_USER_HANDLE": (_l("This passkey belongs to another account."), "error"),
}

# Flask-Security's messages for what the platform never switches on (passwordless login,
# codes by mail or SMS, unified sign-in, usernames, OAuth, changing the email
# address, refresh tokens): no page of ours can show them. A test holds the two
# sets to Flask-Security's list, so a message a new version adds is placed in one.
NOT_SHOWN = frozenset(
    {
        "CHANGE_EMAIL_CONFIRMED",
        "CHANGE_EMAIL_EXPIRED",
        "CHANGE_EMAIL_SENT",
        "CODE_HAS_BEEN_SENT",
        "FAILED_TO_SEND_CODE",
        "GENERIC_US_SIGNIN",
        "IDENTITY_NOT_REGISTERED",
        "INVALID_LOGIN_TOKEN",
        "INVALID_PASSWORD_CODE",
        "LOGIN_EMAIL_SENT",
        "LOGIN_EXPIRED",
        "OAUTH_HANDSHAKE_ERROR",
        "PASSWORDLESS_LOGIN_SUCCESSFUL",
        "PHONE_INVALID",
        "REFRESH_TOKEN_INVALID",
        "USERNAME_ALREADY_ASSOCIATED",
        "USERNAME_CHANGE",
        "USERNAME_DISALLOWED_CHARACTERS",
        "USERNAME_INVALID_LENGTH",
        "USERNAME_NOT_PROVIDED",
        "USERNAME_RECOVERY_REQUEST",
        "USE_CODE",
        "US_CURRENT_METHODS",
        "US_METHOD_NOT_AVAILABLE",
        "US_SETUP_EXPIRED",
        "US_SETUP_SUCCESSFUL",
        "US_SPECIFY_IDENTITY",
    }
)

# The labels of the forms the platform shows, by Flask-Security's key for each.
_LABELS_BY_KEY: dict[str, LazyString] = {
    "email": _l("Email address"),
    "password": _l("Password"),
    "remember_me": _l("Remember me"),
    "login": _l("Log in"),
    "register": _l("Create an account"),
    "retype_password": _l("Repeat password"),
    "new_password": _l("New password"),
    "change_password": _l("Change password"),
    "recover_password": _l("Send the link"),
    "reset_password": _l("Save the new password"),
    "send_confirmation": _l("Send the confirmation mail again"),
    "verify_password": _l("Continue"),
    "code": _l("Code"),
    "identity": _l("Email address"),
    "delete": _l("Delete"),
    "submit": _l("Send"),
}
_FS_LABELS: dict[str, str] = fs_forms._default_field_labels  # Flask-Security's own table
LABELS: dict[str, LazyString] = {_FS_LABELS[key]: ours for key, ours in _LABELS_BY_KEY.items()}
# Labels Flask-Security's passkey and second-step forms give by their English text alone.
LABELS.update(
    {
        "Nickname": _l("Name of the passkey"),
        "Usage": _l("Use it"),
        "Use as a first authentication factor": _l("To sign in, instead of my password"),
        "Use as a secondary authentication factor": _l("As the second step, after my password"),
        "Start": _l("Sign in with a passkey"),
        "Available Second Factor Methods:": _l("Second step"),
        "Select": _l("Continue"),
        "authenticator": _l("Authenticator app"),
        "passkey": _l("Passkey"),
        # The recovery page's heading says what code (Flask-Security's nl catalog lacks it).
        "Recovery Code": _l("Code"),
    }
)


def message_defaults() -> dict[str, tuple[LazyString, str]]:
    """``SECURITY_MSG_*`` settings: the platform's wording of every message it shows."""
    return {f"SECURITY_MSG_{key}": value for key, value in MESSAGES.items()}


class PlatformWording(FsDomain):
    """Flask-Security's translation domain, speaking the platform's words (see above)."""

    def gettext(self, string: Any, **variables: Any) -> str:
        ours = string if isinstance(string, LazyString) else LABELS.get(string)
        if ours is None:
            return str(super().gettext(string, **variables))
        text = str(ours)  # the platform's catalog, with the shop's own wording on top
        return text % variables if variables else text


def use_platform_wording(app: Flask, security: Any) -> None:
    """After ``security.init_app``: its labels and messages in the platform's words."""
    security.i18n_domain = PlatformWording(app)
    # init_app handed its domain's gettext to templates; hand over ours instead.
    app.jinja_env.globals["_fsdomain"] = security.i18n_domain.gettext
