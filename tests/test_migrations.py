"""The committed migrations and the models agree, and migrating keeps the app's loggers."""

from __future__ import annotations

import logging

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

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
