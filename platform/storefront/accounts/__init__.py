"""Accounts: per-shop users and roles on Flask-Security-Too, sessions, API keys, mails."""

from __future__ import annotations

from typing import Any, cast

from flask import Flask
from flask_login import user_logged_in
from flask_security import user_confirmed, user_registered
from flask_wtf.csrf import generate_csrf
from sqlalchemy import Table, insert, select, update

from ..cart.services import merge_anonymous_cart
from ..extensions import security
from ..i18n import current_locale
from ..orders.services import claim_guest_orders
from ..permissions import LEGACY_STAFF
from ..shared import signed_in_user
from ..tenancy.context import TenantContext, current_tenant_or_none
from ..tenancy.signals import shop_created, shop_rows_imported
from ..themes import add_safe_globals, page_security_url
from ..themes.sandbox import helper
from . import notifications
from . import staff as staff  # registers the invitation mail's outbox handler
from .auth import init_security
from .guards import init_guards, next_param
from .invitation_views import bp as invitation_bp
from .limits import init_limits
from .models import SHOP_ROLES, Role, User
from .new_device import init_new_device_mails
from .services import create_roles, create_user
from .sessions import init_sessions
from .views import bp
from .views_model import ANONYMOUS, ShopView, UserView


def init_accounts(app: Flask) -> None:
    """Flask-Security per shop, then the pieces around it, then the account pages."""
    init_security(app)
    app.context_processor(_template_context)
    add_safe_globals(
        app, url_for_security=page_security_url, csrf_token=generate_csrf, next_param=next_param
    )
    init_guards(app)
    init_new_device_mails(app)  # first: the session's start commits the mail it queues
    init_sessions(app)
    user_registered.connect(_give_customer_role, app)
    user_confirmed.connect(_claim_guest_orders, app)
    user_logged_in.connect(_merge_cart, app)
    init_limits(app)  # wraps Flask-Security's views: after init_security
    app.register_blueprint(bp)
    app.register_blueprint(notifications.bp)  # importing it subscribed the order mails
    app.register_blueprint(invitation_bp)  # the page an invitation's link opens


@shop_created.connect
def _set_up_accounts(tenant: Any, owner_email: str | None = None, **extra: Any) -> None:
    """A new shop gets its roles, and its owner's account when one was named."""
    create_roles()
    if owner_email:
        owner = create_user(owner_email, extra.get("owner_password"), roles=["owner"])
        if extra.get("owner_password_hash"):  # a sign-up's: hashed when it was chosen
            owner.password = extra["owner_password_hash"]


# Flask-Security's context processor gives templates its own url_for_security; this one
# (run after it) gives them the same links, built once (themes.page_url_for).
_SECURITY_URL = helper(page_security_url)


def _template_context() -> dict[str, Any]:
    ctx = current_tenant_or_none()
    if ctx is None or ctx.settings is None:
        return {"shop": None, "user": ANONYMOUS, "url_for_security": _SECURITY_URL}
    return {
        "shop": _shop_view(ctx),
        "user": UserView.of(signed_in_user()),
        "url_for_security": _SECURITY_URL,
    }


_SHOP_VIEWS: dict[tuple[str, int, str, str, str, str, str | None], ShopView] = {}
_SHOP_VIEWS_MAX = 20_000


def _shop_view(ctx: TenantContext) -> ShopView:
    """The shop as every page shows it: the same for a shop, its cache generation (a
    settings edit moves it), its status, its primary domain, the language and its
    billing state (the dashboard's banner), so it is built once per worker for each.
    (A plain dict: atomic under threads.)"""
    key = (
        ctx.uid,
        ctx.cache_generation,
        current_locale(),
        ctx.status,
        ctx.primary_host,
        ctx.billing_state,
        ctx.billing_until,
    )
    view = _SHOP_VIEWS.get(key)
    if view is None:
        if len(_SHOP_VIEWS) >= _SHOP_VIEWS_MAX:
            _SHOP_VIEWS.clear()
        view = _SHOP_VIEWS[key] = ShopView.of(ctx)
    return view


@shop_rows_imported.connect
def _roles_of_an_archive(tenant: Any, connection: Any, **_extra: Any) -> None:
    """An archive's roles are rows like any other: one made before roles had permissions
    names ``staff``, which is ``manager`` now (as migration a7c3e9f1d2b4 made it), and
    lacks the newer roles, which the shop gets."""
    roles = cast("Table", Role.__table__)
    mine = roles.c.tenant_id == tenant.id
    have = set(connection.execute(select(roles.c.name).where(mine)).scalars())
    if LEGACY_STAFF in have and "manager" not in have:
        connection.execute(
            update(roles).where(mine, roles.c.name == LEGACY_STAFF).values(name="manager")
        )
        have = (have - {LEGACY_STAFF}) | {"manager"}
    missing = [
        {"tenant_id": tenant.id, "name": name, "description": description}
        for name, description in SHOP_ROLES.items()
        if name not in have
    ]
    if missing:
        connection.execute(insert(roles), missing)


def _give_customer_role(sender: Any, user: User, **extra: Any) -> None:
    security.datastore.add_role_to_user(user, "customer")
    user.locale = current_locale()  # the language they registered in


def _claim_guest_orders(sender: Any, user: User, **extra: Any) -> None:
    """The email is proven now: the guest orders placed with it join the account (an
    unconfirmed address proves nothing, so shops without confirmation do not join)."""
    claim_guest_orders(user.id, user.email)


def _merge_cart(sender: Any, user: User, **extra: Any) -> None:
    merge_anonymous_cart(user.id)
