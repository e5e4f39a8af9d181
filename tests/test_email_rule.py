"""One email rule everywhere (storefront.emails): registration and checkout, on the pages
and through the API, take and refuse the same addresses. Before, the API's checkout
placed orders for ``…@….test`` addresses that registration refused."""

from __future__ import annotations

import pytest

from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host, register
from tests.test_commerce import ADDRESS, add_to_cart, checkout

TAKEN = [
    "ada@example.com",
    "Ada.Lovelace+shop@example.co.uk",
    "ada@münchen.de",  # an internationalised domain
]
REFUSED = [
    "ada@shop.test",  # special-use names (RFC 6761): no mail arrives there
    "ada@acme.localhost",
    "ada@example.invalid",
    "ada@intranet",  # no top-level domain
    "ada..x@example.com",
    "ada@exa mple.com",
    "not an address",
    " ada@example.org",  # a browser trims an email field; a client sends what it means
]


@pytest.fixture
def shop(app, make_shop):
    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        catalog.create_product("A-1", "Anvil", 1000, stock=1000, slug="anvil")
        db.session.commit()
    return shop


def _api_register(app, shop, email: str) -> bool:
    answer = app.test_client().post(
        "/api/v1/account/register",
        json={"email": email, "password": "a-long-password-9"},
        headers=host(shop),
    )
    assert answer.status_code in (202, 422), (email, answer.status_code, answer.json)
    if answer.status_code == 422:
        assert "email" in answer.json["error"]["fields"], (email, answer.json)
    return answer.status_code == 202


def _page_register(app, shop, email: str) -> bool:
    answer = register(app.test_client(), shop, email)
    assert answer.status_code in (200, 302), (email, answer.status_code)
    return answer.status_code == 302


def _api_checkout(app, shop, email: str) -> bool:
    client = app.test_client(use_cookies=False)
    token = client.post(
        "/api/v1/cart/items", json={"product_id": 1, "quantity": 1}, headers=host(shop)
    ).json["data"]["token"]
    answer = client.post(
        "/api/v1/checkout",
        json={**ADDRESS, "email": email},
        headers={**host(shop), "X-Cart-Token": token, "Idempotency-Key": "email-rule-" + "k" * 8},
    )
    assert answer.status_code in (201, 422), (email, answer.status_code, answer.json)
    if answer.status_code == 422:
        assert "email" in answer.json["error"]["fields"], (email, answer.json)
    return answer.status_code == 201


def _page_checkout(app, shop, email: str) -> bool:
    client = app.test_client()
    add_to_cart(client, shop, "anvil")
    answer = checkout(client, shop, email=email)
    assert answer.status_code in (200, 302), (email, answer.status_code)
    return answer.status_code == 302


SURFACES = {
    "registration (API)": _api_register,
    "registration (page)": _page_register,
    "checkout (API)": _api_checkout,
    "checkout (page)": _page_checkout,
}


@pytest.mark.parametrize("email", TAKEN + REFUSED)
def test_every_surface_takes_and_refuses_the_same_addresses(app, shop, outbox, email):
    verdicts = {name: surface(app, shop, email) for name, surface in SURFACES.items()}
    assert verdicts == dict.fromkeys(SURFACES, email in TAKEN), email


def test_an_order_keeps_the_address_in_its_normal_spelling(app, shop):
    from storefront.orders import services as orders

    assert _api_checkout(app, shop, "Ada@EXAMPLE.com")
    with app.app_context(), tenant_context(shop):
        assert orders.get_order("ACME-1001").email == "Ada@example.com"
