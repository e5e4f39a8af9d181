"""A second factor at sign-in: an authenticator app's codes (TOTP) and recovery codes,
through Flask-Security's own two-factor feature, themed and translated like every page;
or a passkey for the second step (accounts.passkeys), which Flask-Security's two-factor
plugins offer beside the app (a choice when someone has both).

Who must have one: staff and owners of a shop whose ``[security] staff_second_factor``
is on, or of every shop when the operator requires it (``tenantctl security
staff-second-factor on``, or ``STAFF_SECOND_FACTOR_REQUIRED``: accounts.platform_policy). Anyone
else may add one from their account page. Flask-Security asks for the code after the
password and, for someone who must have one and has none, leads them through setting it
up before any page that needs a login opens. Nothing carries across shops: an account
and its secret belong to one shop, and the secret is encrypted with a key derived from
the installation's SECRET_KEY (so is each recovery code).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import cache
from typing import Any

from flask import Flask
from flask_security import Totp
from passlib.totp import TOTP

from ..permissions import is_staff
from ..tenancy.context import current_tenant_or_none
from .platform_policy import staff_second_factor_required

METHODS = ["authenticator"]


def _derived(secret_key: str, purpose: bytes) -> bytes:
    return hmac.new(secret_key.encode(), purpose, hashlib.sha256).digest()


def configure(app: Flask) -> None:
    """Flask-Security's two-factor settings, keys derived from SECRET_KEY (call before
    ``security.init_app``; any of them may be set in the config instead)."""
    key = app.config["SECRET_KEY"]
    totp_key = base64.urlsafe_b64encode(_derived(key, b"totp-secrets")).decode()
    codes_key = base64.urlsafe_b64encode(_derived(key, b"recovery-codes")).decode()
    for name, value in {
        "SECURITY_TWO_FACTOR": True,
        "SECURITY_TWO_FACTOR_ENABLED_METHODS": METHODS,
        "SECURITY_TOTP_SECRETS": {"1": totp_key},
        "SECURITY_TOTP_ISSUER": "storefront",  # per shop: ShopTotp names the shop
        "SECURITY_MULTI_FACTOR_RECOVERY_CODES": True,
        "SECURITY_MULTI_FACTOR_RECOVERY_CODES_N": 8,
        "SECURITY_MULTI_FACTOR_RECOVERY_CODES_KEYS": [codes_key],
        # No rescue by mail: a stolen mailbox would then be a second factor too. Lost
        # device: a recovery code, else the operator (tenantctl user reset-second-factor).
        "SECURITY_TWO_FACTOR_RESCUE_EMAIL": False,
        "SECURITY_TWO_FACTOR_POST_SETUP_VIEW": "/account",
        "STAFF_SECOND_FACTOR_REQUIRED": False,
    }.items():
        app.config.setdefault(name, value)


@cache
def _issuer_totp(issuer: str, secrets: tuple[tuple[str, str], ...]) -> Any:
    return TOTP.using(issuer=issuer, secrets=dict(secrets))


class ShopTotp(Totp):
    """Flask-Security's TOTP factory with the bound shop's name as the issuer an
    authenticator app shows ("Acme Anvils: owner@acme.example")."""

    def __init__(self, secrets: dict[str, str] | dict[int, str], issuer: str):
        super().__init__(secrets, issuer)
        self._secrets = tuple(sorted((str(k), v) for k, v in secrets.items()))
        self._default_issuer = issuer

    @property  # type: ignore[override]
    def _totp(self) -> Any:
        shop = current_tenant_or_none()
        issuer = shop.name if shop is not None else self._default_issuer
        return _issuer_totp(issuer, self._secrets)

    @_totp.setter
    def _totp(self, value: Any) -> None:  # Totp.__init__ sets it; the shop decides
        pass


def required_for(user: Any) -> bool:
    """Whether ``user`` must sign in with a second factor in the bound shop."""
    if not is_staff(r.name for r in user.roles):
        return False
    if staff_second_factor_required():  # the operator's, for every shop
        return True
    shop = current_tenant_or_none()
    settings = shop.settings if shop is not None else None
    return bool(settings is not None and settings.security.staff_second_factor)


def has_second_factor(user: Any) -> bool:
    """What the pages ask for after the password: an authenticator app's code, or a
    passkey registered for the second step (one that signs in on its own replaces the
    password rather than following it)."""
    if getattr(user, "tf_primary_method", None):
        return True
    return any(cred.usage == "secondary" for cred in getattr(user, "webauthn", None) or ())
