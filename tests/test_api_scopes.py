"""Every API route declares the scope an API key needs there, and nothing else opens it.

The walk takes every route of the app's URL map under ``/api/`` and calls it with a key
of each single scope, with no credential and with a shopper's login token: a key without
the route's scope gets 403 ``insufficient_scope``, a guest gets 401 where the route
serves none, a shopper's token keeps working where shoppers go. A route that declares
nothing fails the walk. Then the red team's own probes: a ``products:read`` key that
filled a cart, checked out and read ``/api/me``.
"""

from __future__ import annotations

import re

import pytest
from flask import Blueprint, jsonify
from sqlalchemy import func, select

from storefront.accounts import services as accounts
from storefront.accounts import tokens
from storefront.accounts.models import ApiKey, User
from storefront.api.access import declared
from storefront.api.http import init_http
from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host, product_id

OWNER, SHOPPER = "owner@example.com", "ada@example.com"
WRITES = ("POST", "PUT", "PATCH", "DELETE")
CHECKOUT = {
    "email": SHOPPER,
    "name": "Ada Lovelace",
    "address": "1 Analytical Way",
    "city": "London",
    "postal_code": "N1 1AA",
    "country": "DE",
    "payment_method": "bank_transfer",
}


SETTINGS = """
name = "Acme"
[payment]
methods = ["bank_transfer"]
[shipping]
flat_rate = 495
"""


@pytest.fixture
def shop(app, make_shop, make_user):
    acme = make_shop("acme", settings=SETTINGS)
    make_user(acme, OWNER, roles=["owner"])
    make_user(acme, SHOPPER, roles=["customer"])
    with app.app_context(), tenant_context(acme):
        catalog.create_category("Tools")
        catalog.create_product("A-1", "Anvil", 1999, stock=50, categories=["tools"])
        db.session.commit()
    return acme


def _user(email):
    return db.session.scalar(select(User).where(User.email == email))


def key_with(app, shop, *scopes: str) -> dict[str, str]:
    """Headers with a new key of the shop's owner that may do only ``scopes``."""
    with app.app_context(), tenant_context(shop):
        secret = tokens.create_key(_user(OWNER), "+".join(scopes), scopes=list(scopes)).secret
        db.session.commit()
    return {**host(shop), "Authorization": f"Bearer {secret}"}


def login_token(app, shop, email=SHOPPER) -> dict[str, str]:
    with app.app_context(), tenant_context(shop):
        token = _user(email).get_auth_token()
    return {**host(shop), "Authentication-Token": token}


def api_routes(app):
    """(rule, method, access) for every route the app serves under /api/."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, declared(app.view_functions[rule.endpoint])


def undeclared(app) -> list[str]:
    return [f"{method} {rule.rule}" for rule, method, access in api_routes(app) if access is None]


def concrete(rule, known: dict[str, str]) -> str:
    """The rule's path with a plausible value in each of its variables."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "slug":
            return "tools" if "/categories/" in rule.rule else "anvil"
        return known.get(name, "1")

    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", value, rule.rule)


def call(client, method, path, headers):
    extra = {"json": {}} if method in WRITES else {}
    return client.open(path, method=method, headers=headers, **extra)


def insufficient_scope(answer) -> bool:
    return answer.status_code == 403 and answer.json["error"]["code"] == "insufficient_scope"


def test_every_api_route_declares_a_scope_and_every_other_scope_is_refused(app, shop):
    assert undeclared(app) == [], "declare these with @public or @requires_scope(...)"
    keys = {scope: key_with(app, shop, scope) for scope in tokens.SCOPES}
    known = {"product_id": str(product_id(app, shop, "anvil")), "number": "ACME-1001"}
    client = app.test_client()
    wrong: list[str] = []
    walked = 0
    for rule, method, access in api_routes(app):
        path = concrete(rule, known)
        where = f"{method} {rule.rule} (declares {access})"
        walked += 1
        for scope, headers in keys.items():
            answer = call(client, method, path, headers)
            if access.scope in (None, scope):
                if answer.status_code == 401 or insufficient_scope(answer):
                    wrong.append(f"{where}: a {scope} key got {answer.status_code}")
            elif not insufficient_scope(answer):
                wrong.append(f"{where}: a {scope} key got {answer.status_code}, not 403")
        guest = call(client, method, path, host(shop))
        if access.anonymous == (guest.status_code == 401):
            wrong.append(f"{where}: no credential got {guest.status_code}")
        # A token of its own per route: POST /account/logout ends the one it is sent.
        as_shopper = call(client, method, path, login_token(app, shop))
        if access.staff:  # the shop's data: staff only
            if as_shopper.status_code != 403 or insufficient_scope(as_shopper):
                wrong.append(f"{where}: a shopper's token got {as_shopper.status_code}")
        elif as_shopper.status_code in (401, 403):
            wrong.append(f"{where}: a shopper's token got {as_shopper.status_code}")
    assert walked >= 50  # the walk saw the whole API, not an empty map
    assert wrong == []


