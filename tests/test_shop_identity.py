"""A deleted shop never comes back: not its id, its cached pages, nor its shoppers' sessions."""

from __future__ import annotations

from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host
from tests.test_commerce import add_to_cart, checkout


def stock_shop(app, shop, title):
    with app.app_context(), tenant_context(shop):
        catalog.create_product("SKU-1", title, 1999, stock=10, slug="thing", featured=True)
        db.session.commit()


def test_a_new_shop_never_gets_a_deleted_shops_id_cache_or_sessions(app, runner, make_shop):
    old = make_shop("acme")
    stock_shop(app, old, "OLD THING")
    guest = app.test_client()
    add_to_cart(guest, old, "thing")
    assert checkout(guest, old).status_code == 302  # ACME-1001, remembered in the session
    visitor = app.test_client()
    assert "OLD THING" in visitor.get("/", headers=host(old)).text  # cached now
    assert "OLD THING" in visitor.get("/products", headers=host(old)).text

    deleted = runner.invoke(["delete", "acme", "--yes", "--no-export"])
    assert deleted.exit_code == 0, deleted.output

    new = make_shop("acme")  # same slug, same domain
    assert new.id > old.id
    assert new.uid != old.uid
    stock_shop(app, new, "NEW THING")
    other_guest = app.test_client()
    add_to_cart(other_guest, new, "thing")
    assert checkout(other_guest, new, email="someone@example.com").status_code == 302

    for path in ("/", "/products"):
        page = visitor.get(path, headers=host(new)).text
        assert "OLD THING" not in page and "NEW THING" in page, path
    # The old guest's session named ACME-1001; at the new shop it is nobody's session.
    assert guest.get("/orders/ACME-1001", headers=host(new)).status_code == 404
    assert other_guest.get("/orders/ACME-1001", headers=host(new)).status_code == 200


def test_shop_ids_only_grow_even_after_the_newest_shop_is_deleted(app, runner, make_shop):
    make_shop("first")
    second = make_shop("second")
    assert runner.invoke(["delete", "second", "--yes", "--no-export"]).exit_code == 0
    third = make_shop("third")
    assert third.id > second.id
