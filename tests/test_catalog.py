"""Catalog pages per shop: money by Babel, pagination, sorting, search, empty states."""

from __future__ import annotations

import re

import pytest

from storefront.catalog import services
from storefront.catalog.money import format_money
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host, tenant_folder


def titles(html: str) -> list[str]:
    return re.findall(r'<h[23] class="product-title">([^<]+)</h[23]>', html)


@pytest.fixture
def stocked(app, make_shop):
    def stock(shop, count=3, prefix="Item"):
        with app.app_context(), tenant_context(shop):
            services.create_category("Tools")
            for i in range(count):
                services.create_product(
                    f"{shop.slug}-{i}",
                    f"{prefix} {i}",
                    1000 + i * 100,
                    stock=i,
                    categories=["tools"],
                    description=f"d{i}",
                )
            db.session.commit()

    return stock


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        (1999, "USD", "en_US", "$19.99"),
        (1999, "EUR", "de_DE", "19,99\xa0€"),
        (1999, "JPY", "ja_JP", "￥1,999"),
        (100000, "GBP", "en_GB", "£1,000.00"),
    ],
)
def test_money_is_formatted_by_babel_in_minor_units(amount, currency, locale, expected):
    assert format_money(amount, currency, locale) == expected


def test_each_shop_sees_only_its_catalog(client, make_shop, stocked):
    acme, globex = make_shop("acme"), make_shop("globex")
    stocked(acme, prefix="Anvil")
    stocked(globex, prefix="Tent")
    page = client.get("/products", headers=host(acme)).text
    assert "Anvil 0" in page and "Tent" not in page
    assert client.get("/p/anvil-0", headers=host(globex)).status_code == 404
    assert client.get("/p/anvil-0/image.svg", headers=host(globex)).status_code == 404
    assert "Tent" not in client.get("/search?q=tent", headers=host(acme)).text


def test_prices_follow_the_shops_currency_and_locale(client, make_shop, stocked):
    shop = make_shop("globex", settings='name = "Globex"\ncurrency = "EUR"\nlocale = "de_DE"\n')
    stocked(shop)
    assert "10,00\xa0€" in client.get("/p/item-0", headers=host(shop)).text


def test_pagination_and_sorting(client, make_shop, stocked):
    shop = make_shop("acme", settings='name = "A"\n[config]\nPRODUCTS_PER_PAGE = 2\n')
    stocked(shop, count=5)
    first = client.get("/products?sort=price_asc", headers=host(shop)).text
    assert titles(first) == ["Item 0", "Item 1"]
    assert "Page 1 of 3" in first and 'rel="next"' in first
    last = client.get("/products?sort=price_asc&page=3", headers=host(shop)).text
    assert titles(last) == ["Item 4"]
    desc = client.get("/products?sort=price_desc", headers=host(shop)).text
    assert titles(desc)[0] == "Item 4"
    assert client.get("/products?page=zzz&sort=evil", headers=host(shop)).status_code == 200


def test_search_and_category_and_empty_states(client, make_shop, stocked):
    shop = make_shop("acme")
    assert "Opening soon" in client.get("/", headers=host(shop)).text
    stocked(shop)
    assert "Item 1" in client.get("/search?q=acme-1", headers=host(shop)).text  # by SKU
    assert "No match for “nothing”" in client.get("/search?q=nothing", headers=host(shop)).text
    assert "Item 2" in client.get("/c/tools", headers=host(shop)).text
    assert client.get("/c/missing", headers=host(shop)).status_code == 404
    assert "Sold out" in client.get("/p/item-0", headers=host(shop)).text


def test_a_shop_override_of_the_product_page_gets_plain_values(app, client, make_shop, stocked):
    shop = make_shop("acme")
    stocked(shop)
    path = tenant_folder(app, "acme") / "templates" / "catalog" / "product.html"
    path.parent.mkdir(parents=True)
    path.write_text(
        "<h1>{{ product.title }} for {{ product.price_display }}</h1>{{ product.query }}"
    )
    body = client.get("/p/item-0", headers=host(shop)).text
    assert "<h1>Item 0 for $10.00</h1>" in body


def test_four_byte_characters_round_trip(app, client, make_shop):
    """utf8mb4 on MySQL/MariaDB: an emoji in a title survives the database and the page."""
    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        services.create_product("E-1", "Rocket 🚀 anvil", 100, stock=1, slug="rocket")
        db.session.commit()
    with app.app_context(), tenant_context(shop):
        assert services.get_product("rocket").title == "Rocket 🚀 anvil"
    assert "Rocket 🚀 anvil" in client.get("/p/rocket", headers=host(shop)).text


def test_search_forgives_typos_plurals_case_and_language(
    app, client, make_shop, demo_tenants, runner
):
    """What a shopper types finds what they mean, best matches first, in any language."""
    runner.invoke(["demo"])
    acme = {"Host": "acme.localhost"}

    def found(query: str, headers=acme) -> list[str]:
        page = client.get(f"/search?q={query}", headers=headers).text
        return re.findall(r'class="product-title"[^>]*>([^<]+)<', page) or re.findall(
            r"<h3[^>]*>\s*<a[^>]*>([^<]+)</a>", page
        )

    for query in ("anvil", "Anvils", "anvl", "ANVIL", "anvils"):
        titles = found(query)
        assert titles and all("Anvil" in t for t in titles), (query, titles)
        assert len(titles) == 3, (query, titles)
    assert found("rockt skates")[0] == "Rocket Skates"  # a typo, two words, best first
    assert "Rocket Sled" not in found("rockt skates")  # every word must match
    french = found("enclume", headers=acme)  # the French title of the anvils
    assert french and len(french) == 3
    page = client.get("/search?q=anvl", headers=acme).text
    assert 'value="anvl"' in page  # the query stays in the box
    nothing = client.get("/search?q=zzzzqqq", headers=acme).text
    assert "No match for “zzzzqqq”" in nothing
    api = client.get("/api/v1/products?q=anvl", headers=acme).json
    assert api["meta"]["total"] == 3


def test_a_product_description_keeps_its_formatting_and_nothing_else(app, client, make_shop):
    from storefront.catalog import services as catalog_services
    from storefront.extensions import db as database
    from storefront.tenancy import tenant_context as bound

    shop = make_shop("acme")
    with app.app_context(), bound(shop):
        catalog_services.create_product(
            "MD-1",
            "Formatted",
            100,
            stock=1,
            description="**Heavy.**\n\n- forged\n- tested\n\n<script>alert(1)</script>",
        )
        database.session.commit()
    page = client.get("/p/formatted", headers=host(shop)).text
    assert "<strong>Heavy.</strong>" in page and "<li>forged</li>" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