def test_a_route_without_a_declaration_fails_the_walk_and_is_closed_to_keys(app, shop):
    extra = Blueprint("api_extra", __name__, url_prefix="/api/v1/extra")
    init_http(extra)  # what every API blueprint does

    @extra.get("/forgotten")
    def forgotten():
        return jsonify(data="anything")

    app.register_blueprint(extra)
    assert undeclared(app) == ["GET /api/v1/extra/forgotten"]
    refused = app.test_client().get(
        "/api/v1/extra/forgotten", headers=key_with(app, shop, *tokens.SCOPES)
    )
    assert insufficient_scope(refused)


def test_a_products_read_key_neither_shops_nor_reads_its_owner(app, client, shop):
    """The red team's probe: cart, checkout (201, an order under the owner) and /me."""
    reader = key_with(app, shop, "products:read")
    anvil = product_id(app, shop, "anvil")
    added = client.post("/api/v1/cart/items", json={"product_id": anvil}, headers=reader)
    assert insufficient_scope(added) and "cart:write" in added.json["error"]["message"]
    assert 'scope="cart:write"' in added.headers["WWW-Authenticate"]
    placed = client.post(
        "/api/v1/checkout",
        json=CHECKOUT,
        headers={**reader, "Idempotency-Key": "k" * 20},
    )
    assert insufficient_scope(placed)
    assert insufficient_scope(client.get("/api/me", headers=reader))
    assert insufficient_scope(client.get("/api/v1/cart", headers=reader))
    assert insufficient_scope(client.get("/api/v1/orders", headers=reader))
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    assert client.get("/api/v1/admin/products", headers=reader).status_code == 200


def test_a_key_shops_as_its_owner_only_with_the_shopping_scopes(app, client, shop):
    buyer = key_with(app, shop, "cart:write", "checkout:write", "account:read")
    anvil = product_id(app, shop, "anvil")
    added = client.post("/api/v1/cart/items", json={"product_id": anvil}, headers=buyer)
    assert added.status_code == 201
    placed = client.post(
        "/api/v1/checkout", json=CHECKOUT, headers={**buyer, "Idempotency-Key": "b" * 20}
    )
    assert placed.status_code == 201
    number = placed.json["data"]["order"]["number"]
    assert client.get("/api/me", headers=buyer).json["email"] == OWNER
    mine = client.get("/api/v1/orders", headers=buyer).json["data"]
    assert [o["number"] for o in mine] == [number]
    assert client.get(f"/api/v1/orders/{number}", headers=buyer).status_code == 200
    assert insufficient_scope(client.get("/api/v1/admin/orders", headers=buyer))


def test_a_shoppers_login_token_still_shops(app, client, shop):
    shopper = login_token(app, shop)
    anvil = product_id(app, shop, "anvil")
    assert (
        client.post("/api/v1/cart/items", json={"product_id": anvil}, headers=shopper).status_code
        == 201
    )
    placed = client.post(
        "/api/v1/checkout", json=CHECKOUT, headers={**shopper, "Idempotency-Key": "s" * 20}
    )
    assert placed.status_code == 201
    assert client.get("/api/me", headers=shopper).json["email"] == SHOPPER
    assert len(client.get("/api/v1/orders", headers=shopper).json["data"]) == 1


