"""The owner's dashboard reads through indexes whatever the order book's size: no shop
table read whole, no sort of more than a page's rows (tests/plans.py).

The shop has a few thousand orders (one customer with a thousand of them), a year of
daily figures and a small shop beside it, analysed so the planners take it for a big
one. Each page is fetched as its owner, its statements recorded and explained: the
overview, the orders list in each of its searches and filters and a page further down,
the customers, one customer, the API's order listings.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from storefront.accounts.models import User
from storefront.api.http import encode_cursor
from storefront.extensions import db
from storefront.tenancy import tenant_context
from storefront.tenancy.models import utcnow
from tests.fixtures.factories import host, login
from tests.plans import SMALL_TABLES, analyze, assert_indexed, recorded
from tests.test_api import api_key

OWNER = "owner@example.com"
MEMBER = "member@example.com"
ORDERS = 3_000
pytestmark = pytest.mark.settings(SHOP_PAGE_CACHE=False, REGISTRY_POLL_SECONDS=3600)


# Read whole or sorted by design here, and why that does not grow with the order book.
OVERVIEW_TABLES = {
    **SMALL_TABLES,
    "product_sales_days": "best sellers: the window's days x the SKUs sold on them, grouped "
    "and ranked (a range of the figures, never the order book)",
}


def seed_customers(engine: Engine, tenant_id: int, count: int) -> None:
    """``count`` shoppers with the customer role, one statement per table."""
    tables = db.metadata.tables
    users, links, roles = tables["users"], tables["roles_users"], tables["roles"]
    with engine.begin() as conn:
        role = conn.execute(
            select(roles.c.id).where(roles.c.tenant_id == tenant_id, roles.c.name == "customer")
        ).scalar_one()
        conn.execute(
            insert(users),
            [
                {
                    "tenant_id": tenant_id,
                    "email": f"shopper{n}@example.com",
                    "password": "x",
                    "fs_uniquifier": uuid.uuid4().hex,
                    "fs_token_uniquifier": uuid.uuid4().hex,
                }
                for n in range(count)
            ],
        )
        ids = conn.execute(
            select(users.c.id).where(users.c.tenant_id == tenant_id, users.c.email.like("shopper%"))
        ).scalars()
        conn.execute(
            insert(links),
            [{"tenant_id": tenant_id, "user_id": i, "role_id": role} for i in ids],
        )


def seed_orders(engine: Engine, tenant_id: int, slug: str, count: int, member: int) -> None:
    """``count`` orders (every third the member's), their lines, the guests' and the
    member's counters and a year of daily figures, one statement per table."""
    start = datetime(2025, 1, 1)
    statuses = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded")
    orders = [
        {
            "tenant_id": tenant_id,
            "number": f"{slug.upper()}-{2001 + n}",
            "user_id": member if n % 3 == 0 else None,
            "email": MEMBER if n % 3 == 0 else f"guest{n % 700}@example.com",
            "name": "Seeded",
            "address": "1 Main St",
            "postal_code": "12345",
            "city": "Springfield",
            "country": "US",
            "shipping_label": "Standard",
            "shipping": 0,
            "subtotal": 1000,
            "total": 1000,
            "currency": "USD",
            "payment_method": "bank_transfer",
            "status": statuses[n % len(statuses)],
            "note": "",
            "tax_lines": [],
            "created_at": start + timedelta(minutes=7 * n),
            "updated_at": start + timedelta(minutes=7 * n),
        }
        for n in range(count)
    ]
    tables = db.metadata.tables
    with engine.begin() as conn:
        conn.execute(insert(tables["orders"]), orders)
        ids = conn.execute(
            select(tables["orders"].c.id).where(tables["orders"].c.tenant_id == tenant_id)
        ).scalars()
        conn.execute(
            insert(tables["order_lines"]),
            [
                {
                    "tenant_id": tenant_id,
                    "order_id": order_id,
                    "sku": f"SEED-{order_id % 40}",
                    "title": "Seeded product",
                    "unit_price": 1000,
                    "quantity": 1,
                    "line_total": 1000,
                }
                for order_id in ids
            ],
        )
        conn.execute(
            insert(tables["customer_totals"]),
            [
                {
                    "tenant_id": tenant_id,
                    "user_id": 0,
                    "email": f"guest{n}@example.com",
                    "orders": 3,
                    "spent": 3000,
                    "last_order_at": start + timedelta(hours=n),
                }
                for n in range(700)
            ]
            + [
                {
                    "tenant_id": tenant_id,
                    "user_id": member,
                    "email": "",
                    "orders": count // 3,
                    "spent": 0,
                    "last_order_at": start,
                }
            ],
        )
        days = [date(2025, 1, 1) + timedelta(days=n) for n in range(400)]
        conn.execute(
            insert(tables["sales_days"]),
            [{"tenant_id": tenant_id, "day": d, "currency": "USD", "orders": 5} for d in days],
        )
        conn.execute(
            insert(tables["product_sales_days"]),
            [
                {
                    "tenant_id": tenant_id,
                    "day": d,
                    "sku": f"SEED-{k}",
                    "title": "Seeded",
                    "units": 1,
                }
                for d in days
                for k in range(5)
            ],
        )


@pytest.fixture
def big(app, make_shop, make_user):
    """A shop of 3,000 orders and a small one beside it, analysed; its owner signed in."""
    shops = {"globex": make_shop("globex"), "acme": make_shop("acme")}
    make_user(shops["acme"], OWNER, roles=["owner"])
    for slug, size in (("globex", 200), ("acme", ORDERS)):
        make_user(shops[slug], MEMBER)
        with app.app_context(), tenant_context(shops[slug]):
            member = db.session.scalar(select(User.id).where(User.email == MEMBER))
        with app.app_context():
            seed_orders(db.engine, shops[slug].id, slug, size, member)
            seed_customers(db.engine, shops[slug].id, size // 10)
    with app.app_context():
        analyze(db.engine)
    return shops["acme"], member


def explained(app, client, shop, path, headers=None, small_tables=SMALL_TABLES):
    headers = {**host(shop), **(headers or {})}
    with app.app_context():
        engine = db.engine
    client.get(path, headers=headers)  # warm: the shop's settings, templates
    with recorded(engine) as statements:
        answer = client.get(path, headers=headers)
    assert answer.status_code == 200, (path, answer.status_code)
    with app.app_context():
        assert_indexed(statements, small_tables)
    return answer


@pytest.fixture
def owner(app, big):
    client = app.test_client()
    assert login(client, big[0], OWNER).status_code == 302
    return client


def test_the_overview_reads_figures_not_orders(app, owner, big):
    shop, _member = big
    page = explained(app, owner, shop, "/admin/", small_tables=OVERVIEW_TABLES)
    assert "Best sellers" in page.text


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?status=paid",
        "?status=cancelled",
        "?q=ACME-2500",
        "?q=2500",
        "?q=ACME-25",
        "?q=guest7@example.com",
        "?q=guest7",
        "?q=member@",
        "?q=guest1",
        "?status=paid&q=member@example.com",
    ],
)
def test_the_orders_list_in_each_search(app, owner, big, query):
    explained(app, owner, big[0], f"/admin/orders{query}")


