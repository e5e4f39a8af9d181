"""The request hooks of tenancy: one resolver that picks the shop from the Host header.

Resolution happens once per request, the first time anything asks (Flask builds the URL
adapter and opens the session before ``before_request`` runs, and both need the shop);
the result is kept in the WSGI environ. ``bind_shop`` then turns it into an answer:
400 for a malformed host, the platform's 404 for an unknown one (never a fallback shop),
a 301 from an alias to the primary domain, the shop's 503 page when it is suspended.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass

from flask import Flask, Request, Response, current_app, g, redirect, render_template, request
from flask.globals import request_ctx
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from ..permissions import is_staff
from ..problems import api_error, wants_json
from .context import TenantContext, bind, unbind
from .hosts import InvalidHost, normalize_host

log = logging.getLogger(__name__)

ENVIRON_KEY = "storefront.resolution"
# Answer on any host, with no shop: load balancers probe them by IP.
# The platform's own endpoints: no shop is bound (billing's webhook names its shop).
PLATFORM_PATHS = frozenset(
    {"/_health", "/_ready", "/_tls/ask", "/_metrics", "/_billing/stripe/webhook"}
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True)
class Resolution:
    host: str | None
    tenant: TenantContext | None = None
    is_primary: bool = False
    status: int | None = None  # set when the request cannot reach a shop
    reason: str = ""


def resolve_request(req: Request) -> Resolution:
    """Resolve (once) the shop a request's host belongs to."""
    cached = req.environ.get(ENVIRON_KEY)
    if cached is not None:
        return cached
    resolution = _resolve(req)
    req.environ[ENVIRON_KEY] = resolution
    return resolution


def _resolve(req: Request) -> Resolution:
    try:
        host = normalize_host(req.host)
    except InvalidHost as exc:
        return Resolution(None, status=400, reason=f"Bad Host header: {exc}.")
    registry = current_app.extensions["storefront.registry"]
    try:
        record = registry.lookup(host)
    except SQLAlchemyError:
        log.exception("shop lookup failed for host %s", host)
        return Resolution(host, status=503, reason="The service is briefly unavailable.")
    if record.tenant is None:
        return Resolution(host, status=404, reason="No shop lives at this address.")
    return Resolution(host, record.tenant, record.is_primary)


def shop_base_url(ctx: TenantContext) -> str:
    """Scheme and authority of a shop's primary domain: the root of every link we build."""
    port = current_app.config.get("SHOP_URL_PORT")
    scheme = current_app.config["PREFERRED_URL_SCHEME"]
    return f"{scheme}://{ctx.primary_host}{f':{port}' if port else ''}"


def bind_shop() -> ResponseReturnValue | None:
    """``before_request``: answer hosts that reach no shop; bind the shop otherwise."""
    g.request_id = request.environ["storefront.request_id"] = _request_id()
    if request.path in PLATFORM_PATHS:
        return None
    res = resolve_request(request)
    ctx = res.tenant
    if ctx is None:
        if res.status == 404 and is_platform_site(res.host):
            return _platform_site()
        if res.status == 404 and request.method in ("GET", "HEAD") and _platform_asset():
            return None  # the platform's own stylesheet, for its styled 404 page
        return platform_error(res.status or 404, res.reason)
    if not res.is_primary:
        target = shop_base_url(ctx) + request.full_path.rstrip("?")
        return redirect(target, code=301)
    if ctx.database != current_app.config["DATABASE_NAME"]:
        # Its rows live on another cluster (or are moving there): nothing here may read
        # or write them, so the shop is never bound.
        log.warning("shop %s lives in database %r, not here", ctx.slug, ctx.database)
        return platform_error(503, "This shop is briefly unavailable. Please try again shortly.")
    if ctx.status == "pending":
        # Signed up and confirmed, waiting for the operator's approval: to everyone the
        # shop does not exist yet (storefront.signup).
        return platform_error(404, "No shop lives at this address.")
    g.tenant_token = bind(ctx)
    g.shop_slug = request.environ["storefront.shop"] = ctx.slug  # for the access log
    _build_urls_for(ctx)
    if ctx.status == "suspended":
        if wants_json():
            return platform_error(503, _("This shop is not open at the moment."), language=None)
        entry = _open_while_suspended()
        if entry == "open":
            return None
        return _shop_page(
            "errors/suspended.html",
            503,
            reason=ctx.suspended_reason,
            read_only=entry == "read-only",
        )
    if ctx.settings is None:
        return platform_error(503, "This shop is being set up. Please come back soon.")
    if ctx.closed_for_billing and not _open_while_unpaid():
        # Closed to shoppers for non-payment (storefront.billing): the shop's own page in
        # its look and language; its staff still sign in, and pay, in the dashboard.
        if wants_json():
            response = api_error(503, _("This shop is closed at the moment."), "shop_closed")
            response.headers["Retry-After"] = "3600"
            return response
        return _shop_page("errors/closed.html", 503)
    return None


