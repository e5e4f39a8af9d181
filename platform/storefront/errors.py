"""Error pages: the shop's own look when a shop is bound, the platform's plain page if not.

A broken or hostile shop template must never produce a traceback: template errors in a
shop's override answer 503 with the file and line, sandbox violations 403.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, has_request_context, jsonify, render_template, request
from jinja2 import TemplateError, TemplateSyntaxError
from jinja2.exceptions import SecurityError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from .tenancy.context import current_tenant_or_none
from .tenancy.middleware import platform_error

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed here",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def error_page(status: int, message: str) -> Response:
    """Render the error page for the bound shop, falling back to the platform page."""
    ctx = current_tenant_or_none()
    if ctx is not None and ctx.settings is not None:
        try:
            body = render_template(
                "errors/error.html", title=TITLES.get(status, "Error"), message=message
            )
            return Response(body, status=status, mimetype="text/html")
        except Exception:  # noqa: BLE001 - a broken error template must not hide the error
            log.exception("error page failed to render")
    return platform_error(status, message)


ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}


def wants_json() -> bool:
    return has_request_context() and request.path.startswith("/api/")


def api_error(status: int, message: str, code: str | None = None, **extra: object) -> Response:
    """The API's one error shape: ``{"error": {"code": ..., "message": ...}}``."""
    body = {
        "error": {"code": code or ERROR_CODES.get(status, "error"), "message": message, **extra}
    }
    response = jsonify(body)
    response.status_code = status
    return response


def _http_error(exc: HTTPException) -> Response:
    if exc.code is None or exc.code < 400:
        return exc  # type: ignore[return-value]
    # An exception outside the view (an after_request hook, the session) reaches Flask's
    # last resort as a 500 wrapping the original: a database outage is still a 503.
    original = getattr(exc, "original_exception", None)
    if exc.code == 500 and original is not None and is_database_down(original):
        return _database_down(original)
    if wants_json():
        return api_error(exc.code, exc.description or TITLES.get(exc.code, "Error"))
    message = {
        404: "There is nothing at this address.",
        429: "Too many attempts. Please wait a minute and try again.",
    }.get(exc.code, exc.description or "")
    return error_page(exc.code, message)


def _template_error(exc: TemplateError) -> Response:
    where = ""
    if isinstance(exc, TemplateSyntaxError):
        where = f" ({exc.filename or exc.name}, line {exc.lineno})"
    log.warning("template error%s: %s", where, exc)
    if isinstance(exc, SecurityError):
        return platform_error(403, "This page's template tried something that is not allowed.")
    return platform_error(503, f"This page's template has an error{where}: {exc.message}")


def is_database_down(exc: BaseException) -> bool:
    """Errors that mean "the database is unreachable right now", not a bug."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    message = str(exc).lower()
    return isinstance(exc, PendingRollbackError) and ("connect" in message or "invalid" in message)


def _database_down(exc: Exception) -> Response:
    from .extensions import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; the session is removed anyway
        log.debug("rollback after a database error failed", exc_info=True)
    log.error("database unavailable: %s", getattr(exc, "orig", exc))
    if wants_json():
        return api_error(503, "The service is briefly unavailable. Please try again shortly.")
    return platform_error(503, "The service is briefly unavailable. Please try again shortly.")


def _unexpected(exc: Exception) -> Response:
    if is_database_down(exc):
        return _database_down(exc)
    log.exception("unhandled error")
    if wants_json():
        return api_error(500, "We could not complete this request. Please try again.")
    return error_page(500, "We could not complete this request. Please try again.")


def init_errors(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(TemplateError, _template_error)
    for database_down in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(database_down, _database_down)
    if not app.config.get("PROPAGATE_EXCEPTIONS") and not app.testing:
        app.register_error_handler(Exception, _unexpected)
