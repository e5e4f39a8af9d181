"""Jobs on Redis: each outbox row becomes a Dramatiq message carrying its shop; a worker
runs it in that shop, once, within the shop's concurrency cap."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable

import pytest
from dramatiq import Worker
from sqlalchemy import select

from storefront import create_app
from storefront.extensions import db
from storefront.outbox.models import OutboxMessage
from storefront.tenancy import all_tenants
from tests.fixtures.app import BufferedClient
from tests.fixtures.factories import host
from tests.test_caching import RedisServer
from tests.test_commerce import add_to_cart, checkout
from tests.test_webhooks import Receiver, add_endpoint


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is needed for the jobs tests (apt-get install redis-server)")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app(app_config, redis_server):
    """The app with JOBS_BACKEND = "redis" on a Redis of its own."""
    app = create_app(
        {
            **app_config,
            "REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/0",
            "JOBS_BACKEND": "redis",
            "JOBS_PER_SHOP": 1,
        }
    )
    app.test_client_class = BufferedClient  # closes responses, as a server does
    return app


def statuses(app) -> list[str]:
    with app.app_context(), all_tenants():
        return list(db.session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))


def wait_for(check: Callable[[], bool], seconds: float = 10.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.fixture
def worker(app):
    running = Worker(app.extensions["storefront.jobs"], worker_threads=2, worker_timeout=100)
    running.start()
    yield running
    running.stop()


def test_an_order_mail_waits_for_the_worker_and_goes_out_once(app, make_shop, product, outbox):
    shop = make_shop("acme")
    product(shop, "anvil")
    client = app.test_client()
    add_to_cart(client, shop, "anvil")
    assert checkout(client, shop).status_code == 302
    assert outbox == [] and statuses(app) == ["pending"]  # queued, not sent in the request
    running = Worker(app.extensions["storefront.jobs"], worker_threads=2, worker_timeout=100)
    running.start()
    try:
        wait_for(lambda: statuses(app) == ["done"])
    finally:
        running.stop()
    assert [m.subject for m in outbox] == ["Acme: thank you for your order ACME-1001"]


def test_one_shops_hanging_endpoint_does_not_hold_the_others(app, worker, make_shop, product):
    slow, fast = Receiver(), Receiver()
    slow.delay = 3.0
    try:
        acme, globex = make_shop("acme"), make_shop("globex")
        add_endpoint(app, acme, slow.url, ["product.created"])
        add_endpoint(app, globex, fast.url, ["product.created"])
        for i in range(3):  # three hanging deliveries for acme, queued first
            product(acme, f"crate-{i}")
        product(globex, "tent")
        from storefront.jobs.broker import enqueue_due

        with app.app_context():
            assert enqueue_due() == 4
        started = time.monotonic()
        wait_for(lambda: len(fast.requests) == 1, seconds=10)
        waited = time.monotonic() - started
        # Cap 1 per shop: one worker thread hangs on acme, the other serves globex.
        assert waited < 2.5, waited
    finally:
        slow.close()
        fast.close()


def test_a_message_of_a_deleted_shop_is_dropped(app, worker, runner, make_shop, product):
    shop = make_shop("acme")
    actor = app.extensions["storefront.jobs.actor"]
    assert runner.invoke(["delete", "acme", "--yes", "--no-export"]).exit_code == 0
    actor.send(12345, shop.id)  # an outbox row of a shop that no longer exists
    time.sleep(0.5)
    assert worker.broker is not None  # nothing crashed; the message was dropped


def test_rows_committed_while_redis_was_down_are_swept_later(
    app, make_shop, product, outbox, redis_server
):
    from storefront.jobs.broker import enqueue_due

    shop = make_shop("acme")
    product(shop, "anvil")
    redis_server.stop()
    client = app.test_client()
    add_to_cart(client, shop, "anvil")
    assert checkout(client, shop).status_code == 302  # Redis down: still an order page
    assert statuses(app) == ["pending"]
    redis_server.start()
    with app.app_context():
        assert enqueue_due() == 1
    running = Worker(app.extensions["storefront.jobs"], worker_threads=1, worker_timeout=100)
    running.start()
    try:
        wait_for(lambda: statuses(app) == ["done"])
    finally:
        running.stop()
    assert len(outbox) == 1
    client.get("/", headers=host(shop))
