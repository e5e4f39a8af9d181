"""The migration history as operators meet it, on SQLite and (from the environment) MariaDB.

pytest-alembic's standard checks: one head; the models equal what the migrations build;
every step up, then every step down, then up again; and the stairway (each step up, down
and up again before the next). Then a database full of shops from an older release is
upgraded to head and found intact. Each test migrates an empty database of its own
(tests/fixtures/migrations.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pytest_alembic import MigrationContext
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
)
from sqlalchemy import MetaData, select, text

from storefront.extensions import db
from storefront.permissions import SHOP_ROLES

__all__ = [  # collected by pytest from here: the library's own checks
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
]


def test_every_step_goes_up_down_and_up_again(alembic_runner: MigrationContext) -> None:
    """The stairway: a downgrade that leaves anything behind breaks its own upgrade's rerun."""
    steps = 0
    while alembic_runner.roundtrip_next_revision():
        steps += 1
    assert alembic_runner.current == alembic_runner.heads[0]
    assert steps == len(alembic_runner.history.revisions) - 2  # less the base and heads marks


# The last release without languages (63f19bee2a92) and money (taxes, discounts:
# 71f151212378): its shops are filled through its own schema, with plain inserts.
OLD_RELEASE = "f7f6c9cdf683"
LANGUAGES = "63f19bee2a92"
THEN = datetime(2026, 11, 20, 9, 30)
LATER = datetime(2026, 11, 21, 18, 5)


def row(table: str, **values: Any) -> dict[str, Any]:
    return {"__tablename__": table, **values}


