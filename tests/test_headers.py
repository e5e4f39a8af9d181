"""Security headers, and pages that satisfy the CSP (no inline code) in both themes."""

from __future__ import annotations

import re

import pytest

from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host, login

# A JSON-LD block is data, not code: browsers never run it, so the CSP has nothing to allow.
INLINE = re.compile(
    r'<script(?![^>]*\b(?:src=|type="application/ld\+json"))[^>]*>|<style\b|\sstyle=|\son[a-z]+=',
    re.I,
)


@pytest.mark.parametrize("theme", ["classic", "minimal"])
def test_every_page_carries_security_headers_and_no_inline_code(app, make_shop, make_user, theme):
    shop = make_shop("acme", theme=theme)
    with app.app_context(), tenant_context(shop):
        catalog.create_category("Tools")
        catalog.create_product("A", "Anvil", 100, stock=3, slug="anvil", categories=["tools"])
        db.session.commit()
    make_user(shop, "owner@example.com", roles=["owner"])
    client = app.test_client()
    anonymous = [
        "/",
        "/products",
        "/c/tools",
        "/p/anvil",
        "/search?q=a",
        "/cart/",
        "/login",
        "/register",
        "/reset",
        "/nope",
        "/wan-signin",
    ]
    for path in anonymous:
        response = client.get(path, headers=host(shop))
        _check(response, path)
    login(client, shop, "owner@example.com")
    for path in [
        "/account",
        "/change",
        "/wan-register",
        "/wan-verify",
        "/admin/",
        "/admin/products",
        "/admin/products/new",
        "/admin/categories",
        "/admin/orders",
        "/admin/customers",
        "/admin/settings",
    ]:
        _check(client.get(path, headers=host(shop)), path)


def _check(response, path):
    assert response.headers["X-Content-Type-Options"] == "nosniff", path
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    if response.mimetype == "text/html":
        found = INLINE.search(response.text)
        assert found is None, (path, found and response.text[found.start() - 80 : found.end() + 80])


def test_hsts_only_over_https_and_secure_cookies_in_production(app, client, make_shop):
    shop = make_shop("acme")
    assert "Strict-Transport-Security" not in client.get("/", headers=host(shop)).headers
    secure = client.get("/", headers=host(shop), base_url="https://acme.test")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_production_cookies_are_secure(app_config):
    from storefront import create_app

    config = {**app_config, "TESTING": False, "ENVIRONMENT": "production"}
    prod = create_app(config)
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert prod.config["REMEMBER_COOKIE_SECURE"] is True
    assert prod.config["SESSION_COOKIE_HTTPONLY"] is True