def test_old_keys_keep_the_shops_data_and_gain_no_shopping(app, client, shop):
    """A key from before scopes (NULL) may do STAFF_SCOPES; a new key by default too."""
    with app.app_context(), tenant_context(shop):
        made = tokens.create_key(_user(OWNER), "default")
        assert made.key.scopes == sorted(tokens.STAFF_SCOPES)
        legacy = tokens.create_key(_user(OWNER), "legacy")
        db.session.flush()
        db.session.query(ApiKey).filter(ApiKey.id == legacy.key.id).update({"scopes": None})
        db.session.commit()
    for secret in (made.secret, legacy.secret):
        headers = {**host(shop), "Authorization": f"Bearer {secret}"}
        assert client.get("/api/v1/admin/orders", headers=headers).status_code == 200
        assert client.get("/api/v1/admin/customers", headers=headers).status_code == 200
        assert insufficient_scope(client.get("/api/v1/cart", headers=headers))
        assert insufficient_scope(client.get("/api/me", headers=headers))


def test_the_document_shows_each_routes_scope(app, client, shop):
    document = client.get("/api/v1/openapi.json", headers=host(shop)).json
    for rule, method, access in api_routes(app):
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        if path not in document["paths"]:
            continue  # /api/ and /api/me live outside the versioned document
        operation = document["paths"][path][method.lower()]
        assert operation["security"] == access.security(), (method, path)
        if access.scope is not None:
            assert "403" in operation["responses"], (method, path)
        if not access.anonymous:
            assert "401" in operation["responses"], (method, path)
    cart = document["paths"]["/api/v1/cart/items"]["post"]["security"]
    assert {"apiKey": ["cart:write"]} in cart and {} in cart


def test_a_bearer_that_is_no_good_key_is_not_rescued_by_a_login_token(app, client, shop):
    """What a client sent is what it is judged by: a bad key beside a good login token is
    a 401, not the token's account (the fuzzer's ignored_auth probe)."""
    shopper = login_token(app, shop)
    for bad in ("not-a-key", "sf_unknown"):
        answer = client.get("/api/v1/orders", headers={**shopper, "Authorization": f"Bearer {bad}"})
        assert answer.status_code == 401 and answer.json["error"]["code"] == "invalid_token"


def test_webhook_subscriptions_need_their_own_scopes_and_the_owners_key(
    app, client, shop, make_user
):
    """An endpoint receives every order: only the owner manages them (the dashboard's
    rule), and a key only with webhooks:* (no default key has them)."""
    writer = key_with(app, shop, "webhooks:write")
    reader = key_with(app, shop, "webhooks:read")
    default = key_with(app, shop, *tokens.STAFF_SCOPES)
    body = {"url": "https://hooks.example.com/in", "events": ["order.paid"]}
    assert insufficient_scope(client.post("/api/v1/admin/webhooks", json=body, headers=default))
    assert insufficient_scope(client.get("/api/v1/admin/webhooks", headers=default))
    assert insufficient_scope(client.post("/api/v1/admin/webhooks", json=body, headers=reader))
    assert client.get("/api/v1/admin/webhooks", headers=reader).status_code == 200
    assert insufficient_scope(client.get("/api/v1/admin/webhooks", headers=writer))
    # A manager's key cannot be given what the manager's role lacks; an owner's key stops
    # reading them once its maker is a manager (its scopes narrowed to the role's).
    make_user(shop, "clerk@example.com", roles=["owner"])
    with app.app_context(), tenant_context(shop):
        clerk = tokens.create_key(_user("clerk@example.com"), "clerk", scopes=["webhooks:read"])
        db.session.commit()
    clerk_key = {**host(shop), "Authorization": f"Bearer {clerk.secret}"}
    assert client.get("/api/v1/admin/webhooks", headers=clerk_key).status_code == 200
    with app.app_context(), tenant_context(shop):
        accounts.revoke("clerk@example.com", "owner")
        accounts.grant("clerk@example.com", "staff")
        db.session.commit()
        with pytest.raises(tokens.TokenError, match="does not allow"):
            tokens.create_key(_user("clerk@example.com"), "x", scopes=["webhooks:read"])
    assert insufficient_scope(client.get("/api/v1/admin/webhooks", headers=clerk_key))