# Parents before children: the foreign keys are on. Two shops, so that what the upgrade
# keeps is also kept apart.
OLD_ROWS = [
    *(
        row("tenants", id=tid, slug=slug, name=name, status=status, suspended_reason=reason,
            cache_generation=2, created_at=THEN, uid=f"{slug}-uid-0000000000000000000")
        for tid, slug, name, status, reason in (
            (1, "acme", "Acme Corp", "active", None),
            (2, "globex", "Globex", "suspended", "unpaid invoice"),
        )
    ),
    row("domains", id=1, tenant_id=1, hostname="acme.test", is_primary=True, created_at=THEN),
    row("domains", id=2, tenant_id=1, hostname="www.acme.test", is_primary=False, created_at=THEN),
    row("domains", id=3, tenant_id=2, hostname="globex.test", is_primary=True, created_at=THEN),
    row("roles", id=1, tenant_id=1, name="owner", description="Runs the shop",
        permissions="admin-read,admin-write"),
    row("roles", id=2, tenant_id=2, name="owner", description=None, permissions=None),
    row("users", id=1, tenant_id=1, email="owner@acme.test", name="Olive Owner",
        password="owner-secret", active=True, fs_uniquifier="u" * 32, confirmed_at=THEN,
        created_at=THEN),
    row("users", id=2, tenant_id=1, email="sam@example.com", name="Sam Shopper",
        password="sam-secret", active=True, fs_uniquifier="s" * 32, confirmed_at=None,
        created_at=LATER),
    row("users", id=3, tenant_id=2, email="owner@globex.test", name=None, password=None,
        active=False, fs_uniquifier="g" * 32, confirmed_at=None, created_at=THEN),
    row("roles_users", tenant_id=1, user_id=1, role_id=1),
    row("roles_users", tenant_id=2, user_id=3, role_id=2),
    row("categories", id=1, tenant_id=1, slug="tools", name="Tools", parent_id=None, position=0),
    row("categories", id=2, tenant_id=1, slug="hammers", name="Hämmer & Co", parent_id=1,
        position=1),
    row("categories", id=3, tenant_id=2, slug="tools", name="Globex tools", parent_id=None,
        position=0),
    row("products", id=1, tenant_id=1, sku="ANV-1", slug="anvil", title="Anvil",
        description="Heavy.\nDrops well.", price=12999, compare_at_price=14999, stock=7,
        active=True, featured=True, image_url="https://cdn.example/anvil.png", created_at=THEN),
    row("products", id=2, tenant_id=1, sku="ROPE", slug="rope", title="Rope", description="",
        price=5, compare_at_price=None, stock=0, active=False, featured=False, image_url=None,
        created_at=LATER),
    row("products", id=3, tenant_id=2, sku="ANV-1", slug="anvil", title="Globex anvil",
        description="Theirs.", price=100, compare_at_price=None, stock=1, active=True,
        featured=False, image_url=None, created_at=THEN),
    row("product_categories", tenant_id=1, product_id=1, category_id=2),
    row("product_categories", tenant_id=2, product_id=3, category_id=3),
    row("order_counters", id=1, tenant_id=1, next_number=1003),
    row("carts", id=1, tenant_id=1, token="t" * 40, user_id=2, updated_at=LATER),
    row("carts", id=2, tenant_id=1, token="a" * 40, user_id=None, updated_at=THEN),
    row("cart_items", id=1, tenant_id=1, cart_id=1, product_id=1, quantity=2),
    row("cart_items", id=2, tenant_id=1, cart_id=2, product_id=2, quantity=1),
    row("orders", id=1, tenant_id=1, number="ACME-1001", user_id=2, email="sam@example.com",
        name="Sam Shopper", address="1 Road", postal_code="10115", city="Berlin", country="DE",
        shipping_label="Standard", shipping=495, subtotal=26003, total=26498, currency="EUR",
        payment_method="bank_transfer", status="paid", note="Leave at the door",
        created_at=THEN, updated_at=LATER, checkout_key="k" * 32),
    row("orders", id=2, tenant_id=1, number="ACME-1002", user_id=None, email="guest@example.com",
        name="Guest", address="2 Lane", postal_code="75001", city="Paris", country="FR",
        shipping_label="Pickup", shipping=0, subtotal=5, total=5, currency="EUR",
        payment_method="cash_on_delivery", status="cancelled", note="", created_at=LATER,
        updated_at=LATER, checkout_key=None),
    row("order_lines", id=1, tenant_id=1, order_id=1, product_id=1, sku="ANV-1", title="Anvil",
        unit_price=12999, quantity=2, line_total=25998),
    row("order_lines", id=2, tenant_id=1, order_id=1, product_id=2, sku="ROPE", title="Rope",
        unit_price=5, quantity=1, line_total=5),
    row("order_lines", id=3, tenant_id=1, order_id=2, product_id=None, sku="GONE",
        title="A product since deleted", unit_price=5, quantity=1, line_total=5),
    row("outbox", id=1, tenant_id=1, kind="mail", dedupe_key="order-paid:ACME-1001",
        payload='{"to": "sam@example.com"}', status="done", attempts=1, next_attempt_at=THEN,
        last_error="", created_at=THEN, done_at=LATER),
    row("outbox", id=2, tenant_id=1, kind="webhook", dedupe_key="wh:1:order.paid",
        payload="{}", status="pending", attempts=3, next_attempt_at=LATER,
        last_error="timed out", created_at=THEN, done_at=None),
    row("api_keys", id=1, tenant_id=1, user_id=1, name="ERP", prefix="sk_acme1",
        key_hash="h" * 64, created_at=THEN, expires_at=None, last_used_at=LATER,
        revoked_at=None),
    row("user_sessions", id=1, tenant_id=1, user_id=2, sid_hash="x" * 64, created_at=LATER),
    row("webhook_endpoints", id=1, tenant_id=1, url="https://erp.example/hook",
        secret="w" * 64, events="order.paid,order.refunded", active=True, failures=2,
        disabled_reason="", created_at=THEN),
    row("periodic_runs", id=1, tenant_id=1, task="release_unpaid", period=4711,
        ran_at=LATER),
]  # fmt: skip

# What the upgrade adds to the rows it finds: the migrations' server defaults and
# back-fills, i.e. how an old row reads to today's code.
ADDED = {
    "tenants": {"database": "main"},
    # Domains that served before ownership proofs existed stay trusted and verified.
    "domains": {"status": "verified", "trusted": True, "verify_token": None, "last_check": ""},
    "users": {"locale": None},
    "categories": {"translations": None},
    # Changed last when they were made; taxed at the standard rate.
    "products": {"translations": None, "tax_class": "standard", "options": None},
    "orders": {"locale": None, "carrier": None, "tracking_number": None, "discount": 0,
               "discount_code": None, "tax": 0, "tax_included": False, "tax_lines": None,
               "refunded": 0, "restocked_at": None, "payment_ref": None},
    "order_lines": {"discount": 0, "tax": 0, "tax_rate": "0", "variant_id": None,
                    "variant": None},
    "cart_items": {"variant_id": None},
    "api_keys": {"scopes": None},
}  # fmt: skip


