"""Redis for Flask-Caching, with JSON instead of pickle.

Flask-Caching's ``RedisCache`` unpickles whatever it reads; anyone able to write to Redis
could then run code in every worker. Values here are written as JSON and read back as
JSON only: a pickled (or otherwise foreign) value is treated as a miss, never loaded.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import parse_qs

from flask import Flask, Response, current_app, request, session
from flask_caching.backends.rediscache import RedisCache
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header, parse_cookie
from werkzeug.wsgi import ClosingIterator

from . import redisconn
from .extensions import PlatformSession, cache, db
from .i18n import COOKIE, ENVIRON_TAG, negotiate
from .shared import signed_in_user
from .tenancy.context import current_tenant
from .tenancy.hosts import InvalidHost, normalize_host

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

    @classmethod
    def factory(cls, app: Any, config: Any, args: Any, kwargs: Any) -> Any:
        """Like RedisCache's, with the client from storefront.redisconn (plain or Sentinel)."""
        if config.get("CACHE_KEY_PREFIX"):
            kwargs["key_prefix"] = config["CACHE_KEY_PREFIX"]
        options = config.get("CACHE_OPTIONS") or {}
        kwargs["host"] = redisconn.client(config["CACHE_REDIS_URL"], **options)
        return cls(*args, **kwargs)


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
    if current_app.jinja_env.auto_reload:
        return True  # development: template edits show at once
    if signed_in_user() is not None:
        return True
    if any(session.get(key) for key in PERSONAL_SESSION_KEYS):
        return True
    return bool(session.get("_flashes"))


PAGE_MARK = "storefront.page"  # environ: the view found the page shareable (its TTL)
PAGE_KEY = "storefront.page_key"  # environ: where PageCache keeps the page (key, token)
STALE_FACTOR = 5  # stale-while-revalidate: this many times the page's lifetime


def shop_cached(timeout: int = 60) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark an anonymous catalog page shareable for ``timeout`` seconds.

    Only for pages without a form token or anything personal in them; a visitor's page
    that is personal (logged in, a cart, messages waiting) is never marked. A marked page
    answers ``Cache-Control: public`` with an entity tag (``public_page``), and
    ``PageCache`` keeps it per shop, generation, content token, language and URL.
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def marked(*args: Any, **kwargs: Any) -> Any:
            if not _personal():
                request.environ[PAGE_MARK] = timeout
            return view(*args, **kwargs)

        return marked

    return decorate


def public_page(response: Response) -> Response:
    """``after_request``: a marked page says who may keep it and for how long, and
    answers ``304`` to a client that has it."""
    timeout = request.environ.get(PAGE_MARK)
    if not timeout or response.status_code != 200 or session.modified:
        request.environ.pop(PAGE_MARK, None)
        return response
    # Written as one string: Werkzeug's cache-control object parses the header anew on
    # every attribute it sets. max-age=0: browsers revalidate (a 304 is cheap).
    response.headers["Cache-Control"] = (
        f"public, max-age=0, s-maxage={timeout}, stale-while-revalidate={timeout * STALE_FACTOR}"
    )
    response.add_etag()
    if "If-None-Match" in request.headers:
        response.make_conditional(request)
    return response


