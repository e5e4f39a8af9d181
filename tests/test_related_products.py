"""Related products on a product page: bought together (pairs counted when an order is
paid, capped per order), else the newest of its category; never the order book."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from storefront.catalog import related
from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.catalog.related import ProductPair
from storefront.extensions import db
from storefront.orders import aggregates
from storefront.orders import services as orders
from storefront.orders.checkout import next_order_number
from storefront.orders.models import Order, OrderLine
from storefront.tenancy import tenant_context
from tests import plans
from tests.fixtures.factories import host

pytestmark = pytest.mark.settings(SHOP_PAGE_CACHE=False)


def ids(*slugs: str) -> list[int]:
    return [db.session.scalar(select(Product.id).where(Product.slug == s)) for s in slugs]


def order_of(*slugs: str) -> Order:
    """A placed order (awaiting payment) of one unit of each product."""
    lines = []
    for product_id, slug in zip(ids(*slugs), slugs, strict=True):
        lines.append(
            OrderLine(
                product_id=product_id,
                sku=f"SKU-{slug}",
                title=slug.title(),
                unit_price=100,
                quantity=1,
                line_total=100,
            )
        )
    order = Order(
        number=next_order_number(),
        email="ada@example.com",
        name="Ada",
        address="1 Main St",
        postal_code="12345",
        city="Springfield",
        country="US",
        shipping_label="Standard",
        shipping=0,
        subtotal=100 * len(lines),
        total=100 * len(lines),
        currency="USD",
        payment_method="bank_transfer",
        lines=lines,
    )
    db.session.add(order)
    db.session.flush()
    aggregates.count_placed(order)
    return order


def paid(*slugs: str) -> Order:
    order = order_of(*slugs)
    orders.set_status(order, "paid", notify=False)
    return order


def pairs() -> dict[tuple[int, int], int]:
    return {(p.product_id, p.other_id): p.times for p in db.session.scalars(select(ProductPair))}


def shown(client, shop, slug: str) -> list[str]:
    page = client.get(f"/p/{slug}", headers=host(shop)).text
    if "related-products" not in page:
        return []
    section = page.split('class="related-products"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<h3 class="product-title">([^<]+)</h3>', section)


@pytest.fixture
def shop(app, make_shop):
    acme = make_shop("acme")
    with app.app_context(), tenant_context(acme):
        catalog.create_category("Tools", "tools")
        catalog.create_category("Garden", "garden")
        for slug in ("anvil", "hammer", "rope", "tongs", "bucket"):
            category = "garden" if slug == "bucket" else "tools"
            catalog.create_product(
                f"SKU-{slug}", slug.title(), 100, stock=50, slug=slug, categories=[category]
            )
        db.session.commit()
    return acme


def test_products_bought_together_come_first_most_often_first(app, client, shop):
    with app.app_context(), tenant_context(shop):
        order_of("anvil", "bucket")  # placed, never paid: counts for nothing
        assert pairs() == {}
        paid("anvil", "hammer")
        paid("anvil", "hammer", "bucket")
        paid("anvil", "bucket", "hammer")
        paid("anvil", "rope")
        db.session.commit()
        anvil, hammer, bucket = ids("anvil", "hammer", "bucket")
        assert pairs()[(anvil, hammer)] == 3 and pairs()[(hammer, anvil)] == 3
        assert pairs()[(anvil, bucket)] == 2
    # Bucket is in another category: it is there because it was bought with anvils.
    assert shown(client, shop, "anvil") == ["Hammer", "Bucket", "Rope", "Tongs"]
    # A tie (bought with bucket twice each): the newer product first.
    assert shown(client, shop, "bucket")[:2] == ["Hammer", "Anvil"]


def test_a_cancelled_sale_takes_its_pairs_back(app, shop):
    with app.app_context(), tenant_context(shop):
        order = paid("anvil", "tongs")
        paid("anvil", "tongs")
        orders.set_status(order, "cancelled", notify=False)
        db.session.commit()
        anvil, tongs = ids("anvil", "tongs")
        assert pairs()[(anvil, tongs)] == 1


def test_a_huge_order_adds_a_bounded_number_of_pairs(app, shop):
    with app.app_context(), tenant_context(shop):
        slugs = [f"bulk-{n}" for n in range(related.ORDER_LINES + 15)]
        for slug in slugs:
            catalog.create_product(f"SKU-{slug}", slug, 100, stock=5, slug=slug)
        db.session.flush()
        paid(*slugs)
        db.session.commit()
        cap = related.ORDER_LINES * (related.ORDER_LINES - 1)
        assert db.session.scalar(select(func.count()).select_from(ProductPair)) == cap


def test_without_pairs_the_newest_of_its_category_and_never_a_hidden_one(app, client, shop):
    with app.app_context(), tenant_context(shop):
        tongs = db.session.scalar(select(Product).where(Product.slug == "tongs"))
        tongs.active = False
        db.session.commit()
    assert shown(client, shop, "anvil") == ["Rope", "Hammer"]  # newest first, no tongs
    assert shown(client, shop, "bucket") == []  # alone in its category, never bought


def test_a_shop_sees_only_its_own_pairs(app, client, shop, make_shop):
    globex = make_shop("globex")
    with app.app_context(), tenant_context(globex):
        for slug in ("anvil", "kite"):
            catalog.create_product(f"SKU-{slug}", slug.title(), 100, stock=5, slug=slug)
        paid("anvil", "kite")
        db.session.commit()
    with app.app_context(), tenant_context(shop):
        assert pairs() == {}
    assert "Kite" not in shown(client, shop, "anvil")
    assert shown(client, globex, "anvil") == ["Kite"]


def test_the_product_page_reads_pairs_and_links_through_indexes_never_orders(app, client, shop):
    with app.app_context(), tenant_context(shop):
        paid("anvil", "hammer")
        db.session.commit()
        category_ids = [c.id for c in catalog.all_categories()]
        tenant_id = shop.id
    with app.app_context():
        plans.seed_catalog(db.engine, tenant_id, plans.SEED_PRODUCTS, category_ids)
        engine = db.engine
        plans.analyze(engine)
    with app.app_context(), tenant_context(shop):
        seeded = list(db.session.scalars(select(Product.id).where(Product.slug.like("seed-%"))))
        for n in range(0, 600, 3):  # pairs for many products, so the planner sees a big table
            related.count_together(seeded[n : n + 3])
        db.session.commit()
    with app.app_context():
        plans.analyze(engine)
    for slug in ("anvil", "tongs"):  # from pairs; from its category
        client.get(f"/p/{slug}", headers=host(shop))  # warm
        with plans.recorded(engine) as statements:
            page = client.get(f"/p/{slug}", headers=host(shop))
        assert page.status_code == 200 and "related-products" in page.text
        with app.app_context():
            plans.assert_indexed(statements)
        assert not [s for s in statements if re.search(r"\border(s|_lines)\b", s.sql)], slug
