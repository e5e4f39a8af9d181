"""The application factory: one ``create_app`` serves every shop."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, NoReturn

from flask import Flask, Request
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import RequestRedirect
from werkzeug.urls import quote

from .accounts import init_accounts
from .admin.activity import bp as admin_activity_bp
from .admin.cart_reminders import bp as admin_reminders_bp
from .admin.commerce import bp as admin_commerce_bp
from .admin.content import bp as admin_pages_bp
from .admin.discounts import bp as admin_discounts_bp
from .admin.domains import bp as admin_domains_bp
from .admin.giftcards import bp as admin_giftcards_bp
from .admin.home import bp as admin_home_bp
from .admin.keys import bp as admin_keys_bp
from .admin.payments import bp as admin_payments_bp
from .admin.plan import bp as admin_plan_bp
from .admin.product_details import bp as admin_products_bp
from .admin.reviews import bp as admin_reviews_bp
from .admin.seo import bp as admin_seo_bp
from .admin.staff import bp as admin_staff_bp
from .admin.views import bp as admin_bp
from .admin.webhooks import bp as admin_webhooks_bp
from .api.account import bp as api_account_bp
from .api.admin import bp as api_admin_bp
from .api.giftcards import admin_bp as api_admin_giftcards_bp
from .api.giftcards import bp as api_giftcards_bp
from .api.reviews import bp as api_reviews_bp
from .api.root import bp as api_root_bp
from .api.views import bp as api_v1_bp
from .api.webhooks import bp as api_webhooks_bp
from .audit import init_audit
from .billing.views import bp as billing_bp
from .caching import init_page_cache
from .cart.views import bp as cart_bp
from .catalog.views import bp as catalog_bp
from .config import build_config, instance_path, migrations_dir
from .db import init_engine_hooks
from .errors import init_errors
from .extensions import cache, csrf, db, limiter, mail, migrate
from .headers import init_headers
from .i18n import init_i18n
from .jobs import init_jobs
from .json_limits import BoundedJSONProvider
from .listing import IdConverter
from .logs import init_logging
from .logs.access import init_access_log
from .logs.sentry import init_sentry
from .main.views import pages_bp
from .media import bp as media_bp
from .metrics import init_metrics
from .orders.views import bp as orders_bp
from .outbox import init_outbox
from .plans import init_plans
from .privacy.views import admin_bp as admin_privacy_bp
from .privacy.views import bp as privacy_bp
from .probes import bp as platform_bp
from .reminders.views import bp as reminders_bp
from .reviews.views import init_reviews
from .seo.views import init_seo
from .signup import init_signup
from .storage import init_storage
from .tenancy import init_tenancy
from .tenancy.overlay import OverlayConfig
from .themes import init_themes
from .themes.loader import LayeredEnvironment
from .tracing import init_tracing
from .transfers.views import bp as admin_transfers_bp


class StorefrontFlask(Flask):
    config_class = OverlayConfig
    jinja_environment = LayeredEnvironment
    json_provider_class = BoundedJSONProvider  # every body parsed is depth-checked first

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's, with its answer kept per function: it asks, for every hook of every
        request (about twenty a page), whether the function is a coroutine, by reading
        its code flags through ``inspect``. Functions do not change kind. Bounded: an
        ``after_this_request`` function is new on every request."""
        known = self._coroutines
        try:
            is_async = known[func]
        except KeyError:
            if len(known) >= 512:
                known.clear()
            is_async = known[func] = inspect.iscoroutinefunction(func)
        except TypeError:  # unhashable: ask each time, as Flask does
            is_async = inspect.iscoroutinefunction(func)
        return self.async_to_sync(func) if is_async else func

    @cached_property
    def _coroutines(self) -> dict[Callable[..., Any], bool]:
        return {}

    def raise_routing_exception(self, request: Request) -> NoReturn:
        """Werkzeug's, with the other spelling of a route redirected too.

        Werkzeug sends ``/cart`` on to ``/cart/`` (a rule written with its slash) but
        answers 404 at ``/checkout/`` (one written without). Each route is one rule;
        its other spelling is a 308 to it, as Werkzeug's own: the method and the body
        are kept (a POST stays a POST), and so are the language prefix and the query.
        """
        if isinstance(request.routing_exception, NotFound):
            redirect = self._without_trailing_slash(request)
            if redirect is not None:
                raise redirect
        super().raise_routing_exception(request)

    def _without_trailing_slash(self, request: Request) -> RequestRedirect | None:
        """The redirect to ``path`` for ``path/`` when a route answers there, else None."""
        path = request.path
        if not path.endswith("/") or path == "/" or "//" in path:
            return None  # doubled slashes: Werkzeug merges them first, with its own redirect
        adapter = self.create_url_adapter(request)
        assert adapter is not None  # noqa: S101 - there is a request
        try:
            adapter.match(path[:-1], method=request.method)
        except HTTPException:  # not found, another method, or a redirect of its own
            return None
        # As Werkzeug builds its redirect to ``path/``: its path quoting, the query kept.
        return RequestRedirect(adapter.make_redirect_url(quote(path[:-1], safe=_PATH_SAFE)))