class PageCache:
    """Anonymous catalog pages, answered before Flask runs.

    A GET from a visitor without a session (or remember-me) cookie, at a shop's primary
    host that this worker knows, looks up the page under ``page:<shop uid>:<cache
    generation>:<language>:<URL>`` together with the shop's content token, in one cache
    round trip; a page kept under an older token (a catalog write since) is a miss. A
    hit costs no session, no user, no database and no template: the headers the page
    was answered with are replayed, with a request id of its own, and ``If-None-Match``
    gets a 304. On a miss, the page Flask renders is kept if its view marked it
    shareable (``shop_cached``) and it set no cookie.
    """

    def __init__(self, wsgi_app: Any, app: Flask) -> None:
        self.wsgi_app, self.app = wsgi_app, app
        # Switched off (the page headers still say who else may keep a page).
        self.enabled = bool(app.config["SHOP_PAGE_CACHE"]) and not app.debug
        self.personal_cookies = (
            app.config.get("SESSION_COOKIE_NAME", "session"),
            app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
        )
        self._backend: Any = None

    def backend(self) -> Any:
        if self._backend is None:
            with self.app.app_context():
                self._backend = cache.cache
        return self._backend

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        found = self._find(environ) if self.enabled else None
        if found is None:
            return self.wsgi_app(environ, start_response)
        key, token, page = found
        if page is not None:
            return self._serve(page, environ, start_response)
        environ[PAGE_KEY] = (key, token)
        answer: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"], answer["headers"] = status, headers
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, capture)
        timeout = environ.get(PAGE_MARK)
        if not timeout or not answer.get("status", "").startswith("200"):
            return body
        if any(name.lower() == "set-cookie" for name, _ in answer["headers"]):
            return body
        chunks = list(body)
        self._keep(key, token, timeout, answer["headers"], b"".join(chunks))
        return ClosingIterator(chunks, getattr(body, "close", None))

    def _find(self, environ: dict[str, Any]) -> tuple[str, str, Any] | None:
        """(key, content token, the kept page or None) for a request the cache may
        answer or keep; None for one it must leave to Flask."""
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return None
        try:
            host = normalize_host(environ.get("HTTP_HOST", ""))
        except InvalidHost:
            return None
        registry = self.app.extensions["storefront.registry"]
        record = registry.peek(host)
        if record is None:  # not seen yet, or its poll is due: look it up properly
            try:
                with self.app.app_context():
                    record = registry.lookup(host)
            except Exception:  # noqa: BLE001 - the database is down: Flask answers that
                return None
        ctx = record.tenant
        if ctx is None or not record.is_primary or ctx.status != "active" or not ctx.settings:
            return None
        if ctx.closed_for_billing:  # its closed page (503) is Flask's to answer, never kept
            return None
        if ctx.database != self.app.config["DATABASE_NAME"]:  # not served here: Flask says so
            return None
        cookies = parse_cookie(environ)
        locales = ctx.settings.all_locales
        query = environ.get("QUERY_STRING", "")
        asked = parse_qs(query).get("locale", [""])[0] if "locale=" in query else ""
        accepted = parse_accept_header(environ.get("HTTP_ACCEPT_LANGUAGE"), LanguageAccept)
        locale = negotiate(
            locales, environ.get(ENVIRON_TAG), asked, cookies.get(COOKIE, ""), accepted
        )
        url = f"{environ.get('wsgi.url_scheme')}://{host}{environ.get('SCRIPT_NAME', '')}"
        url += f"{environ.get('PATH_INFO', '')}?{query}"
        key = f"page:{ctx.uid}:{ctx.cache_generation}:{locale}:{url}"
        # For the access log, and the trace (its spans carry the shop from here on).
        environ["storefront.shop"], environ["storefront.shop_id"] = ctx.slug, ctx.id
        backend = self.backend()
        try:
            token, page = backend.get_many(f"shopgen:{ctx.uid}", key)
            if token is None:
                backend.add(f"shopgen:{ctx.uid}", secrets.token_hex(4), timeout=0)
                token = backend.get(f"shopgen:{ctx.uid}")
        except Exception:  # noqa: BLE001 - a cache outage: Flask answers, uncached
            return None
        if token is None:
            return None
        personal = any(name in cookies for name in self.personal_cookies)
        fresh = isinstance(page, dict) and page.get("t") == token and not personal
        return key, str(token), page if fresh else None

    def _keep(
        self, key: str, token: str, timeout: int, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        kept = [[name, value] for name, value in headers if name.lower() not in ("x-request-id",)]
        try:
            self.backend().set(
                key, {"t": token, "h": kept, "b": body.decode("utf-8")}, timeout=timeout
            )
        except Exception:  # not kept this time
            log.debug("page not kept", exc_info=True)

    def _serve(self, page: dict[str, Any], environ: dict[str, Any], start_response: Any) -> Any:
        request_id = environ.get("HTTP_X_REQUEST_ID", "")
        if not _REQUEST_ID.match(request_id):
            request_id = uuid.uuid4().hex
        environ["storefront.request_id"] = request_id
        environ["storefront.page_cache"] = "hit"  # the trace names its span after it
        headers = [(name, value) for name, value in page["h"]]
        headers.append(("X-Request-ID", request_id))
        etag = next((v for n, v in headers if n.lower() == "etag"), None)
        wanted = environ.get("HTTP_IF_NONE_MATCH")
        if etag and wanted and etag in (t.strip() for t in wanted.split(",")):
            kept = [(n, v) for n, v in headers if n.lower() not in NOT_ON_304]
            start_response("304 NOT MODIFIED", kept)
            return []
        start_response("200 OK", headers)
        if environ.get("REQUEST_METHOD") == "HEAD":
            return []
        return [page["b"].encode("utf-8")]


NOT_ON_304 = ("content-length", "content-type")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def init_page_cache(app: Flask) -> None:
    """Answer anonymous catalog pages from the cache before Flask runs (``PageCache``);
    must wrap the app before the language prefix is taken off the path (``init_i18n``):
    it runs after it, and keys by the prefix too."""
    app.wsgi_app = PageCache(app.wsgi_app, app)  # type: ignore[method-assign]
    app.after_request(public_page)


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
        try:
            cache.set(f"shopgen:{shop_uid}", secrets.token_hex(4), timeout=0)
        except Exception:  # committed already: nothing may fail the request now
            log.warning("could not renew the page cache token of shop %s", shop_uid, exc_info=True)


@event.listens_for(PlatformSession, "after_rollback")
def _forget_invalidations(session: Session) -> None:
    session.info.pop(_PENDING, None)
