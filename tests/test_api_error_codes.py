"""Every 409 names its reason in ``error.code``, a value of one enum the document lists
(``problems.Conflict``); the message is for people and may be in the shop's language, the
code is what a client switches on (issue 31). Order statuses are an enum in the document
too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import select

from storefront.accounts import tokens
from storefront.accounts.models import User
from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.orders import services as orders
from storefront.orders.models import STATUSES
from storefront.problems import Conflict, ErrorCode, Refused
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host

PACKAGE = Path(__file__).resolve().parents[1] / "platform" / "storefront"

SETTINGS = """
name = "Codes"
currency = "EUR"
locales = ["en_GB", "fr_FR"]
[payment]
methods = ["bank_transfer"]
[shipping]
[[shipping.zones]]
name = "Europe"
countries = ["DE", "FR"]
rate = 495
"""

ADDRESS = {
    "email": "ada@example.com",
    "name": "Ada",
    "address": "Hauptstr. 1",
    "postal_code": "10115",
    "city": "Berlin",
    "country": "DE",
    "payment_method": "bank_transfer",
}


@pytest.fixture
def shop(app, make_shop):
    shop = make_shop("codes", settings=SETTINGS)
    with app.app_context(), tenant_context(shop):
        catalog.create_category("Tents")
        catalog.create_category("Poles", parent="tents")
        catalog.create_product("T-1", "Tent", 1000, stock=2, categories=["tents"])
        db.session.commit()
    return shop


@pytest.fixture
def staff(app, shop, make_user):
    make_user(shop, "erp@example.com", roles=["staff"])
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == "erp@example.com"))
        secret = tokens.create_key(user, "erp").secret
        db.session.commit()
    return {**host(shop), "Authorization": f"Bearer {secret}"}


def _conflict(answer, code: Conflict) -> None:
    assert answer.status_code == 409, answer.json
    assert answer.json["error"]["code"] == code.value, answer.json


def test_every_409_raised_in_the_package_names_its_code():
    """Read the source: an ``ApiError(409, …)`` without ``code=`` would answer the
    catch-all ``conflict``, which the document no longer lists."""
    missing = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "ApiError"):
                continue
            status = node.args[0] if node.args else None
            named = any(k.arg == "code" for k in node.keywords)
            if isinstance(status, ast.Constant) and status.value == 409 and not named:
                missing.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not missing, missing


def test_every_refusal_class_carries_a_listed_code():
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    import storefront.app  # noqa: F401 - every service module imported

    found = list(subclasses(Refused))
    assert {c.__name__ for c in found} >= {"CartError", "CatalogError", "RefundError"}
    listed = {code.value for code in ErrorCode}
    assert all(str(c.code) in listed for c in found), {c.__name__: c.code for c in found}
    assert "conflict" not in listed


def test_cart_and_checkout_conflicts_have_their_codes(app, shop):
    client = app.test_client(use_cookies=False)
    pid = client.get("/api/v1/products", headers=host(shop)).json["data"][0]["id"]
    _conflict(
        client.post(
            "/api/v1/cart/items", json={"product_id": pid, "quantity": 3}, headers=host(shop)
        ),
        Conflict.SOLD_OUT,
    )
    empty = {**host(shop), "X-Cart-Token": "e" * 24, "Idempotency-Key": "empty-" + "e" * 16}
    _conflict(client.post("/api/v1/checkout", json=ADDRESS, headers=empty), Conflict.CART_EMPTY)

    added = client.post("/api/v1/cart/items", json={"product_id": pid}, headers=host(shop))
    cart = {**host(shop), "X-Cart-Token": added.json["data"]["token"]}
    item = added.json["data"]["items"][0]["id"]
    _conflict(
        client.patch(f"/api/v1/cart/items/{item}", json={"quantity": 5}, headers=cart),
        Conflict.SOLD_OUT,
    )
    checkout = {**cart, "Idempotency-Key": "codes-" + "c" * 16}
    _conflict(
        client.post("/api/v1/checkout", json={**ADDRESS, "country": "US"}, headers=checkout),
        Conflict.NOT_SHIPPED_THERE,
    )
    _conflict(
        client.post(
            "/api/v1/checkout", json={**ADDRESS, "payment_method": "stripe"}, headers=checkout
        ),
        Conflict.PAYMENT_METHOD_NOT_OFFERED,
    )
    _conflict(
        client.post("/api/v1/checkout", json={**ADDRESS, "expected_total": 1}, headers=checkout),
        Conflict.TOTAL_CHANGED,
    )


def test_a_line_gone_from_the_cart_is_a_404_in_any_language(app, shop):
    """The reason was once read from the English message: in French it was a 409."""
    client = app.test_client(use_cookies=False)
    pid = client.get("/api/v1/products", headers=host(shop)).json["data"][0]["id"]
    added = client.post("/api/v1/cart/items", json={"product_id": pid}, headers=host(shop))
    cart = {**host(shop), "X-Cart-Token": added.json["data"]["token"], "Accept-Language": "fr"}
    gone = client.patch("/api/v1/cart/items/999999", json={"quantity": 1}, headers=cart)
    assert gone.status_code == 404 and gone.json["error"]["code"] == "not_found", gone.json


def test_admin_conflicts_have_their_codes(app, shop, staff):
    client = app.test_client()
    product = {"sku": "T-1", "title": "Another tent", "price": 500}
    _conflict(
        client.post("/api/v1/admin/products", json=product, headers=staff), Conflict.SKU_TAKEN
    )
    _conflict(
        client.post(
            "/api/v1/admin/products", json={**product, "sku": "T-2", "slug": "tent"}, headers=staff
        ),
        Conflict.SLUG_TAKEN,
    )
    _conflict(
        client.post(
            "/api/v1/admin/categories", json={"name": "Tents", "slug": "tents"}, headers=staff
        ),
        Conflict.CATEGORY_TAKEN,
    )
    _conflict(
        client.post(
            "/api/v1/admin/categories", json={"name": "Pegs", "parent": "poles"}, headers=staff
        ),
        Conflict.CATEGORY_NESTING,
    )

    shopper = app.test_client(use_cookies=False)
    pid = shopper.get("/api/v1/products", headers=host(shop)).json["data"][0]["id"]
    added = shopper.post("/api/v1/cart/items", json={"product_id": pid}, headers=host(shop))
    cart = {**host(shop), "X-Cart-Token": added.json["data"]["token"]}
    placed = shopper.post(
        "/api/v1/checkout", json=ADDRESS, headers={**cart, "Idempotency-Key": "o" * 20}
    )
    number = placed.json["data"]["order"]["number"]
    _conflict(
        client.patch(f"/api/v1/admin/orders/{number}", json={"status": "delivered"}, headers=staff),
        Conflict.INVALID_TRANSITION,
    )
    refund = {**staff, "Idempotency-Key": "refund-" + "r" * 16}
    url = f"/api/v1/admin/orders/{number}/refunds"
    _conflict(
        client.post(url, json={"amount": 100, "reason": "dented"}, headers=refund),
        Conflict.NOT_REFUNDABLE,
    )
    with app.app_context(), tenant_context(shop):
        orders.set_status(orders.get_order(number), "paid")
        db.session.commit()
    _conflict(
        client.post(
            url,
            json={"amount": 10**6, "reason": "dented"},
            headers={**refund, "Idempotency-Key": "x" * 20},
        ),
        Conflict.REFUND_EXCEEDS_PAID,
    )


def test_the_document_lists_the_codes_and_the_statuses(app, shop):
    document = app.test_client().get("/api/v1/openapi.json", headers=host(shop)).json
    schemas = document["components"]["schemas"]
    assert set(schemas["ErrorCode"]["enum"]) >= {c.value for c in Conflict}
    assert set(schemas["OrderStatus"]["enum"]) == set(STATUSES)
