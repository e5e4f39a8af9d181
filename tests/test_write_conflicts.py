"""A transaction that loses a write race (InnoDB's deadlock victim; Galera's certification
failure, which MariaDB reports the same way; SQLite's busy database) runs again, whole,
and takes effect once: one order, one stock move, one mail, one use of a code."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import OperationalError

from storefront.db import CONFLICT_ATTEMPTS, is_write_conflict, retrying
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.outbox.models import OutboxMessage
from storefront.tenancy import all_tenants, tenant_context
from tests.fixtures.factories import csrf_from, host
from tests.test_commerce import ADDRESS, add_to_cart, checkout, stock_of


class Deadlock(Exception):
    """What PyMySQL raises for InnoDB's ER_LOCK_DEADLOCK, as far as the retry can tell."""


def _conflict_on(app, needle: str, times: int = 1) -> list[str]:
    """Fail the next ``times`` statements containing ``needle`` as a deadlock would."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _lose(_conn, _cursor, statement, _params, _context, _many):
        if needle in statement and len(seen) < times:
            seen.append(statement)
            raise OperationalError(
                statement, {}, Deadlock(1213, "Deadlock found when trying to get lock")
            )

    return seen


def _orders(app, shop) -> int:
    with app.app_context(), tenant_context(shop):
        return db.session.scalar(select(func.count()).select_from(Order))


def _mails(app) -> int:
    with app.app_context(), all_tenants():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


@pytest.mark.parametrize(
    "where", ["UPDATE products", "UPDATE order_counters", "INSERT INTO outbox"]
)
def test_a_checkout_that_loses_a_race_runs_again_and_counts_once(
    app, make_shop, product, where, caplog
):
    shop = make_shop("acme")
    product(shop, "anvil", stock=5)
    client = app.test_client()
    add_to_cart(client, shop, "anvil", quantity=2)
    lost = _conflict_on(app, where, times=2)
    answer = checkout(client, shop)
    assert answer.status_code == 302 and "/orders/" in answer.headers["Location"]
    assert len(lost) == 2  # it did lose, twice, and went through on the third run
    assert _orders(app, shop) == 1
    assert stock_of(app, shop, "anvil") == 3  # moved once
    assert _mails(app) == 1  # the confirmation, queued once
    assert sum("write conflict" in r.getMessage() for r in caplog.records) == 2


def test_an_owners_stock_adjustment_that_loses_a_race_moves_stock_once(app, make_shop, product):
    from tests.fixtures.factories import product_id

    shop = make_shop("acme")
    product(shop, "anvil", stock=5)
    with app.app_context(), tenant_context(shop):
        from storefront.catalog import services as catalog
        from storefront.catalog.models import Product

        target = db.session.get(Product, product_id(app, shop, "anvil"))
        _conflict_on(app, "UPDATE products")
        assert retrying(lambda: catalog.adjust_stock(target, 4)) == 9
    assert stock_of(app, shop, "anvil") == 9


def test_a_transaction_that_keeps_losing_gives_up_after_its_attempts(app, make_shop):
    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        lost = _conflict_on(app, "SELECT 1", times=99)
        with pytest.raises(OperationalError):
            retrying(lambda: db.session.execute(text("SELECT 1")))
        db.session.rollback()
    assert len(lost) == CONFLICT_ATTEMPTS  # bounded: then the error is the caller's


def test_other_errors_are_not_retried(app):
    calls = []

    def work():
        calls.append(1)
        raise ValueError("wrong, not unlucky")

    with app.app_context(), pytest.raises(ValueError, match="unlucky"):
        retrying(work)
    assert calls == [1]
    assert not is_write_conflict(OperationalError("x", {}, Exception(1062, "Duplicate entry")))
    assert is_write_conflict(OperationalError("x", {}, Exception(1205, "Lock wait timeout")))
    assert is_write_conflict(OperationalError("x", {}, Exception("database is locked")))


def test_a_real_innodb_deadlock_is_retried_and_counts_once(app, database_url, make_shop):
    """Two transactions lock two rows in opposite orders; InnoDB rolls back the lighter one
    (ours: the other has changed fifty rows first) and ours, run again, counts once."""
    if not database_url.startswith("mysql"):
        pytest.skip("needs MariaDB/MySQL (STOREFRONT_TEST_DATABASE_URL): InnoDB's deadlocks")
    make_shop("acme")
    with app.app_context():
        url = db.engine.url
        if _galera(db.engine):
            pytest.skip("on Galera two nodes do not wait for each other's row locks")
    other = create_engine(url)
    with other.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS race"))
        conn.execute(text("CREATE TABLE race (id INT PRIMARY KEY, n INT) ENGINE=InnoDB"))
        conn.execute(text("INSERT INTO race VALUES " + ",".join(f"({i}, 0)" for i in range(60))))
    holds_row_2 = threading.Event()
    took_row_1 = threading.Event()
    runs = []

    def rival():
        with other.connect() as conn:
            conn.execute(text("UPDATE race SET n = n + 1 WHERE id >= 10"))  # heavier
            conn.execute(text("UPDATE race SET n = n + 1 WHERE id = 2"))
            holds_row_2.set()
            took_row_1.wait(10)
            conn.execute(text("UPDATE race SET n = n + 1 WHERE id = 1"))  # closes the cycle
            conn.commit()

    def ours():
        runs.append(1)
        db.session.execute(text("UPDATE race SET n = n + 1 WHERE id = 1"))
        if len(runs) == 1:
            took_row_1.set()
        db.session.execute(text("UPDATE race SET n = n + 1 WHERE id = 2"))

    thread = threading.Thread(target=rival)
    thread.start()
    assert holds_row_2.wait(10)
    with app.app_context():
        retrying(ours)
    thread.join(20)
    with other.connect() as conn:
        counts = dict(conn.execute(text("SELECT id, n FROM race WHERE id IN (1, 2)")).all())
        conn.execute(text("DROP TABLE race"))
        conn.commit()
    other.dispose()
    assert len(runs) == 2  # ours was the victim, and ran again
    assert counts == {1: 2, 2: 2}  # each transaction counted once


def _galera(engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT @@wsrep_on")).scalar() == 1


def test_concurrent_writers_of_one_row_each_count_once(app, database_url, caplog):
    """Threads add to one row, each through its own pooled connection: on InnoDB they
    queue on the row lock; on a Galera cluster whose nodes all take writes, a commit
    that loses certification is a deadlock and runs again. Every increment counts once."""
    if not database_url.startswith("mysql"):
        pytest.skip("needs MariaDB/MySQL (STOREFRONT_TEST_DATABASE_URL)")
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS race_counter"))
        conn.execute(text("CREATE TABLE race_counter (id INT PRIMARY KEY, n INT) ENGINE=InnoDB"))
        conn.execute(text("INSERT INTO race_counter VALUES (1, 0)"))
    threads, each = 4, 10
    failures: list[BaseException] = []

    def add() -> None:
        with app.app_context():
            try:
                for _ in range(each):
                    retrying(
                        lambda: db.session.execute(
                            text("UPDATE race_counter SET n = n + 1 WHERE id = 1")
                        )
                    )
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
            finally:
                db.session.remove()

    running = [threading.Thread(target=add) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join(60)
    with app.app_context(), db.engine.begin() as conn:
        total = conn.execute(text("SELECT n FROM race_counter WHERE id = 1")).scalar()
        conn.execute(text("DROP TABLE race_counter"))
    retried = sum("write conflict" in r.getMessage() for r in caplog.records)
    assert failures == [], f"{len(failures)} gave up after {retried} runs again"
    assert total == threads * each


@contextmanager
def _lagging_reads(app, table: str):
    """After the first commit, every read of ``table`` sees no rows: a database node that
    has not applied that commit yet (a Galera node the proxy fails back to while it
    still applies what the others certified)."""
    with app.app_context():
        engine = db.engine
    committed: list[bool] = []

    def _commit(_conn):
        committed.append(True)

    def _lag(_conn, _cursor, statement, params, _context, _many):
        if (
            committed
            and statement.lstrip().upper().startswith("SELECT")
            and (f"FROM {table}" in statement)
        ):
            return f"SELECT * FROM ({statement}) AS lagging WHERE 1 = 0", params
        return statement, params

    event.listen(engine, "commit", _commit)
    event.listen(engine, "before_cursor_execute", _lag, retval=True)
    try:
        yield
    finally:
        event.remove(engine, "commit", _commit)
        event.remove(engine, "before_cursor_execute", _lag)


def test_a_checkout_answers_from_what_it_committed_not_from_a_lagging_read(app, make_shop, product):
    shop = make_shop("acme")
    product(shop, "anvil", stock=5)
    client = app.test_client()
    add_to_cart(client, shop, "anvil")
    page = client.get("/checkout", headers=host(shop))
    data = {**ADDRESS, "email": "ada@example.com", "csrf_token": csrf_from(page.text)}
    with _lagging_reads(app, "orders"):
        answer = client.post("/checkout", data=data, headers=host(shop))
    assert answer.status_code == 302, answer.status_code  # not a 500 for a placed order
    assert "/orders/ACME-" in answer.headers["Location"]
    assert _orders(app, shop) == 1


def test_an_api_checkout_answers_from_what_it_committed_not_from_a_lagging_read(
    app, make_shop, product
):
    shop = make_shop("acme")
    product(shop, "anvil", stock=5, price=1500)
    client = app.test_client(use_cookies=False)
    item = client.get("/api/v1/products", headers=host(shop)).json["data"][0]
    added = client.post(
        "/api/v1/cart/items", json={"product_id": item["id"], "quantity": 2}, headers=host(shop)
    )
    headers = {
        **host(shop),
        "X-Cart-Token": added.json["data"]["token"],
        "Idempotency-Key": "lagging-read-" + "k" * 12,
    }
    body = {**ADDRESS, "email": "ada@example.com", "payment_method": "manual"}
    with _lagging_reads(app, "orders"):
        answer = client.post("/api/v1/checkout", json=body, headers=headers)
    assert answer.status_code == 201, answer.json
    placed = answer.json["data"]["order"]
    assert placed["number"].startswith("ACME-") and placed["totals"]["total"]["amount"] >= 3000
    assert len(placed["lines"]) == 1
    assert _orders(app, shop) == 1
