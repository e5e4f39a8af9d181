"""Order lines name their product and variant by id (issue 31: Shopify's and Saleor's
order lines do), so a client can link a line back to the catalog; null once the product
(or the variant) is gone, never an id that leads nowhere or to another product."""

from __future__ import annotations

from sqlalchemy import select

from storefront.accounts import tokens
from storefront.accounts.models import User
from storefront.catalog import services as catalog
from storefront.catalog import variants
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import API_CHECKOUT, host


def test_order_lines_carry_product_and_variant_ids_until_the_product_goes(
    app, make_shop, make_user
):
    shop = make_shop("acme")
    make_user(shop, "owner@example.com", roles=["owner"])
    with app.app_context(), tenant_context(shop):
        anvil = catalog.create_product("ANVIL", "Anvil", 1000, stock=5)
        shirt = catalog.create_product("SHIRT", "Shirt", 2000, stock=0)
        variants.set_options(shirt, [variants.OptionIn("Size", ("S", "M"))])
        medium = next(v for v in shirt.variants if v.option_values == ["M"])
        variants.adjust_variant_stock(shirt, medium, 3)
        owner = db.session.scalar(select(User).where(User.email == "owner@example.com"))
        secret = tokens.create_key(owner, "erp").secret
        db.session.commit()
        ids = {"anvil": anvil.id, "shirt": shirt.id, "medium": medium.id}
    staff = {**host(shop), "Authorization": f"Bearer {secret}"}
    client = app.test_client(use_cookies=False)
    cart = client.post("/api/v1/cart/items", json={"product_id": ids["anvil"]}, headers=host(shop))
    guest = {**host(shop), "X-Cart-Token": cart.json["data"]["token"]}
    client.post(
        "/api/v1/cart/items",
        json={"product_id": ids["shirt"], "variant_id": ids["medium"]},
        headers=guest,
    )
    placed = client.post(
        "/api/v1/checkout", json=API_CHECKOUT, headers={**guest, "Idempotency-Key": "l" * 20}
    )
    assert placed.status_code == 201, placed.json
    order = placed.json["data"]
    lines = {line["sku"]: line for line in order["order"]["lines"]}
    assert (lines["ANVIL"]["product_id"], lines["ANVIL"]["variant_id"]) == (ids["anvil"], None)
    shirt_line = next(line for sku, line in lines.items() if sku != "ANVIL")
    assert (shirt_line["product_id"], shirt_line["variant_id"]) == (ids["shirt"], ids["medium"])

    number, key = order["order"]["number"], order["order_key"]
    assert client.delete(f"/api/v1/admin/products/{ids['shirt']}", headers=staff).status_code == 204
    for answer in (
        client.get(f"/api/v1/orders/{number}", headers={**host(shop), "X-Order-Key": key}),
        client.get(f"/api/v1/admin/orders/{number}", headers=staff),
    ):
        lines = {line["sku"]: line for line in answer.json["data"]["lines"]}
        gone = next(line for sku, line in lines.items() if sku != "ANVIL")
        assert (gone["product_id"], gone["variant_id"]) == (None, None)
        assert gone["title"] == "Shirt" and gone["quantity"] == 1  # the line itself stays
        assert lines["ANVIL"]["product_id"] == ids["anvil"]
    listed = client.get("/api/v1/admin/orders", headers=staff).json["data"][0]["lines"]
    assert sorted(str(line["product_id"]) for line in listed) == sorted([str(ids["anvil"]), "None"])