# Werkzeug's own for the path of a slash redirect (the WHATWG URL path-segment set).
_PATH_SAFE = "!$&'()*+,/:;=@"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the platform app: config layers, extensions, tenancy, themes, blueprints."""
    app = StorefrontFlask(
        __name__,
        instance_path=instance_path(config),
        instance_relative_config=True,
        static_folder=None,  # the themes blueprint serves /static/ layer by layer
    )
    app.url_map.converters["int"] = IdConverter  # before any route is added
    build_config(app, config)
    app.jinja_options = {**app.jinja_options, "cache_size": app.config["TEMPLATE_CACHE_SIZE"]}
    init_logging(app)  # JSON lines (text in development), each with its shop and request id
    init_sentry(app)  # when a DSN is set; early, so errors while the rest starts are reported
    init_extensions(app)
    init_page_cache(app)  # wraps Flask before the language prefix comes off the path
    init_metrics(app)  # around the page cache: the pages it answers are counted too
    init_i18n(app)  # before tenancy (the URL prefix) and themes (the Babel filters)
    init_plans(app)  # refuses a plans file that is not valid, as a bad config
    init_tenancy(app)  # before blueprints: its resolver must be the first before_request
    init_themes(app)
    init_audit(app)  # records through the session's events, whatever writes
    init_outbox(app)
    init_jobs(app)
    init_accounts(app)
    register_blueprints(app)
    init_reviews(app)  # the shopper's pages, and product_reviews() for product pages
    init_signup(app)  # the platform domain's sign-up pages; the owner's checklist
    init_seo(app)  # sitemaps, robots.txt, the head's tags; a 301 for a moved page's 404
    init_errors(app)
    init_headers(app)
    init_access_log(app)  # around every layer but the trace's: the page cache's answers too
    init_tracing(app)  # last: its WSGI layer wraps every other (the page cache's answers too)
    return app


def init_extensions(app: Flask) -> None:
    db.init_app(app)
    init_engine_hooks(app)
    # Batch mode: SQLite can only ALTER a table by copying it; Alembic does that for us.
    migrate.init_app(
        app,
        db,
        directory=app.config.get("MIGRATIONS_DIR") or str(migrations_dir()),
        render_as_batch=True,
        compare_type=True,
    )
    cache.init_app(app)
    init_storage(app)  # shop files: a folder, or an S3-compatible store
    mail.init_app(app)
    csrf.init_app(app)
    # Flask-Limiter merges RATELIMIT_STORAGE_OPTIONS into the one Limiter's own dict at
    # every init_app: start each app from its own options (a Sentinel app's options
    # must not reach the next app the process builds, as in the tests).
    limiter._storage_options = {}
    limiter.init_app(app)


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(platform_bp)
    app.register_blueprint(billing_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(api_root_bp)
    app.register_blueprint(api_v1_bp)
    app.register_blueprint(api_admin_bp)
    app.register_blueprint(api_giftcards_bp)
    app.register_blueprint(api_admin_giftcards_bp)
    app.register_blueprint(api_webhooks_bp)
    app.register_blueprint(api_account_bp)
    app.register_blueprint(api_reviews_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(admin_plan_bp)
    app.register_blueprint(admin_keys_bp)
    app.register_blueprint(admin_products_bp)
    app.register_blueprint(admin_discounts_bp)
    app.register_blueprint(admin_giftcards_bp)
    app.register_blueprint(admin_payments_bp)
    app.register_blueprint(admin_pages_bp)
    app.register_blueprint(admin_home_bp)
    app.register_blueprint(admin_seo_bp)
    app.register_blueprint(admin_reminders_bp)
    app.register_blueprint(admin_reviews_bp)
    app.register_blueprint(admin_commerce_bp)
    app.register_blueprint(admin_domains_bp)
    app.register_blueprint(admin_webhooks_bp)
    app.register_blueprint(admin_activity_bp)
    app.register_blueprint(admin_staff_bp)
    app.register_blueprint(admin_transfers_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(admin_privacy_bp)
    app.register_blueprint(catalog_bp)
    app.register_blueprint(media_bp)
    app.register_blueprint(cart_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(orders_bp)
