"""The dashboard and the shop's pages are for people with a session: an API key or a login
token sent in a header opens none of them.

The red team's probe: a key with only ``orders:read`` opened ``/admin`` (it accepted every
authentication mechanism, so the API's Bearer loader counted) and set a product's price
to $0.01 through the edit form. Every form below is posted with a valid CSRF token of the
client's own (anonymous) session, so what stops it is the credential check, not CSRF.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from storefront.accounts import tokens
from storefront.accounts.models import User
from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.tenancy import tenant_context
from tests.fixtures.factories import csrf_from, host, product_id
from tests.test_commerce import add_to_cart, checkout

OWNER = "owner@example.com"
NEVER = range(200, 300)


@pytest.fixture
def shop(app, make_shop, make_user):
    acme = make_shop("acme")
    make_user(acme, OWNER, roles=["owner"])
    with app.app_context(), tenant_context(acme):
        catalog.create_category("Tools")
        catalog.create_product("A-1", "Anvil", 1999, stock=5, categories=["tools"])
        db.session.commit()
    return acme


def owner_key(app, shop, *scopes: str) -> str:
    with app.app_context(), tenant_context(shop):
        owner = db.session.scalar(select(User).where(User.email == OWNER))
        secret = tokens.create_key(owner, "probe", scopes=list(scopes)).secret
        db.session.commit()
    return secret


def owner_login_token(app, shop) -> str:
    with app.app_context(), tenant_context(shop):
        return db.session.scalar(select(User).where(User.email == OWNER)).get_auth_token()


def price_of(app, shop) -> int:
    with app.app_context(), tenant_context(shop):
        return db.session.scalar(select(Product.price).where(Product.sku == "A-1"))


def refused(answer) -> bool:
    """Sent to log in, or 401/403: anything but the page."""
    if answer.status_code in (301, 302, 303, 307, 308):
        return "/login" in answer.headers["Location"]
    return answer.status_code in (401, 403)


def test_a_key_with_orders_read_cannot_change_a_price_through_the_edit_form(app, shop):
    key = owner_key(app, shop, "orders:read")
    client = app.test_client()
    edit = f"/admin/products/{product_id(app, shop, 'anvil')}"
    bearer = {**host(shop), "Authorization": f"Bearer {key}"}
    assert refused(client.get("/admin/", headers=bearer))
    assert refused(client.get(edit, headers=bearer))
    token = csrf_from(client.get("/login", headers=host(shop)).text)
    form = {
        "csrf_token": token,
        "sku": "A-1",
        "title": "Anvil",
        "slug": "anvil",
        "price": "0.01",
        "stock": "5",
        "active": "y",
    }
    answer = client.post(edit, data=form, headers=bearer)
    assert refused(answer), answer.status_code
    assert price_of(app, shop) == 1999


def _concrete(path: str, known: dict[str, str]) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: known.get(m.group(1), "1"), path)


def test_no_dashboard_route_opens_to_a_key_or_a_login_token(app, shop):
    credentials = {
        "a key with every scope": {
            "Authorization": f"Bearer {owner_key(app, shop, *tokens.SCOPES)}"
        },
        "the owner's login token": {"Authentication-Token": owner_login_token(app, shop)},
    }
    known = {"product_id": str(product_id(app, shop, "anvil")), "slug": "tools"}
    client = app.test_client()
    token = csrf_from(client.get("/login", headers=host(shop)).text)
    opened, walked = [], 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        path = _concrete(rule.rule, known)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            walked += 1
            for what, headers in credentials.items():
                data = {"csrf_token": token} if method == "POST" else None
                answer = client.open(
                    path, method=method, data=data, headers={**host(shop), **headers}
                )
                if not refused(answer) or answer.status_code in NEVER:
                    opened.append(f"{method} {rule.rule} with {what}: {answer.status_code}")
    assert walked >= 50
    assert opened == []


def test_the_account_page_and_checkout_ignore_a_key(app, shop):
    """A key acts as its owner only on the API: on the shop's pages it is nobody, so a
    page order is a guest's, never one placed under the owner's account."""
    key = owner_key(app, shop, *tokens.SCOPES)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    assert refused(client.get("/account", headers=host(shop)))
    assert refused(client.get("/change", headers=host(shop)))  # Flask-Security's pages too
    login_token = {**host(shop), "Authentication-Token": owner_login_token(app, shop)}
    for page in ("/account", "/change", "/admin/"):
        assert refused(app.test_client().get(page, headers=login_token)), page
    add_to_cart(client, shop, "anvil")
    placed = checkout(client, shop, email="someone@example.com")
    assert placed.status_code == 302
    with app.app_context(), tenant_context(shop):
        orders = list(db.session.scalars(select(Order)))
    assert [order.user_id for order in orders] == [None]
