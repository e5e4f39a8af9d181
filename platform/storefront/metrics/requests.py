"""Each request measured once, around everything that may answer it.

``RequestMetrics`` wraps the WSGI app outside the page cache (``storefront.caching``),
so a page answered from the cache before Flask runs is counted like a rendered one.
Per request it costs two clock reads, a few counter increments and one dict update for
the shop's figures (``usage``); SQL statements are counted by an engine listener into
a thread-local tally that only runs while a request is measured.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from flask import Flask, request
from sqlalchemy import event
from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import ClosingIterator

from . import (
    HTTP_DURATION,
    HTTP_REQUESTS,
    HTTP_SQL_SECONDS,
    HTTP_SQL_STATEMENTS,
    PAGE_CACHE,
    RATE_LIMIT_REFUSALS,
    log,
    usage,
)

PAGE_KEY = "storefront.page_key"  # storefront.caching: looked up in the page cache, missed
PAGE_HIT = "storefront.page_cache"  # storefront.caching: answered from it ("hit")
RATE_LIMIT = "storefront.rate_limit"  # a limit's name (metrics.refused_by)
ROUTE = "storefront.route"  # the matched rule (note_route), "" when none matched
UNMATCHED = "unmatched"


def note_route(_endpoint: str | None, _values: Any) -> None:
    """``url_value_preprocessor``: keep the matched rule where the WSGI layer reads it
    (runs for every request Flask dispatches, before any ``before_request``)."""
    rule = request.url_rule
    request.environ[ROUTE] = rule.rule if rule is not None else ""


class _Tally(threading.local):
    statements: int = 0
    seconds: float = 0.0
    active: bool = False


_tally = _Tally()


def statements_so_far() -> int:
    """SQL statements of the request this thread serves, so far (still readable once
    the request is measured: an outer layer, the access log, reads it after)."""
    return _tally.statements


def count_statements(engine: Any) -> None:
    """Count the SQL statements (and their time) of the request this thread serves."""
    if event.contains(engine, "before_cursor_execute", _before):
        return
    event.listen(engine, "before_cursor_execute", _before)
    event.listen(engine, "after_cursor_execute", _after)


def _before(_conn: Any, _cursor: Any, _stmt: Any, _params: Any, context: Any, _many: Any) -> None:
    if _tally.active:
        _tally.statements += 1
        if context is not None:
            context._storefront_started = time.perf_counter()


def _after(_conn: Any, _cursor: Any, _stmt: Any, _params: Any, context: Any, _many: Any) -> None:
    if _tally.active and context is not None:
        started = getattr(context, "_storefront_started", None)
        if started is not None:
            _tally.seconds += time.perf_counter() - started


class RequestMetrics:
    def __init__(self, wsgi_app: Any, app: Flask) -> None:
        self.wsgi_app, self.app = wsgi_app, app
        self.usage: usage.Store = app.extensions["storefront.usage"]
        self._cached_routes: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self._page_cache = {result: PAGE_CACHE.labels(result) for result in _PAGE_RESULTS}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        _tally.active, _tally.statements, _tally.seconds = True, 0, 0.0
        answer: list[str] = []

        def capture(status: str, headers: Any, exc_info: Any = None) -> Any:
            answer[:] = [status]
            return start_response(status, headers, exc_info)

        try:
            body = self.wsgi_app(environ, capture)
        except BaseException:
            self._done(environ, answer[0] if answer else "500", started)
            raise
        return ClosingIterator(
            body, lambda: self._done(environ, answer[0] if answer else "500", started)
        )

    def _done(self, environ: dict[str, Any], status: str, started: float) -> None:
        try:
            self._observe(environ, status, time.perf_counter() - started)
        except Exception:  # noqa: BLE001 - a metric never fails a request
            log.debug("request not measured", exc_info=True)
        finally:
            _tally.active = False

    def _observe(self, environ: dict[str, Any], status: str, seconds: float) -> None:
        route = environ.get(ROUTE)
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in _METHODS:
            method = "other"
        hit = environ.get(PAGE_HIT) == "hit" or (
            route is None and "storefront.shop" in environ and PAGE_KEY not in environ
        )
        if hit:
            route = self._route_of_cached(environ)
        elif not route:
            route = UNMATCHED
        code = status[:3]
        status_class = f"{code[0]}xx" if code[:1] in "12345" and code[:1] else "5xx"
        key = (route, method, status_class)
        children = self._children.get(key)
        if children is None:  # a label set is looked up once (routes are the app's rules)
            children = (
                HTTP_REQUESTS.labels(route, method, status_class),
                HTTP_DURATION.labels(route, method),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        statements, sql_seconds = _tally.statements, _tally.seconds
        if not hit:
            HTTP_SQL_STATEMENTS.observe(statements)
            HTTP_SQL_SECONDS.observe(sql_seconds)
        if "storefront.shop" in environ:  # a request at a shop (not /_health and the like)
            self._page_cache["hit" if hit else "miss" if PAGE_KEY in environ else "bypass"].inc()
        refused = code == "429"
        if refused:
            RATE_LIMIT_REFUSALS.labels(str(environ.get(RATE_LIMIT) or route)).inc()
        usage.record_in(
            self.usage,
            _shop_id(environ),
            requests=1,
            errors=1 if status_class == "5xx" else 0,
            request_seconds=seconds,
            sql_statements=statements,
            rate_limited=1 if refused else 0,
        )

    def _route_of_cached(self, environ: dict[str, Any]) -> str:
        """The rule a cached page was rendered for: the path matched against the URL map
        (the language prefix is off the path by now), remembered for the next hit."""
        path = environ.get("PATH_INFO", "/")
        key = (environ.get("HTTP_HOST", ""), path)
        found = self._cached_routes.get(key)
        if found is not None:
            return found
        try:
            adapter = self.app.url_map.bind_to_environ(environ)
            rule, _args = adapter.match(path, method="GET", return_rule=True)
            found = rule.rule
        except (HTTPException, Exception):  # noqa: BLE001
            found = UNMATCHED
        self._cached_routes[key] = found
        if len(self._cached_routes) > 2048:
            self._cached_routes.popitem(last=False)
        return found


_PAGE_RESULTS = ("hit", "miss", "bypass")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _shop_id(environ: dict[str, Any]) -> int | None:
    shop_id = environ.get("storefront.shop_id")
    if shop_id is not None:
        return int(shop_id)
    resolution = environ.get("storefront.resolution")  # storefront.tenancy's, duck-typed
    tenant = getattr(resolution, "tenant", None)
    return getattr(tenant, "id", None)
