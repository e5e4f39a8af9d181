"""An Idempotency-Key names one request: the same key and body again is a replay
(``Idempotent-Replayed: true``, the first result, nothing made twice); the same key with
another body is refused with 422 ``idempotency_key_reused``, for checkouts and refunds."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.idempotency import fingerprint
from storefront.orders import services as orders
from storefront.orders.models import Order
from storefront.orders.refunds import Refund
from storefront.tenancy import tenant_context
from tests.fixtures.factories import API_CHECKOUT as ADDRESS
from tests.fixtures.factories import host
from tests.test_api import api_key


@pytest.fixture
def shop(app, make_shop):
    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        catalog.create_product("A-1", "Anvil", 1000, stock=10, slug="anvil")
        db.session.commit()
    return shop


def _count(app, shop, model):
    with app.app_context(), tenant_context(shop):
        return db.session.scalar(select(func.count()).select_from(model))


def _guest_with_a_cart(app, shop):
    client = app.test_client(use_cookies=False)
    product_id = client.get("/api/v1/products/anvil", headers=host(shop)).json["data"]["id"]
    token = client.post(
        "/api/v1/cart/items", json={"product_id": product_id, "quantity": 1}, headers=host(shop)
    ).json["data"]["token"]
    return client, {**host(shop), "X-Cart-Token": token}


def test_the_fingerprint_is_the_request_however_its_body_is_spelt():
    assert fingerprint("post", "/a", {"x": 1, "y": [1, "é"]}) == fingerprint(
        "POST", "/a", json.loads('{ "y" : [1, "\\u00e9"],\n "x": 1 }')
    )
    assert fingerprint("POST", "/a", {"x": 1}) != fingerprint("POST", "/a", {"x": 2})
    assert fingerprint("POST", "/a", {"x": 1}) != fingerprint("POST", "/b", {"x": 1})


def test_a_checkout_key_sent_again_with_another_body_is_refused(app, shop):
    client, cart = _guest_with_a_cart(app, shop)
    headers = {**cart, "Idempotency-Key": "checkout-" + "k" * 16}
    first = client.post("/api/v1/checkout", json=ADDRESS, headers=headers)
    assert first.status_code == 201, first.json
    assert "Idempotent-Replayed" not in first.headers
    number = first.json["data"]["order"]["number"]

    # The attack as a client makes it: a key kept from an earlier checkout, another order.
    other = client.post(
        "/api/v1/checkout", json={**ADDRESS, "email": "eve@example.com"}, headers=headers
    )
    assert other.status_code == 422, other.json
    assert other.json["error"]["code"] == "idempotency_key_reused"
    assert "Idempotent-Replayed" not in other.headers

    # The same request spelt another way (key order, spaces) is the same request: a replay.
    respelt = json.dumps(dict(reversed(ADDRESS.items())), indent=2)
    again = client.post(
        "/api/v1/checkout",
        data=respelt,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["data"]["order"]["number"] == number
    assert _count(app, shop, Order) == 1
    with app.app_context(), tenant_context(shop):
        assert orders.get_order(number).email == "ada@example.com"


@pytest.fixture
def paid_order(app, shop):
    client, cart = _guest_with_a_cart(app, shop)
    placed = client.post(
        "/api/v1/checkout", json=ADDRESS, headers={**cart, "Idempotency-Key": "p" * 20}
    )
    number = placed.json["data"]["order"]["number"]
    with app.app_context(), tenant_context(shop):
        orders.set_status(orders.get_order(number), "paid")
        db.session.commit()
    return number


def test_a_refund_key_sent_again_is_a_replay_and_with_another_body_refused(
    app, shop, make_user, paid_order
):
    client = app.test_client()
    staff = {
        **host(shop),
        "Authorization": f"Bearer {api_key(app, shop, make_user)}",
        "Idempotency-Key": "refund-" + "r" * 16,
    }
    url = f"/api/v1/admin/orders/{paid_order}/refunds"
    first = client.post(url, json={"amount": 100, "reason": "dented"}, headers=staff)
    assert first.status_code == 201, first.json
    assert "Idempotent-Replayed" not in first.headers

    again = client.post(url, json={"amount": 100, "reason": "dented"}, headers=staff)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json["data"]["id"] == first.json["data"]["id"]

    more = client.post(url, json={"amount": 900, "reason": "dented"}, headers=staff)
    assert more.status_code == 422, more.json
    assert more.json["error"]["code"] == "idempotency_key_reused"
    assert _count(app, shop, Refund) == 1
    with app.app_context(), tenant_context(shop):
        assert orders.refunded_total(orders.get_order(paid_order)) == 100
