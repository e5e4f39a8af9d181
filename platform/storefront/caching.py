"""Redis for Flask-Caching, with JSON instead of pickle.

Flask-Caching's ``RedisCache`` unpickles whatever it reads; anyone able to write to Redis
could then run code in every worker. Values here are written as JSON and read back as
JSON only: a pickled (or otherwise foreign) value is treated as a miss, never loaded.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, request, session
from flask_caching.backends.rediscache import RedisCache
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import PlatformSession, cache, db
from .i18n import current_locale
from .tenancy.context import current_tenant

log = logging.getLogger(__name__)

_JSON = b"j"


class JSONSerializer:
    def dumps(self, value: Any) -> bytes:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value).encode("ascii")  # plain integers keep INCR working
        return _JSON + json.dumps(value, separators=(",", ":")).encode("utf-8")

    def loads(self, value: bytes | None) -> Any:
        if value is None:
            return None
        if value.startswith(_JSON):
            return json.loads(value[1:])
        try:
            return int(value)
        except ValueError:
            return None  # not ours (e.g. a pickle someone planted): a miss


class JSONRedisCache(RedisCache):
    serializer = JSONSerializer()  # type: ignore[assignment]


# Redis going away is not an outage --------------------------------------------------

OUTAGE_LOG_INTERVAL = 30.0  # seconds between two "cache unavailable" log lines


class ResilientRedisCache(JSONRedisCache):
    """Every call answers: a failed read is a miss, a failed write is skipped.

    Flask-Caching's decorators already swallow backend errors, but direct ``cache.get``
    and ``cache.set`` calls raise; this makes both behave the same. After a failure the
    cache stays out of the way for ``retry_seconds`` (calls are misses without touching
    the network, so a hung Redis costs one timeout, not one per call), then tries again:
    caching resumes by itself when Redis is back, without a restart.
    """

    retry_seconds = 5.0
    _down_until = float("-inf")
    _logged_at = float("-inf")  # per backend (per app): tests and apps never share it

    @classmethod
    def factory(cls, app: Any, config: Any, args: Any, kwargs: Any) -> Any:
        backend = super().factory(app, config, args, kwargs)
        retry = float(app.config.get("CACHE_RETRY_SECONDS", 5.0))
        backend.retry_seconds = retry  # type: ignore[attr-defined]
        return backend

    def _guard(self, operation: str, default: Any, call: Callable[[], Any]) -> Any:
        if time.monotonic() < self._down_until:
            return default
        try:
            return call()
        except RedisError as exc:
            self._down_until = time.monotonic() + self.retry_seconds
            self._outage(operation, exc)
            return default

    def _outage(self, operation: str, exc: Exception) -> None:
        """Log a cache failure at most once per interval; the caller treats it as a miss."""
        now = time.monotonic()
        if now - self._logged_at >= OUTAGE_LOG_INTERVAL:
            self._logged_at = now
            log.warning("cache unavailable (%s: %s); serving from the database", operation, exc)

    def get(self, key: str) -> Any:
        return self._guard("get", None, lambda: JSONRedisCache.get(self, key))

    def get_many(self, *keys: str) -> list[Any]:
        return self._guard(
            "get_many", [None] * len(keys), lambda: JSONRedisCache.get_many(self, *keys)
        )

    def has(self, key: str) -> bool:
        return self._guard("has", False, lambda: JSONRedisCache.has(self, key))

    def set(self, key: str, value: Any, timeout: Any = None) -> Any:
        return self._guard("set", False, lambda: JSONRedisCache.set(self, key, value, timeout))

    def add(self, key: str, value: Any, timeout: Any = None) -> Any:
        return self._guard("add", False, lambda: JSONRedisCache.add(self, key, value, timeout))

    def set_many(self, mapping: dict[str, Any], timeout: Any = None) -> Any:
        return self._guard("set_many", [], lambda: JSONRedisCache.set_many(self, mapping, timeout))

    def delete(self, key: str) -> Any:
        return self._guard("delete", False, lambda: JSONRedisCache.delete(self, key))

    def delete_many(self, *keys: str) -> Any:
        return self._guard("delete_many", [], lambda: JSONRedisCache.delete_many(self, *keys))

    def inc(self, key: str, delta: int = 1) -> Any:
        return self._guard("inc", None, lambda: JSONRedisCache.inc(self, key, delta))

    def dec(self, key: str, delta: int = 1) -> Any:
        return self._guard("dec", None, lambda: JSONRedisCache.dec(self, key, delta))


# Per-shop keys ----------------------------------------------------------------------


def shop_key(name: str) -> str:
    """A cache key that belongs to the bound shop and its current cache generations.

    Raises ``TenantNotBound`` without a shop: no shop-owned value is cached anonymously.
    Two generations make up the key, so old keys are simply never read again (no key
    scan) and other shops are untouched:

    - the shop's ``cache_generation`` row (bumped by ``tenantctl cache clear`` and by
      settings edits; workers learn it through the registry poll, on every backend);
    - a content token in the shared cache (replaced by every catalog write, so a product
      edit reaches every worker at once without touching the registry).
    """
    ctx = current_tenant()
    # The uid, not the id: keys die with the shop, whatever id a later shop gets.
    return f"shop:{ctx.uid}:{ctx.cache_generation}:{_content_token(ctx.uid)}:{name}"


def _content_token(shop_uid: str) -> str:
    """The shop's current content token; a missing one (evicted, Redis restarted) is
    replaced by a fresh random token, never by an old one, so nothing stale comes back."""

    key = f"shopgen:{shop_uid}"
    token = cache.get(key)
    if token is None:
        cache.add(key, secrets.token_hex(4), timeout=0)
        token = cache.get(key) or "-"
    return str(token)


# Session keys that make a visitor's pages their own (the cart registers its token: the
# header shows the visitor's cart count).
PERSONAL_SESSION_KEYS: set[str] = set()


def _personal() -> bool:
    """Pages we never cache: a logged-in user's, one with messages waiting or a cart of
    its own, not a GET."""
    if request.method != "GET":
        return True
    if not current_app.config["SHOP_PAGE_CACHE"] or current_app.jinja_env.auto_reload:
        return True  # switched off, or development: template edits show at once
    if current_user and current_user.is_authenticated:
        return True
    if any(session.get(key) for key in PERSONAL_SESSION_KEYS):
        return True
    return bool(session.get("_flashes"))


def _cacheable(response: Any) -> bool:
    return isinstance(response, str)  # a rendered page; never a redirect or an error


def shop_cached(timeout: int = 60) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@cache.cached`` for anonymous shop pages, keyed by shop, generation, language and URL.

    Only for pages without a CSRF token or anything personal in them.
    """

    return cache.cached(
        timeout=timeout,
        key_prefix=lambda: shop_key(f"page:{current_locale()}:{request.full_path}"),
        unless=_personal,
        response_filter=_cacheable,
    )


def invalidate_shop_cache() -> None:
    """Give the bound shop a new content token once the current transaction commits.

    After the commit, not before: a page rendered in between would otherwise be cached
    under the new token with the old data. A rollback forgets the request.
    """

    db.session.info.setdefault(_PENDING, set()).add(current_tenant().uid)


_PENDING = "storefront.invalidate_shops"


@event.listens_for(PlatformSession, "after_commit")
def _apply_invalidations(session: Session) -> None:
    shops = session.info.pop(_PENDING, None)
    if not shops:
        return

    for shop_uid in shops:
        cache.set(f"shopgen:{shop_uid}", secrets.token_hex(4), timeout=0)


@event.listens_for(PlatformSession, "after_rollback")
def _forget_invalidations(session: Session) -> None:
    session.info.pop(_PENDING, None)
