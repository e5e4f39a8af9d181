"""Signed webhooks per shop: written with the change, signed, retried, never to private
addresses in production, and one shop's events never reach another shop's endpoints."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from storefront.extensions import db
from storefront.outbox import BACKGROUND_KEY
from storefront.outbox.models import OutboxMessage
from storefront.outbox.services import MAX_ATTEMPTS
from storefront.tenancy import all_tenants, tenant_context
from storefront.tenancy.models import utcnow
from storefront.webhooks import services as webhooks
from storefront.webhooks.models import WebhookEndpoint
from tests.fixtures.factories import csrf_from, host, login
from tests.test_commerce import add_to_cart, checkout


class Receiver:
    """A local HTTP endpoint that records what it is sent and answers ``status``."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def settle(app, seconds: float = 10.0) -> None:
    """Wait for the in-process jobs' webhook threads to finish what they were given."""
    assert app.extensions[BACKGROUND_KEY].wait_idle(seconds), "deliveries still running"


def add_endpoint(app, shop, url, events=("order.created",)):
    with app.app_context(), tenant_context(shop):
        endpoint = webhooks.add_endpoint(url, list(events))
        db.session.commit()
        return endpoint.id, endpoint.secret


def reference_signature(secret: str, timestamp: str, body: bytes) -> str:
    """How a receiver checks: Stripe's scheme, written out independently."""
    signed = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def test_an_order_is_posted_signed_to_the_shops_endpoint_only(
    app, client, make_shop, product, receiver
):
    acme, globex = make_shop("acme"), make_shop("globex")
    other = Receiver()
    try:
        _, secret = add_endpoint(app, acme, receiver.url)
        add_endpoint(app, globex, other.url)
        product(acme, "anvil")
        add_to_cart(client, acme, "anvil")
        assert checkout(client, acme).status_code == 302
        settle(app)
        assert other.requests == []  # globex's endpoint hears nothing of acme
    finally:
        other.close()
    ((headers, body),) = receiver.requests
    event = json.loads(body)
    assert event["type"] == "order.created" and event["shop"] == "acme"
    assert event["data"]["number"] == "ACME-1001" and event["data"]["total"] > 0
    assert headers["Storefront-Event-Id"] == event["id"]
    signature = dict(p.split("=", 1) for p in headers["Storefront-Signature"].split(","))
    assert signature["t"] == headers["Storefront-Timestamp"]
    assert signature["v1"] == reference_signature(secret, signature["t"], body)
    assert webhooks.verify(secret, headers["Storefront-Signature"], body)
    assert not webhooks.verify("whsec_wrong", headers["Storefront-Signature"], body)
    assert not webhooks.verify(secret, headers["Storefront-Signature"], body + b" ")


def test_a_rolled_back_change_sends_nothing(app, make_shop, receiver):
    shop = make_shop("acme")
    add_endpoint(app, shop, receiver.url, ["product.created"])
    with app.app_context(), tenant_context(shop):
        from storefront.catalog import services as catalog

        catalog.create_product("SKU-1", "Ghost", 100)
        db.session.rollback()
        assert db.session.scalars(select(OutboxMessage)).all() == []


