"""Every listing runs the same number of SQL statements whatever its size: storefront
pages, the dashboard and the API, with products that have pictures, options and
categories, orders with lines, customers with accounts. A listing that loads something
per row (an N+1) fails here before anyone notices it in production."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from storefront.accounts import services as accounts
from storefront.catalog import images, variants
from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host, login, picture
from tests.test_commerce import ADDRESS

OWNER = "owner@example.com"


def fill(app, shop, count: int) -> None:
    """``count`` products (every third with options, every other with a picture, all in a
    category), orders with two lines each, and customers."""
    from storefront.cart.models import Cart, CartItem
    from storefront.orders.checkout import Contact, place_order

    with app.app_context(), tenant_context(shop):
        if catalog.all_categories() == []:
            catalog.create_category("Tools")
        start = len(catalog.admin_products(per_page=1000).items)
        for i in range(start, start + count):
            product = catalog.create_product(
                f"P-{i}", f"Product {i}", 1000 + i, stock=50, categories=["tools"]
            )
            if i % 2:
                images.add_image(product, picture(40, 30, colour=f"#{i % 255:02x}4488"))
            if i % 3 == 0:
                variants.set_options(product, [variants.OptionIn("Size", ("S", "M"))])
                variants.adjust_variant_stock(product, product.variants[1], 5)
            accounts.create_user(f"c{i}@example.com", "correct horse battery", roles=["customer"])
            cart = Cart(token=f"token-for-order-{i:04d}")
            db.session.add(cart)
            db.session.flush()
            first = catalog.product_by_sku("P-0")
            if first.id != product.id and not first.variants:
                cart.items.append(CartItem(product_id=first.id, quantity=1))
            chosen = product.variants[1].id if product.variants else None
            cart.items.append(CartItem(product_id=product.id, variant_id=chosen, quantity=1))
            db.session.flush()
            fields = {k: v for k, v in ADDRESS.items() if k != "payment_method"}
            place_order(cart, Contact(email=f"c{i}@example.com", **fields))
        db.session.commit()


def statements(app, client, path: str, headers: dict[str, str]) -> tuple[int, int]:
    client.get(path, headers=headers)  # warm: settings, keys' last use, compiled templates
    seen: list[str] = []

    def count(*args, **kwargs) -> None:
        seen.append(args[2])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        answer = client.get(path, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert answer.status_code == 200, (path, answer.status_code)
    return len(seen), len(answer.data)


PAGES = [
    ("shopper", "/products?sort=title"),
    ("shopper", "/c/tools"),
    ("shopper", "/search?q=product"),
    ("shopper", "/"),
    ("owner", "/admin/products"),
    ("owner", "/admin/orders"),
    ("owner", "/admin/customers"),
    ("owner", "/admin/"),
    ("api", "/api/v1/products?per_page=100"),
    ("api", "/api/v1/admin/products?limit=100"),
    ("api", "/api/v1/admin/orders?limit=100"),
    ("api", "/api/v1/admin/customers?limit=100"),
]


@pytest.mark.settings(SHOP_PAGE_CACHE=False, PRODUCTS_PER_PAGE=100)
@pytest.mark.parametrize(("who", "path"), PAGES)
def test_a_listing_runs_the_same_statements_for_3_rows_as_for_30(
    app, make_shop, make_user, who, path
):
    from sqlalchemy import select

    from storefront.accounts import tokens
    from storefront.accounts.models import User

    shop = make_shop("acme")
    make_user(shop, OWNER, roles=["owner"])
    client = app.test_client()
    headers = host(shop)
    if who == "owner":
        login(client, shop, OWNER)
    if who == "api":
        with app.app_context(), tenant_context(shop):
            user = db.session.scalar(select(User).where(User.email == OWNER))
            headers = {**headers, "Authorization": f"Bearer {tokens.create_key(user, 'x').secret}"}
            db.session.commit()
    fill(app, shop, 3)
    few, small = statements(app, client, path, headers)
    fill(app, shop, 27)
    many, large = statements(app, client, path, headers)
    assert large > small  # the page did list more
    assert many == few, f"{path}: {few} statements for 3 rows, {many} for 30"
