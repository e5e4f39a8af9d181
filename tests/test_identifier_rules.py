"""One rule on SQLite and MariaDB (docs/decisions.md, "Identifiers are exact; timestamps
keep their microseconds"): SKUs, slugs, order numbers and discount codes compare byte for
byte, spaces at either end are stripped where they are typed, and a moment is read back
as it was written. Run on both: the same assertions, unchanged, on MariaDB from
STOREFRONT_TEST_DATABASE_URL.

MariaDB's default collation once made ``x``, ``X`` and ``x `` one SKU (a 409 there, three
products on SQLite), answered ``/p/CLASSIC-ANVIL`` and ``/p/classic-anvil%20`` with the
product (one page at many addresses; 404 on SQLite), and its ``DATETIME`` dropped the
microseconds, so a checkout and its replay showed different ``created_at``.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import DateTime, inspect, select
from sqlalchemy.dialects import mysql

from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.content import services as content
from storefront.db import Identifier, Timestamp
from storefront.extensions import db
from storefront.orders import discounts
from storefront.orders.models import Order
from storefront.tenancy import tenant_context
from tests.fixtures.factories import API_CHECKOUT, csrf_from, host, login
from tests.test_api import api_key

# Every column a shop names a thing by; each is an Identifier.
IDENTIFIERS = {
    ("products", "sku"),
    ("products", "slug"),
    ("variants", "sku"),
    ("categories", "slug"),
    ("pages", "slug"),
    ("orders", "number"),
    ("discount_codes", "code"),
}
MOMENT = datetime(2026, 11, 20, 9, 30, 15, 123456)


@pytest.fixture
def shop(app, make_shop):
    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        catalog.create_category("Tools", slug="tools")
        catalog.create_product(
            "CA-1", "Classic anvil", 1000, stock=10, slug="classic-anvil", categories=["tools"]
        )
        content.save_page(None, title="About", slug="about", body="Us.", published=True)
        db.session.commit()
    return shop


@pytest.fixture
def staff(app, shop, make_user):
    return {**host(shop), "Authorization": f"Bearer {api_key(app, shop, make_user)}"}


def _skus(app, shop) -> list[str]:
    with app.app_context(), tenant_context(shop):
        return sorted(db.session.scalars(select(Product.sku)))


# Identifiers -------------------------------------------------------------------------


def test_skus_differing_in_case_are_two_products_and_spaces_at_the_ends_are_stripped(
    app, client, shop, staff
):
    def create(sku: str):
        return client.post(
            "/api/v1/admin/products", json={"sku": sku, "title": "Anvil", "price": 1}, headers=staff
        )

    assert create("x").status_code == 201
    assert create("X").status_code == 201
    assert create("é").status_code == 201
    assert create("e").status_code == 201  # accents count too
    taken = create("x ")  # stored as "x": that SKU exists
    assert taken.status_code == 409 and taken.json["error"]["code"] == "sku_taken"
    padded = create(" pad \t")
    assert padded.status_code == 201 and padded.json["data"]["sku"] == "pad"
    assert _skus(app, shop) == ["CA-1", "X", "e", "pad", "x", "é"]


def test_the_unique_keys_agree_with_the_rule(app, shop):
    """Past the services' own check: the database's unique key takes x and X as two."""
    with app.app_context(), tenant_context(shop):
        for sku, slug in (("x", "one"), ("X", "One"), ("Y", "two"), ("y", "TWO")):
            db.session.add(Product(sku=sku, slug=slug, title=sku, price=1))
        db.session.commit()
        assert catalog.product_by_sku("X").slug == "One"
        assert catalog.product_by_sku("x ") is None


def test_the_dashboard_and_the_csv_strip_what_people_type(app, shop, make_user):
    from storefront.catalog.csv_io import import_rows, parse_rows

    make_user(shop, "owner@example.com", roles=["owner"])
    owner = app.test_client()
    login(owner, shop, "owner@example.com")
    form = owner.get("/admin/products/new", headers=host(shop))
    owner.post(
        "/admin/products/new",
        data={
            "csrf_token": csrf_from(form.text),
            "sku": "  D-1 ",
            "title": "Drill",
            "price": "5",
            "slug": " drill ",
        },
        headers=host(shop),
    )
    with app.app_context(), tenant_context(shop):
        import_rows(parse_rows(["sku,title,price", " C-1 ,Chisel,2"]))
        db.session.commit()
        rows = {p.sku: p.slug for p in db.session.scalars(select(Product))}
    assert rows == {"CA-1": "classic-anvil", "D-1": "drill", "C-1": "chisel"}


def _guest_order(app, shop) -> tuple[str, str, dict[str, str]]:
    client = app.test_client(use_cookies=False)
    product_id = client.get("/api/v1/products/classic-anvil", headers=host(shop)).json["data"]
    token = client.post(
        "/api/v1/cart/items",
        json={"product_id": product_id["id"], "quantity": 1},
        headers=host(shop),
    ).json["data"]["token"]
    cart = {**host(shop), "X-Cart-Token": token, "Idempotency-Key": "identifiers-" + "k" * 16}
    placed = client.post("/api/v1/checkout", json=API_CHECKOUT, headers=cart)
    assert placed.status_code == 201, placed.json
    with app.app_context(), tenant_context(shop):
        from storefront.orders.access import order_key

        order = db.session.scalar(select(Order))
        return order.number, order_key(order), cart


@pytest.mark.parametrize(
    "spelling",
    [str.upper, str.title, lambda s: s + "%20", lambda s: "%20" + s],
    ids=["upper", "title", "space-after", "space-before"],
)
def test_another_spelling_of_a_slug_or_order_number_is_not_found(
    app, client, shop, staff, spelling
):
    number, key, _cart = _guest_order(app, shop)
    assert number == "ACME-1001"
    wrong = spelling(number)
    if wrong == number:  # str.upper of an upper-case number: spelt right
        wrong = number.lower()
    urls = [
        (f"/api/v1/products/{spelling('classic-anvil')}", {}),
        (f"/p/{spelling('classic-anvil')}", {}),
        (f"/p/{spelling('classic-anvil')}/image.svg", {}),
        (f"/c/{spelling('tools')}", {}),
        (f"/pages/{spelling('about')}", {}),
        (f"/api/v1/admin/categories/{spelling('tools')}", staff),
        (f"/api/v1/orders/{wrong}", {"X-Order-Key": key}),
        (f"/api/v1/admin/orders/{wrong}", staff),
        (f"/orders/{wrong}?key={key}", {}),
    ]
    for url, headers in urls:
        answer = client.get(url, headers={**host(shop), **headers})
        assert answer.status_code == 404, (url, answer.status_code)
    # Spelt right, each of them answers.
    assert client.get("/p/classic-anvil", headers=host(shop)).status_code == 200
    assert client.get("/c/tools", headers=host(shop)).status_code == 200
    assert client.get("/pages/about", headers=host(shop)).status_code == 200
    assert client.get(f"/api/v1/admin/orders/{number}", headers=staff).status_code == 200
    mine = client.get(f"/api/v1/orders/{number}", headers={**host(shop), "X-Order-Key": key})
    assert mine.status_code == 200


def test_discount_codes_are_typed_in_any_case_and_stored_in_one(app, shop):
    with app.app_context(), tenant_context(shop):
        discounts.create_code(" welcome10 ", "percent", 10)
        db.session.commit()
        assert discounts.find_usable("Welcome10", 5000).code == "WELCOME10"
        with pytest.raises(discounts.DiscountError):
            discounts.create_code("WELCOME10", "percent", 5)


# Timestamps --------------------------------------------------------------------------


def test_a_moment_is_read_back_as_it_was_written(app, shop):
    with app.app_context(), tenant_context(shop):
        product = catalog.product_by_sku("CA-1")
        product.created_at = MOMENT
        db.session.commit()
        db.session.expire_all()
        assert catalog.product_by_sku("CA-1").created_at == MOMENT


def test_a_checkout_and_its_replay_answer_the_same_order_to_the_microsecond(app, shop):
    """The first answer is what the checkout wrote; the replay reads it back."""
    client = app.test_client(use_cookies=False)
    product_id = client.get("/api/v1/products/classic-anvil", headers=host(shop)).json["data"]
    token = client.post(
        "/api/v1/cart/items",
        json={"product_id": product_id["id"], "quantity": 1},
        headers=host(shop),
    ).json["data"]["token"]
    cart = {**host(shop), "X-Cart-Token": token, "Idempotency-Key": "replayed-" + "r" * 16}
    first = client.post("/api/v1/checkout", json=API_CHECKOUT, headers=cart)
    replay = client.post("/api/v1/checkout", json=API_CHECKOUT, headers=cart)
    assert first.status_code == replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json["data"]["order"] == first.json["data"]["order"]


# The schema --------------------------------------------------------------------------


def test_every_timestamp_and_identifier_column_has_its_type(app):
    """A model that adds a plain DateTime (whole seconds on MariaDB) or a String for an
    identifier (case-blind there) fails here, on SQLite too."""
    plain = [
        f"{table.name}.{column.name}"
        for table in db.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, DateTime) and not isinstance(column.type, Timestamp)
    ]
    assert plain == []
    for table, column in IDENTIFIERS:
        assert isinstance(db.metadata.tables[table].c[column].type, Identifier), (table, column)


def test_the_migrated_database_has_the_models_collations_and_precision(app):
    """What the migrations built (the suite's databases are made by them) holds the
    identifiers' binary collation and the timestamps' microseconds on MariaDB.
    pytest-alembic's model check cannot see either: Alembic compares neither a
    collation nor a precision that only one side states."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            pytest.skip("SQLite compares bytes and keeps microseconds in its text already")
        found = inspect(engine)
        collation = "utf8mb4_nopad_bin" if engine.dialect.is_mariadb else "utf8mb4_0900_bin"
        for table in db.metadata.tables.values():
            columns = {c["name"]: c["type"] for c in found.get_columns(table.name)}
            for column in table.columns:
                kind, where = columns[column.name], f"{table.name}.{column.name}"
                if isinstance(column.type, Timestamp):
                    assert isinstance(kind, mysql.DATETIME) and kind.fsp == 6, where
                elif isinstance(column.type, Identifier):
                    assert kind.collation == collation, where
