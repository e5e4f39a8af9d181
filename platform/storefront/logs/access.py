"""One access line per request, written by the app itself from its outermost WSGI layer.

Outermost (inside the trace's layer only) so that every answer has its line: the page
cache's (answered before Flask runs), the resolver's 404/301/503, Flask's pages and
errors. The line is logged by ``storefront.access`` at INFO (WARNING for a 5xx) with
``method``, ``path`` (the query string kept, credentials ``REDACTED``), ``route`` (the
Flask rule, null when none matched or the page cache answered), ``status``,
``duration_ms``, ``sql`` (statements run), ``page_cache`` ("hit" when it answered),
``shop``, ``request_id`` and ``user_id`` / ``api_key_id`` when known. No header is logged.

Cheap on purpose: a few environ reads, one clock pair and one record per request; the
formatter serialises a dozen scalars.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any

from flask import Flask, g, request
from werkzeug.wsgi import ClosingIterator

from ..metrics import requests as request_metrics
from . import ACCESS_LOGGER, ENVIRON, log_context, redact, redact_query

log = logging.getLogger(ACCESS_LOGGER)

ROUTE = "storefront.route"  # the matched rule; storefront.metrics reads the same key
USER_ID = "storefront.user_id"
API_KEY_ID = "storefront.api_key_id"
REQUEST_ID = "storefront.request_id"


# The rule of tenancy.request_hooks (and the page cache): 1-64 of [A-Za-z0-9._-].
_valid_request_id = re.compile(r"[A-Za-z0-9._-]{1,64}").fullmatch


def _statements() -> int:
    """SQL statements run by this thread's request so far (storefront.metrics' tally:
    one listener counts for both the metrics and this line)."""
    return int(getattr(request_metrics._tally, "statements", 0))


class AccessLog:
    """The WSGI layer: fixes the request id before anything runs (the layers inside take
    it as the given ``X-Request-ID``), binds it and the environ to the log context, and
    writes the line when the body is done (or the app raised)."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        request_id = environ.get(REQUEST_ID) or environ.get("HTTP_X_REQUEST_ID", "")
        if not _valid_request_id(request_id):
            request_id = secrets.token_hex(16)
        environ["HTTP_X_REQUEST_ID"] = environ[REQUEST_ID] = request_id
        # Read now: the language layer takes its prefix off PATH_INFO further in.
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        status: list[str] = []

        def capture(status_line: str, headers: Any, exc_info: Any = None) -> Any:
            status[:] = [status_line]
            return start_response(status_line, headers, exc_info)

        def done() -> None:
            code = int(status[0][:3]) if status and status[0][:3].isdigit() else 500
            self._write(environ, method, path, query, code, started)

        with log_context(request_id=request_id, environ=environ):
            try:
                body = self.wsgi_app(environ, capture)
            except BaseException:
                done()
                raise
        return ClosingIterator(body, done)

    def _write(
        self,
        environ: dict[str, Any],
        method: str,
        path: str,
        query: str,
        status: int,
        started: float,
    ) -> None:
        try:
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            target = redact(path) + (f"?{redact_query(query)}" if query else "")
            hit = environ.get("storefront.page_cache") == "hit"
            fields = {
                "method": method,
                "path": target,
                "route": environ.get(ROUTE) or None,
                "status": status,
                "duration_ms": duration_ms,
                "sql": 0 if hit else _statements(),
                "shop": environ.get("storefront.shop") or _resolved_shop(environ),
                "request_id": environ[REQUEST_ID],
                "user_id": environ.get(USER_ID),
                "api_key_id": environ.get(API_KEY_ID),
            }
            if hit:
                fields["page_cache"] = "hit"
            log.log(
                logging.WARNING if status >= 500 else logging.INFO,
                "%s %s %s %.1fms sql=%d",
                method,
                target,
                status,
                duration_ms,
                fields["sql"],
                extra=fields,
            )
        except Exception:
            logging.getLogger(__name__).debug("access line not written", exc_info=True)


def _resolved_shop(environ: dict[str, Any]) -> str | None:
    """The shop the resolver found for a request it answered itself (an alias's 301)."""
    tenant = getattr(environ.get("storefront.resolution"), "tenant", None)
    return getattr(tenant, "slug", None)


def note_request(_exc: BaseException | None = None) -> None:
    """``teardown_request``: keep what only Flask knows (the matched rule, the user, the
    API key) where the WSGI layer finds it once Flask is done."""
    environ = request.environ
    rule = request.url_rule
    if rule is not None:
        environ.setdefault(ROUTE, rule.rule)
    user = g.get("_login_user")  # loaded by this request, if it needed one
    if getattr(user, "is_authenticated", False):
        environ[USER_ID] = getattr(user, "id", None)
    key_id = g.get("api_key_id")
    if key_id is not None:
        environ[API_KEY_ID] = key_id


def enabled_in(config: Any) -> bool:
    return bool(config.get("ACCESS_LOG", True))


def init_access_log(app: Flask) -> None:
    """Write an access line per request (unless ``ACCESS_LOG`` is false); must wrap every
    layer but the trace's, so the page cache's answers have their line too."""
    if not enabled_in(app.config):
        return
    app.teardown_request(note_request)
    app.wsgi_app = AccessLog(app.wsgi_app)  # type: ignore[method-assign]


__all__ = ["ACCESS_LOGGER", "ENVIRON", "AccessLog", "init_access_log"]
