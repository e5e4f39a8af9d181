"""Every shop row names the database (cluster) that holds its rows, and an installation
serves only the shops placed on its own: a shop placed elsewhere, or being moved, is
never bound here — no query of its data runs, pages and the API answer 503."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storefront.extensions import db
from storefront.orders.models import Order
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host
from tests.test_commerce import add_to_cart


def _place(runner, slug: str, database: str):
    return runner.invoke(["place", slug, database])


def test_a_shop_placed_on_another_database_is_not_served_here(
    app, client, runner, make_shop, product
):
    acme, globex = make_shop("acme"), make_shop("globex")
    product(acme, "anvil")
    product(globex, "gear")
    assert client.get("/p/anvil", headers=host(acme)).status_code == 200

    moved = _place(runner, "acme", "eu-2")
    assert moved.exit_code == 0, moved.output
    assert "not served here (this is 'main')" in moved.output

    page = client.get("/p/anvil", headers=host(acme))
    assert page.status_code == 503 and "anvil" not in page.text.lower()
    api = client.get("/api/v1/products", headers={**host(acme), "Accept": "application/json"})
    assert api.status_code == 503 and api.headers["Retry-After"]
    assert api.get_json()["error"]["message"].startswith("This shop is briefly unavailable")
    assert client.get("/p/gear", headers=host(globex)).status_code == 200  # the others stay

    back = _place(runner, "acme", "main")
    assert back.exit_code == 0 and "served here" in back.output
    assert client.get("/p/anvil", headers=host(acme)).status_code == 200


def test_a_checkout_cannot_land_while_its_shop_moves(app, client, runner, make_shop, product):
    """Freeze step of a move: the shop is placed on a name no installation serves; a cart
    filled before cannot become an order here."""
    acme = make_shop("acme")
    product(acme, "anvil")
    add_to_cart(client, acme, "anvil")
    page = client.get("/checkout", headers=host(acme))
    assert page.status_code == 200
    assert _place(runner, "acme", "moving").exit_code == 0
    answer = client.post("/checkout", data={}, headers=host(acme))
    assert answer.status_code == 503
    with app.app_context(), tenant_context(acme):
        assert db.session.scalar(select(func.count()).select_from(Order)) == 0


@pytest.mark.parametrize("name", ["EU", "eu 2", "_x", "a" * 64, "../main", ""])
def test_a_database_name_is_checked(runner, make_shop, name):
    make_shop("acme")
    answer = _place(runner, "acme", name)
    assert answer.exit_code != 0
    assert "is not a database name" in answer.output and "Traceback" not in answer.output
