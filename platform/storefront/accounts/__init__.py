"""Accounts: per-shop users and roles on Flask-Security-Too, mail, rate limits."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, abort, current_app, render_template, request
from flask_login import current_user, user_logged_in
from flask_security import url_for_security, user_registered
from flask_security.decorators import default_unauthn_handler, default_unauthz_handler
from flask_wtf.csrf import generate_csrf
from werkzeug.datastructures import ImmutableMultiDict

from ..cart.services import merge_anonymous_cart
from ..errors import api_error, wants_json
from ..extensions import db, limiter, security
from ..tenancy.context import current_tenant, current_tenant_or_none
from ..tenancy.signals import shop_created
from ..themes import add_safe_globals
from .datastore import ShopUserDatastore
from .mail import OutboxMailUtil, normalize_email
from .models import Role, User
from .services import create_roles, create_user
from .sessions import init_sessions
from .tokens import load_user_from_request
from .views import bp
from .views_model import ANONYMOUS, ShopView, UserView

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
    "SECURITY_EMAIL_HTML": False,
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


def init_accounts(app: Flask) -> None:
    """Bind Flask-Security to the per-shop datastore and add the shop-aware pieces."""
    for key, value in SECURITY_DEFAULTS.items():
        app.config.setdefault(key, value)
    datastore = ShopUserDatastore(db, User, Role)
    # Security() takes mail_util_cls in its constructor only, and `security` is built
    # unbound in extensions (which must not import accounts): set it before init_app.
    security._mail_util_cls = OutboxMailUtil
    security.init_app(app, datastore)
    security.render_template = _render_security_template
    # Credentials from headers only (never ?auth_token= or the body): see tokens.py.
    app.login_manager.request_loader(load_user_from_request)  # type: ignore[attr-defined]
    security.unauthn_handler(_unauthenticated)
    security.unauthz_handler(_forbidden)
    app.context_processor(_template_context)
    add_safe_globals(
        app, url_for_security=url_for_security, csrf_token=generate_csrf, next_param=next_param
    )
    # Right after the shop is bound, before CSRF: a closed door is a 404, whatever is posted.
    app.before_request_funcs.setdefault(None, []).insert(1, _registration_gate)
    app.before_request(_drop_foreign_next)
    app.after_request(_private_pages)
    init_sessions(app)
    user_registered.connect(_give_customer_role, app)
    user_logged_in.connect(_merge_cart, app)
    _rate_limit_auth_views(app)

    app.register_blueprint(bp)


@shop_created.connect
def _set_up_accounts(tenant: Any, owner_email: str | None = None, **extra: Any) -> None:
    """A new shop gets its roles, and its owner's account when one was named."""
    create_roles()
    if owner_email:
        create_user(owner_email, extra.get("owner_password"), roles=["owner"])


def _render_security_template(template: str, **context: Any) -> str:
    """Flask-Security's pages and mails get the account as a view, never the ORM row: a
    shop with its own templates renders them in the sandbox, which drops ORM rows."""
    user = context.get("user")
    if user is not None and not isinstance(user, UserView):
        context["user"] = UserView.of(user)
    return render_template(template, **context)


def next_param() -> str:
    """``?next=…`` carried from the current URL into a form's action, if it is local."""
    target = _same_shop_path(request.args.get("next", ""))
    if not is_local_path(target):
        return ""
    return "?" + urlencode({"next": target})


def is_local_path(target: str) -> bool:
    """Only a path on this very shop: no scheme, no host, no ``//`` or ``\\`` tricks."""
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and "\\" not in target


def _unauthenticated(mechanisms: Any = None, headers: Any = None) -> Any:
    """The JSON API answers 401 with an error object; pages send the shopper to log in."""
    if wants_json():
        response = api_error(
            401, "Log in, or send an API key: Authorization: Bearer <key>.", "unauthorized"
        )
        response.headers.update(headers or {})
        return response
    return default_unauthn_handler(mechanisms, headers)


def _forbidden(func_name: str, params: Any = None) -> Any:
    """Signed in but not allowed: the API's error object, or the shop's 403 page."""
    if wants_json():
        return api_error(403, "Your account may not do this.", "forbidden")
    return default_unauthz_handler(func_name, params)


def _template_context() -> dict[str, Any]:
    ctx = current_tenant_or_none()
    if ctx is None or ctx.settings is None:
        return {"shop": None, "user": ANONYMOUS}
    return {"shop": ShopView.of(ctx), "user": UserView.of(current_user)}


def _registration_gate() -> None:
    """A shop with registration closed answers /register with 404."""
    if request.endpoint == "security.register":
        ctx = current_tenant_or_none()
        if ctx is not None and ctx.settings is not None and not ctx.settings.features.registration:
            abort(404)


def _drop_foreign_next() -> None:
    """Forget a ``?next=`` that leaves the shop, so no flow can redirect off-site.

    Flask-Security validates ``next`` itself, but lets odd relative forms through
    (``\\\\host`` becomes ``%5C%5Chost``); one strict rule here covers every view.
    """
    if request.blueprint != "security":
        return
    for source in ("args", "form"):
        values = getattr(request, source)
        if "next" in values and not is_local_path(_same_shop_path(values["next"])):
            kept = [(k, v) for k, v in values.items(multi=True) if k != "next"]
            setattr(request, source, ImmutableMultiDict(kept))


def _same_shop_path(target: str) -> str:
    parts = urlsplit(target)
    if parts.netloc and parts.netloc == request.host and parts.scheme in ("http", "https"):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return target


def _private_pages(response: Response) -> Response:
    """Pages of a logged-in user are nobody else's: no shared caches may keep them."""
    if current_tenant_or_none() is not None and current_user and current_user.is_authenticated:
        response.headers["Cache-Control"] = "private, no-store"
        response.vary.add("Cookie")
    return response


def _give_customer_role(sender: Any, user: User, **extra: Any) -> None:
    security.datastore.add_role_to_user(user, "customer")


def _merge_cart(sender: Any, user: User, **extra: Any) -> None:

    merge_anonymous_cart(user.id)


def _limit_value() -> str:
    return str(current_app.config.get("RATELIMIT_LOGIN"))


def _by_client() -> str:
    from flask_limiter.util import get_remote_address

    return f"{current_tenant().uid}:ip:{get_remote_address()}"


def _by_account() -> str:
    email = normalize_email(request.form.get("email") or "")
    return f"{current_tenant().uid}:account:{email}"


def _rate_limit_auth_views(app: Flask) -> None:
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
