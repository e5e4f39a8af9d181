"""/api/v1: per shop, paginated, one error shape, staff token writes, and an OpenAPI
document that describes every route."""

from __future__ import annotations

import csv
import re

import pytest
from sqlalchemy import select

from storefront.accounts.models import User
from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host, login, product_id


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


def api_key(app, shop, make_user, email="staff@example.com") -> str:
    """A staff account's API key (what integrations send as Authorization: Bearer)."""
    from storefront.accounts import tokens

    make_user(shop, email, roles=["staff"])
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == email))
        secret = tokens.create_key(user, "tests").secret
        db.session.commit()
        return secret


def test_products_are_per_shop_and_paginated(client, shops):
    acme, globex = shops
    body = client.get("/api/v1/products?per_page=10&page=3", headers=host(acme)).json
    meta = body["meta"]
    assert meta == {"page": 3, "per_page": 10, "total": 25, "pages": 3} | {
        "next_cursor": None,  # the last page; the cursors go on from it by cursor
        "prev_cursor": meta["prev_cursor"],
    }
    assert meta["prev_cursor"].startswith("nb.")
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
        "/api/v1/admin/products",
        json={"sku": "N-1", "title": "New thing", "price": 999, "categories": ["tools"]},
        headers=auth,
    )
    assert created.status_code == 201, created.json
    assert created.json["data"]["slug"] == "new-thing"
    patched = client.patch(
        f"/api/v1/admin/products/{created.json['data']['id']}",
        json={"stock": 7, "price": 1000},
        headers=auth,
    )
    assert patched.json["data"]["stock"] == 7 and patched.json["data"]["price"]["amount"] == 1000
    dup = client.post(
        "/api/v1/admin/products", json={"sku": "N-1", "title": "Again", "price": 1}, headers=auth
    )
    assert dup.status_code == 409
    unknown = client.post(
        "/api/v1/admin/products",
        json={"sku": "N-2", "title": "X", "price": 1, "colour": "red"},
        headers=auth,
    )
    assert unknown.status_code == 422 and "colour" in unknown.json["error"]["fields"]

    no_such = client.post(
        "/api/v1/admin/products",
        json={"sku": "N-3", "title": "Y", "price": 1, "categories": ["nope"]},
        headers=auth,
    )
    assert no_such.status_code == 409 and "categories" in no_such.json["error"]["fields"]

    anonymous = client.post(
        "/api/v1/admin/products", json={"sku": "Z", "title": "Z", "price": 1}, headers=host(acme)
    )
    assert anonymous.status_code == 401
    elsewhere = client.post(
        "/api/v1/admin/products",
        json={"sku": "Z", "title": "Z", "price": 1},
        headers={**host(globex), "Authentication-Token": token},
    )
    assert elsewhere.status_code == 401
    shopper = token_for(app, acme, make_user, "shopper@example.com", roles=("customer",))
    forbidden = client.post(
        "/api/v1/admin/products",
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
    total = ada.get("/api/v1/orders/ACME-1001", headers=host(acme)).json["data"]["totals"]["total"]
    assert total["amount"] > 0 and total["currency"] == "USD"
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


def test_the_documents_schemas_are_the_models_and_answers_match_them(app, client, shops):
    from storefront.api import schemas

    acme, _ = shops
    document = client.get("/api/v1/openapi.json", headers=host(acme)).json
    components = document["components"]["schemas"]
    product_in = components["ProductIn"]
    assert set(product_in["required"]) == {"sku", "title", "price"}
    assert product_in["properties"]["sku"]["maxLength"] == 64
    assert product_in["properties"]["stock"]["maximum"] == 1_000_000
    assert product_in["properties"]["description"]["maxLength"] == 20_000
    cart_items = components["Cart"]["properties"]["items"]["items"]
    assert cart_items == {"$ref": "#/components/schemas/CartLine"}
    assert components["Order"]["properties"]["lines"]["items"]["$ref"].endswith("/OrderLine")
    listing = client.get("/api/v1/products?per_page=3", headers=host(acme)).json
    schemas.PageMeta.model_validate(listing["meta"])
    for item in listing["data"]:
        schemas.Product.model_validate(item)
    for node in client.get("/api/v1/categories", headers=host(acme)).json["data"]:
        schemas.Category.model_validate(node)
    schemas.Cart.model_validate(client.get("/api/v1/cart", headers=host(acme)).json["data"])
    schemas.Error.model_validate(client.get("/api/v1/products/nope", headers=host(acme)).json)


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("stock", "2000000", "stock"),
        ("description", "x" * 20_001, "description"),
        ("image_url", "https://cdn.example/" + "x" * 500, "image_url"),
        ("title", "t" * 201, "title"),
    ],
)
def test_csv_api_and_dashboard_share_the_products_rules(
    app, client, runner, shops, make_user, tmp_path, column, value, field
):
    """One schema: what the API refuses, the CSV import and the dashboard refuse too."""
    acme, _ = shops
    auth = {**host(acme), "Authorization": f"Bearer {api_key(app, acme, make_user)}"}
    api_value = int(value) if column == "stock" else value
    answer = client.patch(
        f"/api/v1/admin/products/{product_id(app, acme, 'anvil-1')}",
        json={field: api_value},
        headers=auth,
    )
    assert answer.status_code == 422 and field in answer.json["error"]["fields"]
    csv_file = tmp_path / "rows.csv"
    with csv_file.open("w", newline="") as handle:
        csv.writer(handle).writerows(
            [["sku", "title", "price", column], ["S1", "T", "1.00", value]]
        )
    if column == "title":
        csv_file.write_text(f"sku,title,price\nS1,{value},1.00\n")
    result = runner.invoke(["catalog", "import", "acme", str(csv_file)])
    assert result.exit_code == 1 and field in result.output, result.output


def test_http_semantics_405_allow_options_and_json_for_every_refusal(app, client, shops, runner):
    acme, globex = shops
    wrong = client.delete("/api/v1/admin/products", headers=host(acme))
    assert wrong.status_code == 405
    assert wrong.json["error"]["code"] == "method_not_allowed"
    assert set(wrong.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert "DELETE" not in wrong.headers["Allow"]
    options = client.options("/api/v1/admin/products", headers=host(acme))
    assert set(options.headers["Allow"].replace(" ", "").split(",")) == {
        "GET",
        "HEAD",
        "OPTIONS",
        "POST",
    }
    missing = client.get("/api/v1/nope", headers=host(acme))
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    unknown = client.get("/api/v1/products", headers={"Host": "nobody.test"})
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "not_found"
    assert runner.invoke(["suspend", "globex", "--reason", "unpaid"]).exit_code == 0
    closed = client.get("/api/v1/products", headers=host(globex))
    assert closed.status_code == 503 and closed.json["error"]["code"] == "unavailable"
    assert closed.headers["Retry-After"] == "60"
    anonymous = client.post("/api/v1/admin/products", json={"sku": "x"}, headers=host(acme))
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