def _open_while_unpaid() -> bool:
    """What a shop closed for non-payment still serves: its look, login and logout, and
    its whole dashboard to its staff (the billing page above all)."""
    path = request.path
    if request.method in ("GET", "HEAD") and (
        path.startswith(("/static/", "/media/")) or path == "/branding.css"
    ):
        return True
    # Signing in, with a second factor or a passkey, and a forgotten password: the owner
    # must reach the dashboard to pay.
    if path in ("/login", "/logout") or path.startswith(("/reset", "/tf-", "/wan-")):
        return True
    if path == "/admin" or path.startswith("/admin/"):
        user = current_user
        return bool(user.is_authenticated and is_staff(r.name for r in user.roles))
    return False


PLATFORM_SITE = "storefront.platform_site"  # environ: the request is the platform's own site
# What the platform's own domain serves (sign-up on): its pages, under these paths only.
PLATFORM_SITE_PREFIXES = ("/signup", "/static/")


def is_platform_site(host: str | None) -> bool:
    """The platform's own domain (``PLATFORM_DOMAIN``, or www. before it), while sign-up
    is on. A shop that holds the name as its domain keeps it (it resolved first)."""
    domain = current_app.config.get("PLATFORM_DOMAIN")
    if not (domain and host and current_app.config.get("SIGNUP_ENABLED")):
        return False
    return host in (domain, f"www.{domain}")


def _platform_site() -> ResponseReturnValue | None:
    """The platform's own pages (``storefront.signup``): no shop is bound, ever."""
    request.environ[PLATFORM_SITE] = True
    path = request.path
    if path.startswith(PLATFORM_SITE_PREFIXES):
        return None
    if path == "/" and request.method in ("GET", "HEAD"):
        return redirect(request.script_root + "/signup", code=302)
    return platform_error(404, "No page lives at this address.")


def _build_urls_for(ctx: TenantContext) -> None:
    """Build every external URL of this request from the shop's primary domain.

    Flask-Security (like any ``url_for(_external=True)``) builds mail links from the
    request, so a forged Host, ``X-Forwarded-Host`` or absolute-form request target could
    put another domain into a password-reset mail. Routing already matched the request;
    from here on the adapter only builds URLs, and it builds them for the shop.
    """
    adapter = request_ctx.url_adapter
    if adapter is not None:
        scheme, _, authority = shop_base_url(ctx).partition("://")
        adapter.url_scheme = scheme
        adapter.server_name = authority


def unbind_shop(exc: BaseException | None = None) -> None:
    token = g.pop("tenant_token", None)
    if token is not None:
        unbind(token)


def platform_error(status: int, reason: str, language: str | None = "en") -> Response:
    """The platform's own plain page (nothing of any shop in it), or on ``/api/`` the API's
    error shape; a 503 says when to come back. Its words are the platform's, English
    (``language``), unless the caller said them in the shop's (``language=None``: the
    answer then names the negotiated one, i18n.say_language).

    Rendered straight from the environment, without context processors: those load the
    current user, and this page must render when the database is down.
    """
    if wants_json():
        response = api_error(status, reason)
        if status == 503:
            response.headers["Retry-After"] = "60"
        if language is not None:
            response.headers["Content-Language"] = language
        return response
    template = current_app.jinja_env.get_template("@base/platform/error.html")
    body = template.render(status=status, reason=reason)
    return Response(body, status=status, mimetype="text/html")


def _platform_asset() -> bool:
    """A file of the platform's base static folder (no shop is bound: no shop's files)."""
    return request.path.startswith("/static/")


def _open_while_suspended() -> str:
    """What a suspended shop still serves: its look (so the notice is the shop's), login
    and logout, and its dashboard to its staff, read-only. "open", "read-only" (a change
    attempted in the dashboard) or "closed"."""
    path, reading = request.path, request.method in ("GET", "HEAD")
    if reading and (path.startswith(("/static/", "/media/")) or path == "/branding.css"):
        return "open"
    if path in ("/login", "/logout"):
        return "open"
    if path == "/admin" or path.startswith("/admin/"):
        user = current_user
        staff = user.is_authenticated and is_staff(r.name for r in user.roles)
        if staff:
            return "open" if reading else "read-only"
    return "closed"


def _shop_page(template: str, status: int, **context: object) -> Response:
    return Response(render_template(template, **context), status=status, mimetype="text/html")


def _request_id() -> str:
    given = request.headers.get("X-Request-ID", "")
    return given if _REQUEST_ID.match(given) else secrets.token_hex(16)


def add_request_id(response: Response) -> Response:
    if "request_id" in g:
        response.headers["X-Request-ID"] = g.request_id
    return response


def init_request_hooks(app: Flask) -> None:
    # Must run before every other before_request hook (CSRF, rate limits, auth): they all
    # need the shop bound, so the resolver goes first in the list, not by import order.
    app.before_request_funcs.setdefault(None, []).insert(0, bind_shop)
    app.teardown_request(unbind_shop)
    app.after_request(add_request_id)
