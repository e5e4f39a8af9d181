"""Passkeys (WebAuthn), through Flask-Security's own WebAuthn feature.

Anyone signed in adds, names and deletes passkeys at ``/wan-register`` (linked from their
account page). A passkey is registered for one of two uses, as Flask-Security keeps
them: **signing in** on its own (``/wan-signin``, no password; one that also verified the
person, by a PIN or a fingerprint, counts as both factors), or **the second step** after
the password (asked for like an authenticator app's code, and counting as the second
factor a shop or the operator requires: ``second_factor.required_for``).

The relying party is the shop's own host (Flask-Security takes the request's host as the
RP ID and its origin as the expected origin): a browser offers a passkey only on the
host it was made for, its signature names that host, and the lookup of its credential id
is held to the bound shop, so a passkey made at one shop opens nothing at another. Only
the public key is stored (``models.WebAuthn``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import format_date, format_datetime
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_security import WebauthnUtil
from webauthn.helpers.structs import (  # py_webauthn, from Flask-Security's [mfa] extra
    AuthenticatorSelectionCriteria,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ..tenancy.context import current_tenant_or_none

USAGES = ("first", "secondary")


def configure(app: Flask) -> None:
    """Flask-Security's WebAuthn settings (call before ``security.init_app``)."""
    for name, value in {
        "SECURITY_WEBAUTHN": True,
        "SECURITY_WAN_ALLOW_AS_FIRST_FACTOR": True,
        # A sign-in with a passkey that verified its holder (PIN, fingerprint) needs no
        # second step: it was something held and something known or been at once.
        "SECURITY_WAN_ALLOW_AS_MULTI_FACTOR": True,
        # The sign-in page may take an email to list that account's passkeys (for keys
        # that cannot be discovered); an unknown address is answered like a known one.
        "SECURITY_WAN_ALLOW_USER_HINTS": True,
        "SECURITY_WAN_ALLOW_AS_VERIFY": ["first", "secondary"],
        "SECURITY_WAN_RP_NAME": "storefront",  # per shop: ShopWebauthnUtil names the shop
        "SECURITY_WAN_POST_REGISTER_VIEW": ".wan_register",
    }.items():
        app.config.setdefault(name, value)


class ShopWebauthnUtil(WebauthnUtil):
    """The shop's name as the relying party's, and passkeys of any kind of device."""

    def registration_options(
        self, user: Any, usage: str, existing_options: dict[str, Any]
    ) -> dict[str, Any]:
        options = super().registration_options(user, usage, existing_options)
        shop = current_tenant_or_none()
        if shop is not None:
            options["rp_name"] = shop.name
        options["user_display_name"] = getattr(user, "name", None) or user.email
        return options

    def authenticator_selection(self, user: Any, usage: str) -> AuthenticatorSelectionCriteria:
        """A passkey that signs in on its own must be discoverable (the browser lists it
        without an email typed first) and should verify its holder; any device will do
        (Flask-Security's default asks for a roaming security key only, which leaves out
        the phones and laptops most passkeys live on). One for the second step asks for
        nothing more than presence."""
        if usage == "first":
            return AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            )
        return AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.DISCOURAGED,
        )


USE_LABELS = {
    "first": _l("To sign in"),
    "secondary": _l("Second step"),
}


def passkeys_of(user: Any, usage: str | None = None) -> list[Any]:
    creds = list(getattr(user, "webauthn", None) or [])
    return [c for c in creds if usage is None or c.usage == usage]


def register_page_context() -> dict[str, Any]:
    """The passkeys page's list, as plain values (a shop's own template renders in the
    sandbox, which drops ORM rows): name, use, added, last used, in the shop's time."""
    user = current_user
    return {
        "passkeys": [
            {
                "name": cred.name,
                "use": str(USE_LABELS.get(cred.usage, cred.usage)),
                "added": format_date(cred.created_at),
                "last_used": format_datetime(cred.lastuse_datetime, "short"),
            }
            for cred in passkeys_of(user)
        ]
    }
