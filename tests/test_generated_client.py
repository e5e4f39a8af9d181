"""The document seen from the other side (issue 31): openapi-python-client generates a
typed client from /api/v1/openapi.json, and a headless journey runs through that client
only, with strict status checking (an answer the document does not list raises):
catalog, a conditional read (304), cart, checkout, a card payment cancelled and started
again, the order, and an integration's writes (product, If-Match, picture upload,
shipping). The generator must not skip an operation."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from storefront.accounts import tokens
from storefront.accounts.models import User
from storefront.extensions import db
from tests import test_stripe as card
from tests.fixtures.factories import picture, tenant_folder

shop = card.shop  # Acme: Stripe (the local fake) and bank transfer, an anvil in stock
stripe_fake = card.stripe_fake

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
# The generator writes a file body only for the types it knows; the picture upload's
# image/* are the same bytes to it (the server reads the format from them).
CONFIG = {
    "post_hooks": [],
    "package_name_override": "shop_client",
    "project_name_override": "shop-client",
    "content_type_overrides": {
        kind: "application/octet-stream"
        for kind in ("image/png", "image/jpeg", "image/gif", "image/webp", "image/avif")
    },
}


@pytest.fixture
def generated(app, shop, tmp_path, monkeypatch):
    """The client package, generated from the shop's own document."""
    document = app.test_client().get("/api/v1/openapi.json", headers={"Host": "acme.test"}).json
    (tmp_path / "openapi.json").write_text(json.dumps(document))
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    run = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(tmp_path / "openapi.json"),
            "--output-path",
            str(tmp_path / "shop_client"),
            "--meta",
            "none",
            "--config",
            str(tmp_path / "config.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "shop_client" or m.startswith("shop_client.")]:
        del sys.modules[name]  # another test's generation
    yield lambda name: importlib.import_module(f"shop_client.{name}")
    for name in [m for m in sys.modules if m == "shop_client" or m.startswith("shop_client.")]:
        del sys.modules[name]


def _client(generated, app, **auth: str) -> Any:
    """A generated client speaking to the app in-process (WSGI), as acme.test."""
    module = generated("client")
    http = httpx.Client(
        transport=httpx.WSGITransport(app=app),
        base_url="http://acme.test",
        headers={k: v for k, v in auth.items() if k != "token"},
    )
    kind = module.AuthenticatedClient if "token" in auth else module.Client
    extra = {"token": auth["token"]} if "token" in auth else {}
    client = kind(base_url="http://acme.test", raise_on_unexpected_status=True, **extra)
    client.set_httpx_client(http)
    if "token" in auth:  # the generated client adds Authorization itself
        http.headers["Authorization"] = f"Bearer {auth['token']}"
    return client


def _staff_key(app, shop, make_user) -> str:
    make_user(shop, "erp@example.com", roles=["owner"])
    with app.app_context(), card.tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == "erp@example.com"))
        secret = tokens.create_key(
            user, "erp", scopes=["products:read", "products:write", "orders:read", "orders:write"]
        ).secret
        db.session.commit()
    return secret


def test_a_generated_client_walks_the_whole_journey(app, shop, stripe_fake, generated, make_user):
    stripe_fake.deliver_to(card.WEBHOOK_SECRET, card.deliver_into(app, shop))
    guest = _client(generated, app)
    catalog = generated("api.catalog.list_products")
    one = generated("api.catalog.get_product")
    listed = catalog.sync_detailed(client=guest)
    assert listed.status_code == 200
    anvil = listed.parsed.data[0]
    product = one.sync_detailed(anvil.slug, client=guest)
    etag = product.headers["ETag"]
    # A conditional read: the document lists 304, so the client hands it back.
    again = one.sync_detailed(anvil.slug, client=guest, if_none_match=etag)
    assert again.status_code == 304 and again.headers["ETag"] == etag

    # The cart, by its token.
    cart_item = generated("models.cart_item_in").CartItemIn(product_id=anvil.id, quantity=1)
    added = generated("api.cart.add_cart_item").sync_detailed(client=guest, body=cart_item)
    assert added.status_code == 201
    token = added.parsed.data.token
    cart = generated("api.cart.get_cart").sync_detailed(client=guest, x_cart_token=token)
    assert cart.parsed.data.count == 1

    # Checkout with a card: Stripe's page is left with Cancel; the order pays again.
    checkout_in = generated("models.checkout_in").CheckoutIn.from_dict(
        {
            "email": "ada@example.com",
            "name": "Ada Shopper",
            "address": "1 Main Street",
            "postal_code": "12345",
            "city": "Springfield",
            "country": "US",
            "payment_method": "stripe",
        }
    )
    placed = generated("api.checkout.checkout").sync_detailed(
        client=guest, body=checkout_in, x_cart_token=token, idempotency_key="g" * 24
    )
    assert placed.status_code == 201
    number = placed.parsed.data.order.number
    order_key = placed.parsed.data.order_key
    first_session = placed.parsed.data.payment.redirect_url.rsplit("/", 1)[1]
    pay = generated("api.orders.pay_order_again")
    retry_in = generated("models.payment_retry_in").PaymentRetryIn.from_dict({})
    restarted = pay.sync_detailed(number, client=guest, body=retry_in, x_order_key=order_key)
    assert restarted.status_code == 200
    session = restarted.parsed.data.payment.redirect_url.rsplit("/", 1)[1]
    assert session != first_session
    stripe_fake.complete(session)
    assert card.wait_for(lambda: card.status_of(app, shop, number) == "paid")
    seen = generated("api.orders.get_order").sync_detailed(
        number, client=guest, x_order_key=order_key
    )
    assert seen.parsed.data.status.value == "paid"

    # An integration with a key: a product, changed under If-Match, a picture, a shipment.
    staff = _client(generated, app, token=_staff_key(app, shop, make_user))
    product_in = generated("models.product_in").ProductIn.from_dict(
        {"sku": "GEN-1", "title": "Generated", "price": 1234, "stock": 3}
    )
    created = generated("api.admin_catalog.create_product").sync_detailed(
        client=staff, body=product_in
    )
    assert created.status_code == 201
    pid = created.parsed.data.id
    read = generated("api.admin_catalog.get_admin_product").sync_detailed(pid, client=staff)
    patch = generated("models.product_patch").ProductPatch.from_dict({"price": 1500})
    update = generated("api.admin_catalog.update_product")
    changed = update.sync_detailed(pid, client=staff, body=patch, if_match=read.headers["ETag"])
    assert changed.status_code == 200 and changed.parsed.data.price.amount == 1500
    stale = update.sync_detailed(pid, client=staff, body=patch, if_match=read.headers["ETag"])
    assert stale.status_code == 412 and stale.parsed.error.code.value == "precondition_failed"
    file = generated("types").File(payload=__import__("io").BytesIO(picture()), file_name="a.png")
    uploaded = generated("api.admin_catalog.upload_product_image").sync_detailed(
        pid, client=staff, body=file, alt="A generated anvil"
    )
    assert uploaded.status_code == 201, uploaded.content
    assert len(uploaded.parsed.data.images) == 1
    shipment = generated("models.shipment_in").ShipmentIn.from_dict(
        {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"}
    )
    shipped = generated("api.admin_orders.ship_order").sync_detailed(
        number, client=staff, body=shipment
    )
    assert shipped.status_code == 200 and shipped.parsed.data.status.value == "shipped"
    assert tenant_folder(app, "acme").exists()
