"""Login and password-reset attempts, limited per shop and address and per shop and account."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_limiter.util import get_remote_address

from ..extensions import limiter
from ..tenancy.context import current_tenant
from .mail import normalize_email


def _limit_value() -> str:
    return str(current_app.config.get("RATELIMIT_LOGIN"))


def _by_client() -> str:

    return f"{current_tenant().uid}:ip:{get_remote_address()}"


def _by_account() -> str:
    email = normalize_email(request.form.get("email") or "")
    return f"{current_tenant().uid}:account:{email}"


def init_limits(app: Flask) -> None:
    """Login and reset attempts: limited per shop and address, and per shop and account."""
    for endpoint in ("security.login", "security.forgot_password", "security.reset_password"):
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        view = limiter.limit(_limit_value, key_func=_by_client, methods=["POST"])(view)  # type: ignore[assignment]
        view = limiter.limit(  # type: ignore[assignment]
            _limit_value, key_func=_by_account, methods=["POST"], scope=f"{endpoint}:account"
        )(view)
        app.view_functions[endpoint] = view
    # Passkey sign-ins (Flask-Security's WebAuthn views) and second steps: per shop and
    # address (a passkey names no account until it is checked).
    for endpoint in (
        "security.wan_signin",
        "security.wan_signin_response",
        "security.wan_verify_response",
        "security.two_factor_token_validation",
        "security.mf_recovery",
    ):
        view = app.view_functions.get(endpoint)
        if view is not None:
            app.view_functions[endpoint] = limiter.limit(  # type: ignore[assignment]
                _limit_value, key_func=_by_client, methods=["POST"], scope=f"{endpoint}:client"
            )(view)
