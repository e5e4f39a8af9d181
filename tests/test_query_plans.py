"""Every catalog page reads through indexes: no shop table read whole, no sort of more
than a page's rows (tests/plans.py), on a shop the planners take for a big one.

The shop has a few thousand products (``plans.seed_catalog``), a category with two
sub-categories and a leaf category; a second shop sits beside it. Each page is fetched
through the test client with the page cache off, its statements recorded and explained.
"""

from __future__ import annotations

import re

import pytest

from storefront.catalog import services as catalog
from storefront.catalog.sorting import SORT_KEYS
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests import plans
from tests.fixtures.factories import host, login
from tests.plans import analyze, assert_indexed, recorded

OWNER = "owner@example.com"
pytestmark = pytest.mark.settings(SHOP_PAGE_CACHE=False, REGISTRY_POLL_SECONDS=3600)


@pytest.fixture
def big(app, make_shop, make_user):
    """A shop of 3,000 products (and a small one beside it), analysed."""
    other = make_shop("globex")
    shop = make_shop("acme")
    make_user(shop, OWNER, roles=["owner"])
    for owner, size in ((other, 200), (shop, plans.SEED_PRODUCTS)):
        with app.app_context(), tenant_context(owner):
            catalog.create_category("Tools", "tools")
            catalog.create_category("Hammers", "hammers", parent="tools")
            catalog.create_category("Anvils", "anvils", parent="tools")
            catalog.create_category("Garden", "garden")
            catalog.create_product("ANV", "Anvil", 1999, stock=5, categories=["anvils", "tools"])
            db.session.commit()
            ids = [c.id for c in catalog.all_categories()]
        with app.app_context():
            plans.seed_catalog(db.engine, owner.id, size, ids)
    return shop


def explained(app, client, shop, path, expect=200):
    with app.app_context():
        engine = db.engine
        analyze(engine)
    client.get(path, headers=host(shop))  # warm: the shop's settings, templates
    with recorded(engine) as statements:
        answer = client.get(path, headers=host(shop))
    assert answer.status_code == expect, (path, answer.status_code)
    with app.app_context():
        assert_indexed(statements)
    return answer


@pytest.mark.parametrize("where", ["/products", "/c/tools", "/c/garden"])
def test_listings_in_every_sort_and_depth(app, client, big, where):
    for sort in SORT_KEYS:
        for page in (1, 40):
            answer = explained(app, client, big, f"{where}?sort={sort}&page={page}")
            assert "Seeded product" in answer.text, (sort, page)


def test_home_product_page_and_product_api(app, client, big):
    assert "Seeded product" in explained(app, client, big, "/").text
    assert "Anvil" in explained(app, client, big, "/p/anvil").text
    explained(app, client, big, "/api/v1/products/anvil")
    explained(app, client, big, "/api/v1/categories")


def test_cart_and_checkout_read_only_their_own_rows(app, client, big):
    with app.app_context(), tenant_context(big):
        product_id = catalog.product_by_sku("ANV").id
    headers = {**host(big), "Sec-Fetch-Site": "same-origin"}
    client.post("/cart/add", data={"product_id": product_id, "quantity": 1}, headers=headers)
    assert "Anvil" in explained(app, client, big, "/cart/").text
    explained(app, client, big, "/checkout")


@pytest.mark.parametrize("category", ["", "tools"])
def test_api_listings_first_and_far_pages(app, client, big, category):
    for sort in SORT_KEYS:
        base = f"/api/v1/products?sort={sort}&per_page=20&category={category}"
        explained(app, client, big, base)
        far = client.get(f"{base}&page=40", headers=host(big)).json["meta"]
        assert far["next_cursor"], sort
        forward = explained(app, client, big, f"{base}&cursor={far['next_cursor']}").json
        assert len(forward["data"]) == 20, sort
        explained(app, client, big, f"{base}&cursor={forward['meta']['prev_cursor']}")


def test_dashboard_products_and_its_search(app, big):
    """The search gathers ids from the SKU's and title's index ranges and from the search
    index (built here, as a shop's is, so the planners see its real size)."""
    from storefront.catalog import search

    with app.app_context(), tenant_context(big):
        search.reindex_shop()
        db.session.commit()
        analyze(db.engine)
    owner = app.test_client()
    login(owner, big, OWNER)
    explained(app, owner, big, "/admin/products")
    explained(app, owner, big, "/admin/products?page=30")
    explained(app, owner, big, "/admin/products?q=product+0042")


def test_flags_are_compared_as_equal_not_as_is_true():
    """MariaDB reads ``active IS true`` as no key part: the dashboard's running-low list
    sorted 97,000 rows of a 200,000-product shop through the shop's prefix alone (0.8 s)
    where ``active = true`` walks its index (3 ms). SQLite serves both."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parent.parent / "platform" / "storefront"
    found = [
        f"{path.relative_to(root)}:{number}"
        for path in root.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\.is_\((True|true\(\))\)", line)
    ]
    assert not found, "use == true() where a flag narrows a query: " + ", ".join(found)


def test_the_sitemap_reads_products_by_keyset(app, client, big):
    """The index probes ``ix_products_sitemap`` from boundary to boundary, a page reads a
    range of it in id order: neither reads the catalog whole nor sorts it."""
    app.config["SITEMAP_PAGE_SIZE"] = 500
    index = explained(app, client, big, "/sitemap.xml").text
    pages = [loc for loc in re.findall(r"<loc>([^<]+)</loc>", index) if "products" in loc]
    assert len(pages) >= 5  # some seeded products are inactive: not listed
    assert "<url>" in explained(app, client, big, pages[2].removeprefix("http://acme.test")).text
    explained(app, client, big, "/sitemap-pages.xml")
