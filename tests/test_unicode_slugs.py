"""Titles in any script get a readable ASCII slug (ICU's transliteration), and a slug made
from a title never clashes: two products called "日本語" or "!!!" are two products, not a
409 (issue 31). A slug the owner chose stays theirs to fix."""

from __future__ import annotations

import pytest

from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host
from tests.test_api import api_key


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("日本語", "ri-ben-yu"),
        ("Москва", "moskva"),
        ("Ελληνικά", "ellenika"),
        ("Crème brûlée", "creme-brulee"),
        ("Straße", "strasse"),
        ("!!!", "item"),
        ("  -- ", "item"),
        ("x" * 300, "x" * 120),
    ],
)
def test_any_script_becomes_an_ascii_slug(title, slug):
    assert catalog.slugify(title) == slug


def test_slugs_made_from_titles_never_clash(app, make_shop):
    shop = make_shop("slugs")
    with app.app_context(), tenant_context(shop):
        made = [catalog.create_product(f"S-{i}", t, 100) for i, t in enumerate(["日本語"] * 3)]
        bangs = [catalog.create_product(f"B-{i}", "!!!", 100) for i in range(2)]
        cats = [catalog.create_category("Ткани") for _ in range(2)]
        db.session.commit()
        assert [p.slug for p in made] == ["ri-ben-yu", "ri-ben-yu-2", "ri-ben-yu-3"]
        assert [p.slug for p in bangs] == ["item", "item-2"]
        assert [c.slug for c in cats] == ["tkani", "tkani-2"]


def test_the_free_slug_is_per_shop(app, make_shop):
    one, two = make_shop("one"), make_shop("two")
    for shop in (one, two):
        with app.app_context(), tenant_context(shop):
            assert catalog.create_product("SKU-1", "日本語", 100).slug == "ri-ben-yu"
            db.session.commit()


def test_the_api_makes_a_second_non_latin_product_not_a_409(app, client, make_shop, make_user):
    shop = make_shop("api-slugs")
    headers = {**host(shop), "Authorization": f"Bearer {api_key(app, shop, make_user)}"}
    slugs = []
    for i, title in enumerate(["日本語", "日本語", "!!!", "!!!"]):
        answer = client.post(
            "/api/v1/admin/products",
            json={"sku": f"U-{i}", "title": title, "price": 500},
            headers=headers,
        )
        assert answer.status_code == 201, answer.get_json()
        slugs.append(answer.get_json()["data"]["slug"])
    assert slugs == ["ri-ben-yu", "ri-ben-yu-2", "item", "item-2"]
    # A slug the caller names is theirs: taken is still a 409.
    taken = client.post(
        "/api/v1/admin/products",
        json={"sku": "U-9", "title": "Other", "price": 500, "slug": "item"},
        headers=headers,
    )
    assert taken.status_code == 409
    assert client.get("/api/v1/products/ri-ben-yu-2", headers=host(shop)).status_code == 200
