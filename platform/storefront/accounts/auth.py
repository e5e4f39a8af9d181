"""Flask-Security-Too, bound per shop: defaults, the datastore, mails through the outbox,
credentials from headers only, views of the account for templates, JSON 401/403."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, render_template, request
from flask_babel import gettext as _
from flask_security.decorators import default_unauthn_handler, default_unauthz_handler

from ..errors import api_error, wants_json
from ..extensions import db, security
from ..i18n import TRANSLATIONS_DIR
from ..tenancy.context import current_tenant_or_none
from ..themes.mail import render_mail_part
from . import passkeys, second_factor
from .datastore import ShopUserDatastore
from .forms import ShopForgotPasswordForm, ShopLoginForm
from .mail import OutboxMailUtil, speak_to
from .models import Role, User, WebAuthn
from .tokens import api_credential_sent, load_user_from_request
from .views_model import UserView
from .wording import message_defaults, use_platform_wording

SECURITY_DEFAULTS: dict[str, Any] = {
    "SECURITY_PASSWORD_HASH": "argon2",
    "SECURITY_REGISTERABLE": True,  # per shop: features.registration, checked per request
    "SECURITY_CONFIRMABLE": True,  # per shop: features.confirm_email, via the overlay
    "SECURITY_LOGIN_WITHOUT_CONFIRMATION": True,
    "SECURITY_RECOVERABLE": True,
    "SECURITY_CHANGEABLE": True,
    "SECURITY_RETURN_GENERIC_RESPONSES": True,  # never say whether an account exists
    "SECURITY_EMAIL_VALIDATOR_ARGS": {"check_deliverability": False},  # works offline
    "SECURITY_REDIRECT_VALIDATE_MODE": "regex",
    # Account mails as every mail: HTML in the shop's branding with a plain-text part.
    "SECURITY_EMAIL_HTML": True,
    # Flask-Security's shipped catalogs, then ours for what they lack (ours win).
    "SECURITY_I18N_DIRNAME": ["builtin", str(TRANSLATIONS_DIR)],
    "SECURITY_POST_LOGIN_VIEW": "/account",
    "SECURITY_POST_REGISTER_VIEW": "/account",
    # Flask-Security's `flask users` / `flask roles` know nothing of shops: use tenantctl.
    "SECURITY_CLI_USERS_NAME": False,
    "SECURITY_CLI_ROLES_NAME": False,
    "SECURITY_URL_PREFIX": None,
    # Login tokens (Authentication-Token header) expire in a day; integrations use API keys.
    "SECURITY_TOKEN_MAX_AGE": 86400,
    # Reset and confirm tokens embed a hash of the password hash, so a used or stale link
    # dies with a password change. Flask-Security's default, sha256_crypt, takes ~0.4 s in
    # pure Python: that made "forgot password" for an existing account measurably slower
    # than for an unknown one. The input is a hash already; a plain SHA-256 suffices.
    "SECURITY_HASHING_SCHEMES": ["hex_sha256"],
    "SECURITY_DEPRECATED_HASHING_SCHEMES": [],
}


def init_security(app: Flask) -> None:
    """Bind Flask-Security to the per-shop datastore."""
    for key, value in {**SECURITY_DEFAULTS, **message_defaults()}.items():
        app.config.setdefault(key, value)
    second_factor.configure(app)
    passkeys.configure(app)
    datastore = ShopUserDatastore(db, User, Role, WebAuthn)
    # Security() takes mail_util_cls in its constructor only, and `security` is built
    # unbound in extensions (which must not import accounts): set it before init_app.
    security._mail_util_cls = OutboxMailUtil
    security._totp_cls = second_factor.ShopTotp  # the shop's name in authenticator apps
    security._webauthn_util_cls = passkeys.ShopWebauthnUtil  # the shop's name, any device
    security.confirm_policy = _shop_confirms  # type: ignore[method-assign]
    security.init_app(
        app,
        datastore,
        login_form=ShopLoginForm,
        forgot_password_form=ShopForgotPasswordForm,
    )
    security.render_template = _render_security_template
    use_platform_wording(app, security)  # its labels and messages in our words
    security.wan_register_context_processor(passkeys.register_page_context)
    # Credentials from headers only (never ?auth_token= or the body): see tokens.py.
    app.login_manager.request_loader(load_user_from_request)  # type: ignore[attr-defined]
    # An API request is judged by the credential it sends in a header, not by a session or
    # remember cookie that comes along: a bad header credential is then a 401 (api/access).
    session_loader = app.login_manager._user_callback  # type: ignore[attr-defined]

    def load_session_user(user_id: str) -> Any:
        if api_credential_sent(request):
            return load_user_from_request(request)
        return session_loader(user_id)

    app.login_manager.user_loader(load_session_user)  # type: ignore[attr-defined]
    security.unauthn_handler(_unauthenticated)
    security.unauthz_handler(_forbidden)


def _shop_confirms() -> bool | None:
    """Whether the bound shop asks new accounts to confirm their address (None: no shop)."""
    shop = current_tenant_or_none()
    if shop is None or shop.settings is None:
        return None
    return shop.settings.features.confirm_email


def _render_security_template(template: str, **context: Any) -> str:
    """Flask-Security's pages and mails get the account as a view, never the ORM row: a
    shop with its own templates renders them in the sandbox, which drops ORM rows.

    An account mail is drawn as every mail (``themes.mail``) and written in the language
    its recipient registered in: the locale
    switches here (Flask-Security renders the body, then localises the subject) and
    switches back when the mail is queued (``mail.OutboxMailUtil``)."""
    user = context.get("user")
    mail = template.startswith("security/email/")
    if mail and getattr(user, "locale", None):
        speak_to(user.locale)  # type: ignore[union-attr]
    if user is not None and not isinstance(user, UserView):
        context["user"] = UserView.of(user)
    if mail:  # the shop's branding; the platform's template if the shop's fails
        return render_mail_part(template, **context)
    return render_template(template, **context)


def _unauthenticated(mechanisms: Any = None, headers: Any = None) -> Any:
    """The JSON API answers 401 with an error object; pages send the shopper to log in."""
    if wants_json():
        return api_unauthenticated(headers)
    return default_unauthn_handler(mechanisms, headers)


def api_unauthenticated(headers: Any = None) -> Any:
    """The API's 401: what was wrong with the credential sent (or that none was)."""
    problem = g.get("api_key_problem")
    if problem is None:
        response = api_error(
            401, _("Log in, or send an API key: Authorization: Bearer <key>."), "unauthorized"
        )
        challenge = 'Bearer realm="api"'
    else:
        # A credential was sent but is no good: say which way, so a client renews it
        # rather than asking its user to log in (RFC 6750's invalid_token).
        reasons = {
            "expired": _("The API key has expired: create a new one."),
            "revoked": _("The API key was revoked."),
            "token": _("The authentication token is invalid or has expired: log in again."),
            "unknown": _("This shop knows no such API key."),
        }
        codes = {"expired": "token_expired", "token": "token_expired"}
        code = codes.get(problem, "invalid_token")
        response = api_error(401, reasons.get(problem, reasons["token"]), code)
        challenge = f'Bearer realm="api", error="invalid_token", error_description="{code}"'
    response.headers.update(headers or {})
    response.headers["WWW-Authenticate"] = challenge
    return response


def _forbidden(func_name: str, params: Any = None) -> Any:
    """Signed in but not allowed: the API's error object, or the shop's 403 page."""
    if wants_json():
        return api_error(403, _("Your account may not do this."), "forbidden")
    return default_unauthz_handler(func_name, params)
