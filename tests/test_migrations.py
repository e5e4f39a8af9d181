"""The committed migrations and the models agree, and migrating keeps the app's loggers."""

from __future__ import annotations

import logging

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select, text

from storefront.extensions import db


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_running_migrations_does_not_silence_the_apps_loggers(app):
    logger = logging.getLogger("storefront.tenancy.registry")
    with app.app_context():
        flask_migrate.upgrade()  # already at head: runs env.py and its fileConfig
    assert not logger.disabled
    assert not logging.getLogger("storefront").disabled


def test_migrations_are_shared_by_all_shops(app, make_shop):
    """One schema for every shop: no table is created per shop."""
    with app.app_context():
        before = set(db.inspect(db.engine).get_table_names())
    for i in range(3):
        make_shop(f"shop{i}")
    with app.app_context():
        assert set(db.inspect(db.engine).get_table_names()) == before


def test_each_test_runs_in_its_own_database(app, database_url, make_shop):
    """The suite's isolation: a fresh copy of the migrated template per test."""
    from sqlalchemy import func, select

    from storefront.tenancy.models import Tenant

    assert app.config["DATABASE_URL"] != database_url
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 0
    make_shop("acme")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 1
    template = create_engine(database_url)
    with template.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM tenants")).scalar_one() == 0
    template.dispose()


def test_the_discount_backfill_counts_each_customer_once_however_spelt(app, make_shop):
    """Redemptions stored before customer keys (lower-cased addresses, each spelling a
    customer of its own) are re-keyed and renumbered in the order they were made."""
    import importlib.util

    from alembic.operations import Operations

    from storefront.config import migrations_dir
    from storefront.orders import discounts
    from storefront.orders.discounts import DiscountRedemption
    from storefront.orders.models import Order
    from storefront.tenancy.context import tenant_context

    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        code = discounts.create_code("ONCE", "amount", 100, max_uses_per_customer=1)
        for n, spelling in enumerate(
            ["sam@example.com", "sam+x@example.com", "\u0455am@example.com", "tom@example.com"]
        ):
            order = Order(
                number=f"ACME-{n}", email=spelling, name="S", address="A", postal_code="1",
                city="C", country="US", shipping_label="", shipping=0, subtotal=0, total=0,
                currency="USD", payment_method="manual",
            )  # fmt: skip
            db.session.add(order)
            db.session.flush()
            db.session.add(
                DiscountRedemption(
                    code_id=code.id, order_id=order.id, customer=spelling, sequence=1
                )
            )
        db.session.commit()
    path = next((migrations_dir() / "versions").glob("b790e6022d62_*.py"))
    spec = importlib.util.spec_from_file_location("backfill", path)
    backfill = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(backfill)
    with (
        app.app_context(),
        db.engine.begin() as conn,
        Operations.context(MigrationContext.configure(conn)),
    ):
        backfill.upgrade()
    with app.app_context(), tenant_context(shop):
        rows = db.session.execute(
            select(DiscountRedemption.customer, DiscountRedemption.sequence).order_by(
                DiscountRedemption.id
            )
        ).all()
    sam, tom = discounts.customer_key("sam@example.com"), discounts.customer_key("tom@example.com")
    assert rows == [(sam, 1), (sam, 2), (sam, 3), (tom, 1)]