def test_the_orders_list_further_down_and_back(app, owner, big):
    shop, _member = big
    with app.app_context(), tenant_context(shop):
        from storefront.orders.models import Order

        middle = db.session.scalar(select(Order.id).where(Order.number == "ACME-3500"))
    for path in (
        f"/admin/orders?older={middle}",
        f"/admin/orders?newer={middle}",
        f"/admin/orders?status=paid&older={middle}",
    ):
        explained(app, owner, shop, path)


def seed_outbox(engine: Engine, tenant_id: int, count: int) -> None:
    """``count`` mails and webhook deliveries of the shop's history, nearly all delivered,
    a few that gave up (some long ago) and a few being retried, one statement."""
    now = utcnow()
    rows = []
    for n in range(count):
        kind = "mail" if n % 3 else "webhook"
        status, attempts, error = "done", 1, ""
        if n % 97 == 0 or n >= count - 6:
            status, attempts, error = "dead", 12, "SMTPRecipientsRefused: x"
        elif n % 89 == 0:
            status, attempts, error = "pending", 2, "RuntimeError: answered 500"
        payload = (
            f'{{"to": "shopper{n}@example.com", "subject": "Order {n}"}}'
            if kind == "mail"
            else f'{{"endpoint_id": 1, "body": {{"type": "order.paid", "id": "e{n}"}}}}'
        )
        rows.append(
            {
                "tenant_id": tenant_id,
                "kind": kind,
                "dedupe_key": f"seed:{n}",
                "payload": payload,
                "status": status,
                "attempts": attempts,
                "last_error": error,
                # A year of history: the failures of the last week are a few of them.
                "created_at": now - timedelta(hours=3 * (count - n)),
                "next_attempt_at": now - timedelta(hours=3 * (count - n)),
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(db.metadata.tables["outbox"]), rows)


def test_the_health_panel_reads_the_recent_failures_not_the_mail_history(app, owner, big):
    """The overview's health: today's figures, and the outbox by shop, kind and status,
    newest first (a year of delivered mails and deliveries is never read)."""
    shop, _member = big
    with app.app_context():
        seed_outbox(db.engine, shop.id, ORDERS)
        analyze(db.engine)
    page = explained(app, owner, shop, "/admin/", small_tables=OVERVIEW_TABLES)
    assert "Send again" in page.text and "order.paid" in page.text


def test_customers_and_one_customer_with_a_thousand_orders(app, owner, big):
    shop, member = big
    assert "guest" in explained(app, owner, shop, "/admin/customers").text
    explained(app, owner, shop, "/admin/customers?q=guest1")
    page = explained(app, owner, shop, f"/admin/customers/{member}")
    assert "Older" in page.text


def test_the_apis_order_listings(app, big, make_user):
    shop, _member = big
    client = app.test_client()
    auth = {"Authorization": f"Bearer {api_key(app, shop, make_user)}"}
    with app.app_context(), tenant_context(shop):
        from storefront.orders.models import Order

        middle = db.session.execute(
            select(Order.updated_at, Order.id).where(Order.number == "ACME-3500")
        ).one()
    far = encode_cursor(*middle)
    for path in (
        "/api/v1/admin/orders",
        "/api/v1/admin/orders?status=paid",
        f"/api/v1/admin/orders?cursor={far}",
        f"/api/v1/admin/orders?status=paid&cursor={far}",
    ):
        explained(app, client, shop, path, auth)


def test_a_far_cursor_starts_at_its_place_in_the_index(app, big, make_user):
    """MariaDB, asked for whole rows, read the listing's index by the shop alone and
    filtered the moments as it went (``ref``): a cursor far down a book of two million
    orders walked every order before it. The listing names its indexes, so the walk is a
    ``range`` that starts at the cursor. (SQLite's plan starts there by itself.)"""
    shop, _member = big
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        pytest.skip("MariaDB/MySQL's optimizer only")
    client = app.test_client()
    auth = {**host(shop), "Authorization": f"Bearer {api_key(app, shop, make_user)}"}
    with app.app_context(), tenant_context(shop):
        from storefront.orders.models import Order

        middle = db.session.execute(
            select(Order.updated_at, Order.id).where(Order.number == "ACME-3500")
        ).one()
    for path in (
        f"/api/v1/admin/orders?cursor={encode_cursor(*middle)}",
        f"/api/v1/admin/orders?status=paid&cursor={encode_cursor(*middle)}",
    ):
        with recorded(engine) as statements:
            assert client.get(path, headers=auth).status_code == 200
        listing = [s for s in statements.selects if s.sql.lstrip().startswith("SELECT orders.")]
        assert listing, path
        with engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN " + listing[0].sql, listing[0].parameters)
            access = [row._mapping["type"] for row in plan]
        assert access == ["range"], (path, access)
