"""What a page costs the database in round trips: a product page is one statement and
one ROLLBACK (no ping, no second ROLLBACK from the pool), a request that commits rolls
nothing back, and a pooled connection the server dropped while it sat idle is replaced
before a request uses it."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text

from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host


class Trips:
    """Statements and rollbacks sent to the database while it is on."""

    def __init__(self, app, monkeypatch) -> None:
        self.statements: list[str] = []
        self.rollbacks = 0
        with app.app_context():
            self.engine = db.engine
        dialect = self.engine.dialect
        rollback = dialect.do_rollback

        def counted(dbapi_connection) -> None:
            self.rollbacks += 1
            rollback(dbapi_connection)

        monkeypatch.setattr(dialect, "do_rollback", counted)
        event.listen(self.engine, "before_cursor_execute", self._statement)

    def _statement(self, *args, **kwargs) -> None:
        self.statements.append(args[2])

    def reset(self) -> None:
        self.statements.clear()
        self.rollbacks = 0


# The registry's change poll (a statement every REGISTRY_POLL_SECONDS) kept out of sight.
@pytest.mark.settings(SHOP_PAGE_CACHE=False, REGISTRY_POLL_SECONDS=3600)
def test_a_product_page_is_one_statement_and_one_rollback(app, make_shop, monkeypatch):
    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        catalog.create_category("Tools")
        catalog.create_product("ANV", "Anvil", 1999, stock=3, categories=["tools"])
        db.session.commit()
    client = app.test_client()
    client.get("/p/anvil", headers=host(shop))  # warm: the shop's settings, templates
    trips = Trips(app, monkeypatch)
    for _ in range(3):
        trips.reset()
        answer = client.get("/p/anvil", headers=host(shop))
        assert answer.status_code == 200 and "Anvil" in answer.text
        assert len(trips.statements) == 1, trips.statements  # categories, pictures joined
        assert trips.rollbacks == 1


def test_a_request_that_commits_rolls_nothing_back(app, make_shop, monkeypatch):
    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        product = catalog.create_product("ANV", "Anvil", 1999, stock=3)
        db.session.commit()
        product_id = product.id
    client = app.test_client()
    headers = {**host(shop), "Sec-Fetch-Site": "same-origin"}
    client.post("/cart/add", data={"product_id": product_id, "quantity": 1}, headers=headers)
    trips = Trips(app, monkeypatch)
    answer = client.post(
        "/cart/add", data={"product_id": product_id, "quantity": 1}, headers=headers
    )
    assert answer.status_code in (302, 303)
    assert trips.rollbacks == 0


def test_work_left_open_on_a_raw_connection_is_rolled_back_when_pooled(app, make_shop):
    """The pool skips its ROLLBACK only when SQLAlchemy saw the transaction end; a raw
    driver connection (no SQLAlchemy transaction) is rolled back as before."""
    shop = make_shop("acme")
    with app.app_context():
        engine = db.engine
        with engine.connect() as conn:  # the pooled connection ended a transaction cleanly
            conn.execute(text("SELECT 1"))
        raw = engine.raw_connection()
        cursor = raw.cursor()
        cursor.execute(f"UPDATE tenants SET name = 'Changed' WHERE id = {int(shop.id)}")
        cursor.close()
        raw.close()  # back to the pool without commit or rollback
        with engine.begin() as conn:  # whatever the pooled connection holds is committed
            conn.execute(text("SELECT 1"))
        with engine.connect() as conn:
            name = conn.execute(
                text("SELECT name FROM tenants WHERE id = :id"), {"id": shop.id}
            ).scalar()
    assert name != "Changed"


@pytest.mark.settings(MYSQL_PING_IDLE_SECONDS=0.0, REGISTRY_POLL_SECONDS=3600)
def test_a_pooled_connection_the_server_dropped_is_replaced_before_use(
    app, database_url, make_shop
):
    if not database_url.startswith("mysql"):
        pytest.skip("needs MariaDB/MySQL (STOREFRONT_TEST_DATABASE_URL): SQLite has no server")
    shop = make_shop("acme")
    client = app.test_client()
    assert client.get("/products", headers=host(shop)).status_code == 200
    with app.app_context():
        first = db.session.execute(text("SELECT CONNECTION_ID()")).scalar()
        db.session.remove()  # back to the pool
    killer = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with killer.connect() as conn:
        conn.execute(text(f"KILL {int(first)}"))
    killer.dispose()
    assert client.get("/products", headers=host(shop)).status_code == 200
    with app.app_context():
        now = db.session.execute(text("SELECT CONNECTION_ID()")).scalar()
        db.session.remove()
    assert now != first
