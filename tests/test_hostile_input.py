"""Odd input gets a clear 4xx in the right shape: never a 500, never a bare page."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import csrf_from, host, login, product_id
from tests.test_api import token_for

OWNER = "owner@example.com"
HUGE = ["9223372036854775807", "9223372036854775808", "1" + "0" * 40, "-5", "x", "1e9"]


@pytest.fixture
def shop(app, make_shop, make_user):
    acme = make_shop("acme")
    make_user(acme, OWNER, roles=["owner"])
    with app.app_context(), tenant_context(acme):
        catalog.create_category("Tools", "tools")
        catalog.create_product("SKU-1", "Anvil", 1999, stock=5, categories=["tools"])
        catalog.create_product("SKU-2", "Rocket 50% off", 999, stock=5)
        db.session.commit()
    return acme


@pytest.fixture
def owner(app, shop):
    client = app.test_client()
    login(client, shop, OWNER)
    return client


@pytest.mark.parametrize("page", HUGE)
def test_page_numbers_of_any_size_are_bounded(client, owner, shop, page):
    for path in ("/products", "/c/tools", "/search?q=anvil&x=1"):
        sep = "&" if "?" in path else "?"
        answer = client.get(f"{path}{sep}page={page}", headers=host(shop))
        assert answer.status_code == 200, (path, page)
    for path in ("/admin/products", "/admin/orders", "/admin/customers"):
        answer = owner.get(f"{path}?page={page}", headers=host(shop))
        assert answer.status_code == 200, (path, page)
    api = client.get(f"/api/v1/products?page={page}", headers=host(shop))
    assert api.status_code in (200, 400), page
    if api.status_code == 400:
        assert api.json["error"]["code"] == "bad_request"


@pytest.mark.parametrize("number", ["2147483648", "18446744073709551616", "1" + "0" * 40])
def test_ids_beyond_the_column_range_are_not_found(client, owner, shop, number):
    for path in (f"/admin/customers/{number}", f"/admin/products/{number}"):
        assert owner.get(path, headers=host(shop)).status_code == 404, path
    answer = client.post("/api/v1/cart/items", json={"product_id": int(number)}, headers=host(shop))
    assert answer.status_code == 422
    assert "product_id" in answer.json["error"]["fields"]


def test_api_product_writes_refuse_nulls_and_take_a_category_twice(app, client, shop, make_user):
    auth = {**host(shop), "Authentication-Token": token_for(app, shop, make_user)}
    for field in ("slug", "description", "title"):
        answer = client.patch(
            f"/api/v1/admin/products/{product_id(app, shop, 'anvil')}",
            json={field: None},
            headers=auth,
        )
        assert answer.status_code == 422, field
        assert field in answer.json["error"]["fields"]
    created = client.post(
        "/api/v1/admin/products",
        json={"sku": "SKU-3", "title": "Crate", "price": 100, "categories": ["tools", "tools"]},
        headers=auth,
    )
    assert created.status_code == 201, created.json
    assert created.json["data"]["categories"] == ["tools"]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,x",
        "//evil.example/x.png",
        "java\nscript:alert(1)",
        "vbscript:x",
        '/ok.png" onerror="x',
        "http://[abc/x.png",  # no URL parser reads it: building an absolute link failed (500)
        "https://[not-an-address]/x.png",
    ],
)
def test_image_urls_are_http_or_a_path_everywhere(app, client, owner, runner, shop, make_user, url):
    auth = {**host(shop), "Authentication-Token": token_for(app, shop, make_user)}
    api = client.patch(
        f"/api/v1/admin/products/{product_id(app, shop, 'anvil')}",
        json={"image_url": url},
        headers=auth,
    )
    assert api.status_code == 422 and "image_url" in api.json["error"]["fields"]
    page = owner.get("/admin/products/new", headers=host(shop))
    form = {
        "csrf_token": csrf_from(page.text),
        "sku": "SKU-9",
        "title": "X",
        "price": "1",
        "stock": "1",
        "image_url": url,
    }
    answer = owner.post("/admin/products/new", data=form, headers=host(shop))
    assert answer.status_code == 200 and "Image URL" in answer.text  # the form, with the error
    csv_path = app.config["TENANTS_DIR"] + "/import.csv"
    with open(csv_path, "w", newline="") as out:
        out.write(
            f'sku,title,price,image_url\nSKU-8,Y,1.00,"{url.replace(chr(34), chr(34) * 2)}"\n'
        )
    result = runner.invoke(["catalog", "import", "acme", csv_path])
    assert result.exit_code == 1 and "image_url" in result.output
    with app.app_context(), tenant_context(shop):
        urls = db.session.scalars(select(Product.image_url)).all()
    assert url not in urls


def test_good_image_urls_still_pass(app, client, shop, make_user):
    auth = {**host(shop), "Authentication-Token": token_for(app, shop, make_user)}
    for url in ("https://cdn.example.com/a.png", "/static/uploads/a.png"):
        answer = client.patch(
            f"/api/v1/admin/products/{product_id(app, shop, 'anvil')}",
            json={"image_url": url},
            headers=auth,
        )
        assert answer.status_code == 200, answer.json


@pytest.mark.parametrize("query", ["%", "_", "%%", "\\", "50\\%"])
def test_search_takes_wildcards_literally(client, owner, shop, query):
    page = client.get("/search", query_string={"q": query}, headers=host(shop)).text
    assert "Anvil" not in page
    admin = owner.get("/admin/products", query_string={"q": query}, headers=host(shop)).text
    assert "Anvil" not in admin
    assert "Rocket" in client.get("/search", query_string={"q": "50%"}, headers=host(shop)).text


@pytest.mark.settings(MAX_CONTENT_LENGTH=4096)
def test_a_body_too_large_is_refused_in_the_right_shape(client, owner, shop):
    big = {"title": "x" * 10_000}
    api = client.post("/api/v1/cart/items", json=big, headers=host(shop))
    assert api.status_code == 413
    assert api.json["error"]["code"] == "too_large"
    page = owner.post(
        "/admin/products/new",
        data={"image": (io.BytesIO(b"x" * 10_000), "big.png")},
        headers=host(shop),
    )
    assert page.status_code == 413
    assert "Acme" in page.text and "X-Request-ID" in page.headers


def test_the_default_body_limit_is_set(app):
    assert 0 < app.config["MAX_CONTENT_LENGTH"] <= 16 * 1024 * 1024


@pytest.mark.settings(TESTING=False)
def test_an_integrity_error_in_a_view_answers_the_shops_500_page(app, shop):
    """The error page must roll back first: a failed flush left the session unusable."""

    def clash():
        with tenant_context(shop):
            db.session.add(Product(sku="SKU-1", title="dup", slug="dup", price=1))
            db.session.flush()  # IntegrityError; the handler must roll back to render

    app.add_url_rule("/_clash", view_func=clash)
    app.add_url_rule("/api/v1/_clash", endpoint="api_clash", view_func=clash)
    client = app.test_client()
    page = client.get("/_clash", headers=host(shop))
    assert page.status_code == 500
    assert "Acme" in page.text and page.headers.get("X-Request-ID")
    api = client.get("/api/v1/_clash", headers=host(shop))
    assert api.status_code == 500 and api.json["error"]["code"] == "internal"
    assert api.headers.get("X-Request-ID")