def make_due(app) -> None:
    with app.app_context(), all_tenants():
        db.session.execute(
            update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def test_failures_are_retried_and_delivered_once(app, client, runner, make_shop, product, receiver):
    shop = make_shop("acme")
    add_endpoint(app, shop, receiver.url)
    product(shop, "anvil")
    receiver.status = 500
    add_to_cart(client, shop, "anvil")
    assert checkout(client, shop).status_code == 302  # the shopper never waits on it
    settle(app)
    assert len(receiver.requests) == 1
    with app.app_context(), all_tenants():
        row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")).one()
        assert (row.status, row.attempts, row.last_error) == (
            "pending",
            1,
            "RuntimeError: answered 500",
        )
    receiver.status = 204
    make_due(app)
    assert runner.invoke(["outbox", "run"]).exit_code == 0
    assert runner.invoke(["outbox", "run"]).exit_code == 0
    assert len(receiver.requests) == 2
    ids = {h["Storefront-Event-Id"] for h, _ in receiver.requests}
    assert len(ids) == 1  # the same event, so the receiver can deduplicate


@pytest.mark.settings(WEBHOOK_DEADLINE_SECONDS=0.3)
def test_a_hanging_endpoint_times_out(app, client, make_shop, product, receiver):
    shop = make_shop("acme")
    add_endpoint(app, shop, receiver.url)
    product(shop, "anvil")
    receiver.delay = 2.0
    add_to_cart(client, shop, "anvil")
    started = time.monotonic()
    assert checkout(client, shop).status_code == 302
    assert time.monotonic() - started < 1.8
    settle(app)
    with app.app_context(), all_tenants():
        row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")).one()
        assert row.status == "pending" and "Timeout" in row.last_error


def test_an_endpoint_that_keeps_failing_is_switched_off_and_the_owner_told(
    app, client, runner, make_shop, product, receiver, outbox
):
    shop = make_shop("acme", settings='name = "Acme"\ncontact_email = "boss@acme.example"\n')
    endpoint_id, _ = add_endpoint(app, shop, receiver.url, ["product.updated"])
    receiver.status = 503
    for i in range(webhooks.DISABLE_AFTER):
        with app.app_context(), tenant_context(shop):
            webhooks.emit("product.updated", {"i": i})
            db.session.commit()
        with app.app_context(), all_tenants():  # the last attempt of each delivery
            db.session.execute(update(OutboxMessage).values(attempts=MAX_ATTEMPTS - 1))
            db.session.commit()
        make_due(app)
        runner.invoke(["outbox", "run"])
    with app.app_context(), tenant_context(shop):
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert not endpoint.active and "in a row" in endpoint.disabled_reason
    assert any(m.to == ["boss@acme.example"] and "switched off" in m.subject for m in outbox)


@pytest.mark.settings(WEBHOOK_ALLOW_PRIVATE=False)
@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://acme.test/hook",
        "https://shop.localhost/hook",
        "ftp://example.com/x",
        "javascript:alert(1)",
    ],
)
def test_endpoints_never_reach_the_platform_or_a_private_address(app, make_shop, url):
    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop), pytest.raises(webhooks.WebhookError):
        webhooks.add_endpoint(url, ["order.created"])


def test_the_owner_manages_endpoints_and_redelivers_in_the_dashboard(
    app, make_shop, make_user, product, receiver
):
    shop = make_shop("acme")
    make_user(shop, "owner@example.com", roles=["owner"])
    owner = app.test_client()
    login(owner, shop, "owner@example.com")
    page = owner.get("/admin/webhooks/", headers=host(shop))
    assert page.status_code == 200 and "No endpoints yet" in page.text
    added = owner.post(
        "/admin/webhooks/",
        data={"csrf_token": csrf_from(page.text), "url": receiver.url, "events": ["order.created"]},
        headers=host(shop),
    )
    assert added.status_code == 302
    shopper = app.test_client()
    product(shop, "anvil")
    add_to_cart(shopper, shop, "anvil")
    assert checkout(shopper, shop).status_code == 302
    settle(app)
    page = owner.get("/admin/webhooks/", headers=host(shop))
    assert "order.created" in page.text and "delivered" in page.text
    with app.app_context(), all_tenants():
        delivery_id = db.session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.kind == "webhook")
        )
    again = owner.post(
        f"/admin/webhooks/deliveries/{delivery_id}/redeliver",
        data={"csrf_token": csrf_from(page.text)},
        headers=host(shop),
    )
    assert again.status_code == 302
    settle(app)
    assert len(receiver.requests) == 2
    staff_client = app.test_client()
    make_user(shop, "staff@example.com", roles=["staff"])
    login(staff_client, shop, "staff@example.com")
    assert staff_client.get("/admin/webhooks/", headers=host(shop)).status_code == 403


def test_webhooks_cli(app, runner, make_shop, receiver):
    make_shop("acme")
    added = runner.invoke(["webhooks", "add", "acme", receiver.url, "-e", "order.paid"])
    assert added.exit_code == 0 and "whsec_" in added.output
    listed = runner.invoke(["webhooks", "list", "acme", "--json"])
    assert receiver.url in listed.output
    refused = runner.invoke(["webhooks", "add", "acme", receiver.url, "-e", "nope"])
    assert refused.exit_code == 1 and "Events must be among" in refused.output
