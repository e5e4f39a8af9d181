"""Error pages: the shop's own look when a shop is bound, the platform's plain page if not.

A broken or hostile shop template must never produce a traceback: template errors in a
shop's template answer 503 with the file and line, sandbox violations 403, a render over
budget 503; each on the shop's error page drawn without the shop's own templates.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Response, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from jinja2 import TemplateError, TemplateSyntaxError
from jinja2.exceptions import SecurityError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from .extensions import db
from .plans import PlanLimitReached
from .problems import api_error, wants_json
from .storage import StorageError
from .tenancy.context import current_tenant_or_none
from .tenancy.request_hooks import platform_error
from .themes.budget import TemplateBudgetError
from .themes.loader import without_shop_templates

log = logging.getLogger(__name__)

TITLES = {
    400: _l("Bad request"),
    403: _l("Not allowed"),
    404: _l("Page not found"),
    405: _l("Not allowed here"),
    413: _l("Too large"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
    503: _l("Temporarily unavailable"),
}


def error_page(status: int, message: str, own_templates: bool = True) -> Response:
    """Render the error page for the bound shop, falling back to the platform page.

    With the shop's own templates first (unless they are what failed), then with its
    theme and branding only, then the platform's plain page.
    """
    _rollback()
    ctx = current_tenant_or_none()
    if ctx is not None and ctx.settings is not None:
        attempts = (False, True) if own_templates else (True,)
        for plain in attempts:
            try:
                if plain:
                    with without_shop_templates():
                        body = _render_error(status, message)
                else:
                    body = _render_error(status, message)
                return Response(body, status=status, mimetype="text/html")
            except Exception:  # noqa: BLE001 - a broken error template must not hide the error
                log.warning("error page failed to render (shop templates: %s)", not plain)
    return platform_error(status, message)


def _render_error(status: int, message: str) -> str:
    title = str(TITLES.get(status, _("Error")))
    return render_template("errors/error.html", title=title, message=message)


def _rollback() -> None:
    """Whatever failed may have left the session unusable; the error page needs it."""

    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the session is removed anyway
        log.debug("rollback before the error page failed", exc_info=True)


def _http_error(exc: HTTPException) -> Response:
    if exc.code is None or exc.code < 400:
        return exc  # type: ignore[return-value]
    # An exception outside the view (an after_request hook, the session) reaches Flask's
    # last resort as a 500 wrapping the original: a database outage is still a 503.
    original = getattr(exc, "original_exception", None)
    if exc.code == 500 and original is not None and is_database_down(original):
        return _database_down(original)
    # The request's own limit: a route may allow more than the app's (a catalog upload).
    limit = int(request.max_content_length or 0) // (1024 * 1024)
    messages = {
        400: _("The request could not be understood."),
        403: _("You are not allowed to see this page."),
        404: _("There is nothing at this address."),
        405: _("This address does not take that kind of request."),
        413: _("What you sent is larger than %(num)s MB.", num=limit),
        429: _("Too many attempts. Please wait a minute and try again."),
    }
    # A description given where the error was raised is already in the reader's language;
    # werkzeug's stock descriptions are English, so they give way to ours. Flask-WTF's
    # CSRF refusals ("The CSRF token is invalid.") are English too: a form left open past
    # its session, or sent from elsewhere, is said in the reader's words.
    if isinstance(exc, CSRFError):
        exc.description = _(
            "This form was open too long, or came from another page: reload it and try again."
        )
    custom = exc.description and exc.description != type(exc).description
    if wants_json():
        # The API speaks the answer's language too (docs/api.md): ours, never werkzeug's.
        stock = messages.get(exc.code) or TITLES.get(exc.code) or _("Error")
        response = api_error(exc.code, str(exc.description) if custom else str(stock))
        for name, value in exc.get_headers():  # Allow on a 405, Retry-After, ...
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
    message = str(exc.description) if custom else messages.get(exc.code, exc.description or "")
    return error_page(exc.code, message)


http_error = _http_error  # a handler of one code (seo's 404) hands other answers back here


def _template_error(exc: TemplateError) -> Response:
    where = ""
    if isinstance(exc, TemplateSyntaxError):
        where = f" ({exc.filename or exc.name}, line {exc.lineno})"
    template = _failing_template(exc)
    log.warning("template error in %s%s: %s", template, where, exc)
    if isinstance(exc, TemplateBudgetError):
        status, message = 503, _("This page took too much to build. Please try again later.")
    elif isinstance(exc, SecurityError):
        status, message = 403, _("This page's template tried something that is not allowed.")
    else:
        status = 503
        message = _(
            "This page's template has an error%(where)s: %(problem)s",
            where=where,
            problem=exc.message,
        )
    if wants_json():
        return api_error(status, message)
    return error_page(status, message, own_templates=False)


def _failing_template(exc: BaseException) -> str:
    """The innermost template file in the traceback (Jinja puts template frames there)."""
    name = getattr(exc, "filename", None) or getattr(exc, "name", None)
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".txt", ".xml")):
            name = filename
        tb = tb.tb_next
    return str(name or "a template")


def is_database_down(exc: BaseException) -> bool:
    """Errors that mean "the database is unreachable right now", not a bug."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, PendingRollbackError):
        return False
    # A session whose flush failed: unavailable when that failure was the database's
    # (a lost connection, a deadlock or a Galera conflict, a node not ready), which the
    # message names; a bug's leftover (an IntegrityError, say) stays a 500.
    message = str(exc)
    lowered = message.lower()
    return (
        "OperationalError" in message
        or "InterfaceError" in message
        or "connect" in lowered
        or "invalid" in lowered
    )


