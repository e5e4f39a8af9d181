"""/api/v1: per shop, paginated, one error shape, staff token writes, and an OpenAPI
document that describes every route."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from storefront.accounts.models import User
from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host, login


@pytest.fixture
def shops(app, two_shops):
    acme, globex = two_shops
    for shop, prefix in ((acme, "Anvil"), (globex, "Tent")):
        with app.app_context(), tenant_context(shop):
            catalog.create_category("Tools")
            for i in range(25):
                catalog.create_product(
                    f"{prefix}-{i}",
                    f"{prefix} {i}",
                    100 + i,
                    stock=5,
                    categories=["tools"] if i < 3 else [],
                )
            db.session.commit()
    return acme, globex


def token_for(app, shop, make_user, email="staff@example.com", roles=("staff",)):
    make_user(shop, email, roles=list(roles))
    with app.app_context(), tenant_context(shop):
        return db.session.scalar(select(User).where(User.email == email)).get_auth_token()


def test_products_are_per_shop_and_paginated(client, shops):
    acme, globex = shops
    body = client.get("/api/v1/products?per_page=10&page=3", headers=host(acme)).json
    assert body["meta"] == {"page": 3, "per_page": 10, "total": 25, "pages": 3}
    assert len(body["data"]) == 5
    assert all(p["title"].startswith("Anvil") for p in body["data"])
    product = client.get("/api/v1/products/anvil-1", headers=host(acme)).json["data"]
    assert product["price"] == {"amount": 101, "currency": "USD", "display": "$1.01"}
    assert client.get("/api/v1/products/anvil-1", headers=host(globex)).status_code == 404
    search = client.get("/api/v1/products?q=tent", headers=host(acme)).json
    assert search["meta"]["total"] == 0 and search["data"] == []
    tools = client.get("/api/v1/products?category=tools", headers=host(acme)).json
    assert tools["meta"]["total"] == 3
    cats = client.get("/api/v1/categories", headers=host(acme)).json["data"]
    assert cats == [{"slug": "tools", "name": "Tools", "children": []}]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/products?page=0", 400),
        ("/api/v1/products?per_page=1000", 400),
        ("/api/v1/products?page=abc", 400),
        ("/api/v1/products?sort=evil", 400),
        ("/api/v1/products?category=nope", 404),
        ("/api/v1/products/nope", 404),
        ("/api/v1/nothing-here", 404),
        ("/api/v1/orders", 401),
    ],
)
def test_errors_have_one_shape(client, shops, path, status):
    response = client.get(path, headers=host(shops[0]))
    assert response.status_code == status
    assert set(response.json["error"]) >= {"code", "message"}


def test_cart_through_the_api(client, shops):
    acme, globex = shops
    first = client.get("/api/v1/products?per_page=1", headers=host(acme)).json["data"][0]
    added = client.post(
        "/api/v1/cart/items", json={"product_id": first["id"], "quantity": 2}, headers=host(acme)
    )
    assert added.status_code == 201
    cart = added.json["data"]
    assert cart["count"] == 2 and cart["subtotal"]["amount"] == first["price"]["amount"] * 2
    item = cart["items"][0]["id"]
    assert (
        client.patch(f"/api/v1/cart/items/{item}", json={"quantity": 1}, headers=host(acme)).json[
            "data"
        ]["count"]
        == 1
    )
    too_many = client.post(
        "/api/v1/cart/items", json={"product_id": first["id"], "quantity": 9}, headers=host(acme)
    )
    assert too_many.status_code == 409 and "left in stock" in too_many.json["error"]["message"]
    bad = client.post("/api/v1/cart/items", json={"product_id": "x"}, headers=host(acme))
    assert bad.status_code == 422 and "product_id" in bad.json["error"]["fields"]
    form = client.post("/api/v1/cart/items", data={"product_id": first["id"]}, headers=host(acme))
    assert form.status_code == 415  # a cross-site form cannot write to the cart
    # Another shop's product id is "not available" here; the cart stays this shop's.
    tent = client.get("/api/v1/products?per_page=1", headers=host(globex)).json["data"][0]
    assert (
        client.post(
            "/api/v1/cart/items", json={"product_id": tent["id"]}, headers=host(acme)
        ).status_code
        == 409
    )
    assert client.get("/api/v1/cart", headers=host(globex)).json["data"]["count"] == 0
    assert (
        client.delete(f"/api/v1/cart/items/{item}", headers=host(acme)).json["data"]["count"] == 0
    )
    assert client.delete(f"/api/v1/cart/items/{item}", headers=host(acme)).status_code == 404


def test_staff_token_writes_products_customers_and_other_shops_cannot(
    app, client, shops, make_user
):
    acme, globex = shops
    token = token_for(app, acme, make_user)
    auth = {**host(acme), "Authentication-Token": token}
    created = client.post(
        "/api/v1/products",
        json={"sku": "N-1", "title": "New thing", "price": 999, "categories": ["tools"]},
        headers=auth,
    )
    assert created.status_code == 201, created.json
    assert created.json["data"]["slug"] == "new-thing"
    patched = client.patch(
        "/api/v1/products/new-thing", json={"stock": 7, "price": 1000}, headers=auth
    )
    assert patched.json["data"]["stock"] == 7 and patched.json["data"]["price"]["amount"] == 1000
    dup = client.post(
        "/api/v1/products", json={"sku": "N-1", "title": "Again", "price": 1}, headers=auth
    )
    assert dup.status_code == 409
    unknown = client.post(
        "/api/v1/products",
        json={"sku": "N-2", "title": "X", "price": 1, "colour": "red"},
        headers=auth,
    )
    assert unknown.status_code == 422 and "colour" in unknown.json["error"]["fields"]

    no_such = client.post(
        "/api/v1/products",
        json={"sku": "N-3", "title": "Y", "price": 1, "categories": ["nope"]},
        headers=auth,
    )
    assert no_such.status_code == 422 and "categories" in no_such.json["error"]["fields"]

    anonymous = client.post(
        "/api/v1/products", json={"sku": "Z", "title": "Z", "price": 1}, headers=host(acme)
    )
    assert anonymous.status_code == 401
    elsewhere = client.post(
        "/api/v1/products",
        json={"sku": "Z", "title": "Z", "price": 1},
        headers={**host(globex), "Authentication-Token": token},
    )
    assert elsewhere.status_code == 401
    shopper = token_for(app, acme, make_user, "shopper@example.com", roles=("customer",))
    forbidden = client.post(
        "/api/v1/products",
        json={"sku": "Z", "title": "Z", "price": 1},
        headers={**host(acme), "Authentication-Token": shopper},
    )
    assert forbidden.status_code == 403 and forbidden.json["error"]["code"] == "forbidden"


def test_orders_are_the_shoppers_own(app, shops, make_user):
    from tests.test_commerce import add_to_cart, checkout

    acme, _ = shops
    make_user(acme, "ada@example.com")
    make_user(acme, "bob@example.com")
    ada = app.test_client()
    login(ada, acme, "ada@example.com")
    add_to_cart(ada, acme, "anvil-1")
    checkout(ada, acme, email="ada@example.com")
    mine = ada.get("/api/v1/orders", headers=host(acme)).json
    assert [o["number"] for o in mine["data"]] == ["ACME-1001"]
    assert ada.get("/api/v1/orders/ACME-1001", headers=host(acme)).json["data"]["total"] > 0
    bob = app.test_client()
    login(bob, acme, "bob@example.com")
    assert bob.get("/api/v1/orders", headers=host(acme)).json["data"] == []
    assert bob.get("/api/v1/orders/ACME-1001", headers=host(acme)).status_code == 404


def test_openapi_describes_every_route_and_only_those(app, client, shops):
    document = client.get("/api/v1/openapi.json", headers=host(shops[0])).json
    assert document["openapi"].startswith("3.")
    described = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.not_found":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == described
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                assert operation["responses"], (path, method)
