"""Tenancy: shops, their domains, host resolution, row scoping and the config overlay."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from .context import (
    CrossTenantWrite,
    TenantContext,
    TenantNotBound,
    all_tenants,
    current_tenant,
    current_tenant_or_none,
    tenant_context,
)
from .registry import Registry
from .request_hooks import init_request_hooks, resolve_request
from .scoping import TenantScoped, scoped_fk

__all__ = [
    "CrossTenantWrite",
    "TenantContext",
    "TenantNotBound",
    "TenantScoped",
    "all_tenants",
    "current_tenant",
    "current_tenant_or_none",
    "init_tenancy",
    "scoped_fk",
    "tenant_context",
]


class ShopSessionInterface(SecureCookieSessionInterface):
    """Session cookies signed per shop: a cookie minted at one shop is void at another."""

    def open_session(self, app: Flask, request: Any) -> Any:
        """A visitor without a session cookie gets an empty session at once (no signer)."""
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def get_signing_serializer(self, app: Flask):  # type: ignore[no-untyped-def]
        from flask import request

        ctx = resolve_request(request).tenant
        # The shop's uid, never reused: a cookie of a deleted shop is void at any later one.
        uid = ctx.uid if ctx else "-"
        kept = app.extensions.setdefault("storefront.session_serializers", {})
        serializer = kept.get(uid)  # built once per shop and worker: the key is derived
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            if serializer is None:
                return None
            serializer.salt = f"{self.salt}:shop:{uid}".encode()
            if len(kept) >= 20_000:
                kept.clear()
            kept[uid] = serializer
        return serializer


class RootMount:
    """The platform is always served at ``/``: a ``SCRIPT_NAME`` from the server (gunicorn
    takes one from a request header sent by any trusted address) would otherwise go into
    every link built, and into cached pages other visitors get."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        script_name = environ.get("SCRIPT_NAME", "")
        if script_name:
            environ["PATH_INFO"] = script_name + environ.get("PATH_INFO", "")
            environ["SCRIPT_NAME"] = ""
        return self.wsgi_app(environ, start_response)


def init_tenancy(app: Flask) -> None:
    """Registry, resolver, per-shop sessions and, only when configured, proxy headers."""
    app.extensions["storefront.registry"] = Registry(app)
    app.wsgi_app = RootMount(app.wsgi_app)  # type: ignore[method-assign]
    app.session_interface = ShopSessionInterface()
    init_request_hooks(app)
    proxies = int(app.config["TRUSTED_PROXY_COUNT"])
    if proxies > 0:
        # X-Forwarded-* is forgeable by anyone; trust it only from configured hops.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