def _database_down(exc: Exception) -> Response:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the session is removed anyway
        log.debug("rollback after a database error failed", exc_info=True)
    log.error("database unavailable: %s", getattr(exc, "orig", exc))
    # No gettext here: the database is what failed, and choosing the shop's language may
    # need it (the answer is the platform's, in English, as for an unknown host).
    if wants_json():
        response = api_error(503, "The service is briefly unavailable. Please try again shortly.")
        response.headers["Content-Language"] = "en"
        return response
    return platform_error(503, "The service is briefly unavailable. Please try again shortly.")


def _storage_down(exc: StorageError) -> Response:
    """The file store did not answer (uploads, their files): 503, nothing half-written."""
    _rollback()
    log.warning("file storage unavailable: %s", exc)
    message = _("Files cannot be stored right now. Please try again in a minute.")
    response = api_error(503, message) if wants_json() else error_page(503, message)
    response.headers["Retry-After"] = "60"
    return response


def _unexpected(exc: Exception) -> Response:
    if is_database_down(exc):
        return _database_down(exc)
    _rollback()
    log.exception("unhandled error")
    if wants_json():
        return api_error(500, _("We could not complete this request. Please try again."))
    return error_page(500, _("We could not complete this request. Please try again."))


def _plan_limit(exc: PlanLimitReached) -> ResponseReturnValue:
    """A change the shop's plan does not allow, wherever it was tried: nothing of it is
    kept (rolled back). The API answers 403 ``plan_limit_reached`` with the numbers; the
    dashboard shows the message (the limit, the plan that lifts it) on the page the
    owner came from; anything else gets the shop's error page."""
    _rollback()
    if wants_json():
        return api_error(403, str(exc), exc.code, **exc.problem())
    if request.path.startswith("/admin") and request.method != "GET":
        flash(str(exc), "error")
        back = request.referrer or ""
        parts = urlsplit(back)
        same_host = parts.netloc == request.host and parts.scheme in ("http", "https")
        target = f"{parts.path}?{parts.query}" if same_host and parts.query else parts.path
        if not same_host or not target.startswith("/"):
            target = request.full_path if request.method == "GET" else request.path
        return redirect(target, 303)
    return error_page(403, str(exc))


def init_errors(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(TemplateError, _template_error)
    for database_down in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(database_down, _database_down)
    app.register_error_handler(StorageError, _storage_down)
    app.register_error_handler(PlanLimitReached, _plan_limit)
    if not app.config.get("PROPAGATE_EXCEPTIONS") and not app.testing:
        app.register_error_handler(Exception, _unexpected)