def test_a_database_of_shops_from_before_languages_and_money_upgrades_intact(
    alembic_runner: MigrationContext, migrations_app: Any
) -> None:
    """Every row of every kind the old release held comes through the upgrade to head with
    its values, gains the documented defaults, and reads through today's services. (On
    SQLite the money migration's copy of ``orders`` once cascaded to every order line:
    migrations/env.py now migrates with foreign keys off.)"""
    alembic_runner.migrate_up_before(LANGUAGES)
    assert alembic_runner.current == OLD_RELEASE
    alembic_runner.insert_into(None, OLD_ROWS)
    with db.engine.begin() as conn:  # the migrations seed the registry's one row
        conn.execute(text("UPDATE registry_state SET generation = 4, next_tenant_id = 3"))
    alembic_runner.migrate_up_to("heads")

    if db.engine.dialect.name == "sqlite":  # off while migrating (migrations/env.py), not after
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    head = MetaData()
    head.reflect(db.engine)
    with db.engine.connect() as conn:
        for old in OLD_ROWS:
            table = head.tables[old["__tablename__"]]
            old_values = {k: v for k, v in old.items() if k != "__tablename__"}
            key = [table.c[c.name] == old_values[c.name] for c in table.primary_key.columns]
            found = conn.execute(select(table).where(*key)).mappings().all()
            assert len(found) == 1, (table.name, old_values)  # still there, once
            now = found[0]
            expected = {**old_values, **ADDED.get(table.name, {})}
            if table.name == "products":
                expected["updated_at"] = old_values["created_at"]  # the back-fill
            assert {k: now[k] for k in expected} == expected, table.name
        registry = conn.execute(text("SELECT id, generation, next_tenant_id FROM registry_state"))
        assert registry.all() == [(1, 4, 3)]
        for table in {old["__tablename__"] for old in OLD_ROWS} - {"roles"}:
            count = conn.execute(select(db.func.count()).select_from(head.tables[table]))
            assert count.scalar_one() == sum(o["__tablename__"] == table for o in OLD_ROWS)
        # Roles: each shop's old rows, and the dashboard roles it lacked (a7c3e9f1d2b4).
        roles = head.tables["roles"]
        for shop_id in (1, 2):
            names = conn.execute(select(roles.c.name).where(roles.c.tenant_id == shop_id))
            assert set(names.scalars()) >= set(SHOP_ROLES) - {"customer"}

    read_through_todays_code()


def read_through_todays_code() -> None:
    """The ORM and the services of today read the upgraded rows, each shop its own."""
    from storefront.catalog import services as catalog
    from storefront.orders import services as orders
    from storefront.tenancy.context import tenant_context

    with tenant_context("acme"):
        anvil = catalog.get_product("anvil")
        assert anvil is not None and anvil.title == "Anvil" and anvil.price == 12999
        assert [c.slug for c in anvil.categories] == ["hammers"]
        assert [c.slug for c in catalog.category_tree()] == ["tools"]
        order = orders.get_order("ACME-1001")
        assert order is not None
        assert (order.subtotal, order.shipping, order.discount, order.tax) == (26003, 495, 0, 0)
        assert order.total == 26498 and order.currency == "EUR"
        assert [(line.sku, line.line_total) for line in order.lines] == [
            ("ANV-1", 25998),
            ("ROPE", 5),
        ]
        assert [o.number for o in orders.orders_of(2)] == ["ACME-1001"]
    with tenant_context("globex"):
        globex_anvil = catalog.get_product("anvil")
        assert globex_anvil is not None and globex_anvil.title == "Globex anvil"
        assert orders.get_order("ACME-1001") is None
