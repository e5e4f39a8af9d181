"""The bound shop: who the current request or operator block belongs to.

A ``ContextVar`` holds it, so it works the same in a request, a CLI command and a test.
Nothing reads shop-owned data without it (see ``scoping``): it is better to fail than to
reveal or corrupt another shop's data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .settings import ShopSettings


class TenantNotBound(RuntimeError):
    """A query on shop-owned data ran with no shop bound."""


class CrossTenantWrite(RuntimeError):
    """A write would put a row into a shop other than the bound one."""


@dataclass(frozen=True)
class TenantContext:
    """A read-only picture of one shop, built by the registry and bound per request."""

    id: int
    slug: str
    name: str
    status: str
    primary_host: str
    hosts: tuple[str, ...] = ()
    suspended_reason: str | None = None
    cache_generation: int = 1
    uid: str = ""  # random, never reused: what caches and sessions are bound to
    database: str = "main"  # the cluster holding its rows (Tenant.database)
    plan: str | None = None  # Tenant.plan: its plan's name (None: the default plan)
    billing_state: str = ""  # Tenant.billing_state (storefront.billing)
    billing_until: str | None = None  # Tenant.billing_until, ISO 8601 (UTC)
    settings: ShopSettings | None = None
    settings_error: str | None = None
    overlay: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def closed_for_billing(self) -> bool:
        """Closed to shoppers for non-payment (the owner can still sign in and pay)."""
        return self.billing_state in ("closed", "suspended")

    @property
    def theme(self) -> str:
        return self.settings.theme if self.settings else "classic"


_current: ContextVar[TenantContext | None] = ContextVar("storefront_tenant", default=None)
_all_tenants: ContextVar[bool] = ContextVar("storefront_all_tenants", default=False)


def current_tenant() -> TenantContext:
    """The bound shop; raises ``TenantNotBound`` when there is none."""
    ctx = _current.get()
    if ctx is None:
        raise TenantNotBound("no shop is bound: use tenant_context(shop) or a shop's host")
    return ctx


def current_tenant_or_none() -> TenantContext | None:
    return _current.get()


def bind(ctx: TenantContext | None) -> object:
    """Bind ``ctx`` and return a token for ``unbind`` (used by the request hooks)."""
    return _current.set(ctx)


def unbind(token: Any) -> None:
    _current.reset(token)


# Builds a TenantContext from a Tenant row or a slug; the registry (which imports this
# module) sets it when it loads.
_build_context: Callable[[Any], TenantContext] | None = None


def set_context_builder(build: Callable[[Any], TenantContext]) -> None:
    global _build_context
    _build_context = build


@contextmanager
def tenant_context(shop: Any) -> Iterator[TenantContext]:
    """Bind a shop (a TenantContext, a Tenant row or a slug) and restore the previous one."""
    if isinstance(shop, TenantContext):
        ctx = shop
    elif _build_context is None:
        raise TenantNotBound("the shop registry is not loaded: import storefront.tenancy")
    else:
        ctx = _build_context(shop)
    token = _current.set(ctx)
    scope_token = _all_tenants.set(False)
    try:
        yield ctx
    finally:
        _all_tenants.reset(scope_token)
        _current.reset(token)


@contextmanager
def all_tenants() -> Iterator[None]:
    """The explicit escape for operator tools: queries inside see every shop."""
    token = _all_tenants.set(True)
    try:
        yield
    finally:
        _all_tenants.reset(token)
