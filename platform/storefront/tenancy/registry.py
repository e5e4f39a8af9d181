"""Host to shop: an in-process LRU, in front of the shared cache, in front of the database.

Once a worker has seen a host it answers from memory: no database query and no cache
round trip. Every ``tenantctl`` change bumps one counter in ``registry_state``; each
worker reads it at most every ``REGISTRY_POLL_SECONDS`` and drops its LRU when it moved,
so changes reach all workers within seconds, without a restart. Shared-cache entries
carry the counter in their key, so they can never be stale.

Only shops go to the shared cache. An unknown host is remembered in this process only,
in an LRU of its own (``REGISTRY_UNKNOWN_SIZE``): anyone can send any ``Host``, so a
shared entry per unknown name would let random names grow Redis without bound, and a
flood of them would push the known shops out of the LRU.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from cachetools import LRUCache
from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from ..extensions import cache, db
from .context import TenantContext, set_context_builder
from .models import Domain, RegistryState, Tenant
from .settings import SettingsError, load_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HostRecord:
    tenant: TenantContext | None
    is_primary: bool = False


UNKNOWN = HostRecord(None)


def _snapshot(tenant: Tenant) -> dict[str, Any]:
    primary = tenant.primary_domain
    return {
        "id": tenant.id,
        "uid": tenant.uid,
        "slug": tenant.slug,
        "name": tenant.name,
        "status": tenant.status,
        "suspended_reason": tenant.suspended_reason,
        "cache_generation": tenant.cache_generation,
        "database": tenant.database,
        "plan": tenant.plan,
        "billing_state": tenant.billing_state or "",
        "billing_until": tenant.billing_until.isoformat() if tenant.billing_until else None,
        "primary_host": primary.hostname if primary else "",
        "hosts": [d.hostname for d in tenant.domains],
    }


def build_context(snapshot: dict[str, Any], tenants_dir: str) -> TenantContext:
    """A TenantContext from a database snapshot plus the shop's ``tenant.toml``."""
    try:
        settings, error = load_settings(tenants_dir, snapshot["slug"]), None
    except SettingsError as exc:
        settings, error = None, str(exc)
        log.error("shop %s is misconfigured: %s", snapshot["slug"], exc)
    return TenantContext(
        id=snapshot["id"],
        slug=snapshot["slug"],
        name=settings.name if settings else snapshot["name"],
        status=snapshot["status"],
        primary_host=snapshot["primary_host"],
        hosts=tuple(snapshot["hosts"]),
        suspended_reason=snapshot["suspended_reason"],
        cache_generation=snapshot["cache_generation"],
        uid=snapshot["uid"],
        database=snapshot.get("database", "main"),  # snapshots cached before the column
        plan=snapshot.get("plan"),
        billing_state=snapshot.get("billing_state") or "",  # snapshots cached before it
        billing_until=snapshot.get("billing_until"),
        settings=settings,
        settings_error=error,
        overlay=MappingProxyType(settings.overlay() if settings else {}),
    )


def shop_by_slug(slug: str) -> Tenant | None:
    """The shop row with its domains (the one place a shop is loaded by slug)."""
    return db.session.scalar(
        select(Tenant).where(Tenant.slug == slug).options(selectinload(Tenant.domains))
    )


def context_for(shop: Tenant | str) -> TenantContext:
    """Build a shop's context straight from the database (CLI, tests, background work)."""
    if isinstance(shop, str):
        tenant = shop_by_slug(shop)
        if tenant is None:
            raise LookupError(f"no shop with slug {shop!r}")
        shop = tenant
    assert isinstance(shop, Tenant)  # noqa: S101 - narrows the type for the checker
    return build_context(_snapshot(shop), current_app.config["TENANTS_DIR"])


set_context_builder(context_for)


class Registry:
    def __init__(self, app: Flask) -> None:
        self.tenants_dir = app.config["TENANTS_DIR"]
        self.poll_seconds = float(app.config["REGISTRY_POLL_SECONDS"])
        self._hosts: LRUCache[str, HostRecord] = LRUCache(app.config["REGISTRY_LRU_SIZE"])
        self._unknown: LRUCache[str, HostRecord] = LRUCache(app.config["REGISTRY_UNKNOWN_SIZE"])
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._checked_at = float("-inf")

    def clear(self) -> None:
        with self._lock:
            self._hosts.clear()
            self._unknown.clear()
            self._checked_at = float("-inf")

    def peek(self, host: str) -> HostRecord | None:
        """The record of a host this worker knows, if it may still trust it (its poll of
        the registry counter is not due): no database, no cache, no app context. None
        sends the caller through ``lookup``."""
        if time.monotonic() - self._checked_at >= self.poll_seconds:
            return None
        with self._lock:
            return self._hosts.get(host) or self._unknown.get(host)

    def lookup(self, host: str) -> HostRecord:
        """The shop a normalised host belongs to (``tenant`` None when it is unknown)."""
        generation = self._current_generation()
        with self._lock:
            record = self._hosts.get(host) or self._unknown.get(host)
        if record is not None:
            return record
        shared_key = f"registry:{generation}:{host}"
        data = _cache_get(shared_key)
        if data is None:
            data = self._load(host)
            if data.get("tenant"):  # never an entry per unknown name (see the docstring)
                _cache_set(shared_key, data)
        tenant = data.get("tenant")
        if not tenant:
            with self._lock:
                self._unknown[host] = UNKNOWN
            return UNKNOWN
        record = HostRecord(build_context(tenant, self.tenants_dir), bool(data.get("primary")))
        with self._lock:
            self._hosts[host] = record
        return record

    def _load(self, host: str) -> dict[str, Any]:
        domain = db.session.scalar(
            select(Domain)
            .where(Domain.hostname == host)
            .options(selectinload(Domain.tenant).selectinload(Tenant.domains))
        )
        if domain is None or not domain.serves:
            return {"tenant": None}
        return {"tenant": _snapshot(domain.tenant), "primary": domain.is_primary}

    def _current_generation(self) -> int:
        now = time.monotonic()
        if now - self._checked_at < self.poll_seconds and self._generation is not None:
            return self._generation
        try:
            generation = read_generation()
        except SQLAlchemyError:
            if self._generation is None:
                raise
            log.warning("registry: could not read the generation; serving what is known")
            db.session.rollback()
            return self._generation
        with self._lock:
            self._checked_at = now
            if generation != self._generation:
                self._hosts.clear()
                self._unknown.clear()
                self._generation = generation
        return generation


def read_generation() -> int:
    return db.session.scalar(select(RegistryState.generation).where(RegistryState.id == 1)) or 0


def bump_generation() -> None:
    """Tell every worker the registry changed (call inside the transaction that changed it)."""
    changed = db.session.execute(
        update(RegistryState)
        .where(RegistryState.id == 1)
        .values(generation=RegistryState.generation + 1)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        db.session.add(RegistryState(id=1, generation=2))
    registry = current_app.extensions.get("storefront.registry")
    if registry is not None:
        registry.clear()


def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:  # a cache outage is a miss, never an error page
        log.warning("cache unavailable for get(%s)", key, exc_info=True)
        return None


def _cache_set(key: str, value: Any) -> None:
    try:
        cache.set(key, value, timeout=3600)
    except Exception:
        log.warning("cache unavailable for set(%s)", key, exc_info=True)
