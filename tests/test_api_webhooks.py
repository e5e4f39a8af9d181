"""Webhook subscriptions through the admin API (issue 31: Shopify's and Saleor's
integrations subscribe themselves), and deliveries a receiver verifies with the
maintained ``standardwebhooks`` library, the old ``Storefront-Signature`` beside them."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from storefront.accounts import tokens
from storefront.accounts.models import User
from storefront.extensions import db
from storefront.tenancy import tenant_context
from storefront.webhooks import services as webhooks
from storefront.webhooks.models import WebhookEndpoint
from tests.fixtures.factories import host
from tests.test_webhooks import Receiver, settle

OWNER = "owner@example.com"
SCOPES = ["webhooks:read", "webhooks:write", "products:write"]


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def owner_key(app, shop, make_user, scopes=SCOPES) -> dict[str, str]:
    make_user(shop, OWNER, roles=["owner"])
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == OWNER))
        secret = tokens.create_key(user, "hooks", scopes=scopes).secret
        db.session.commit()
    return {**host(shop), "Authorization": f"Bearer {secret}"}


def test_an_integration_manages_its_subscriptions_and_sees_the_secret_once(
    app, client, make_shop, make_user, receiver
):
    acme = make_shop("acme")
    key = owner_key(app, acme, make_user)
    made = client.post(
        "/api/v1/admin/webhooks",
        json={"url": receiver.url, "events": ["order.paid", "product.created"]},
        headers=key,
    )
    assert made.status_code == 201, made.json
    hook = made.json["data"]
    assert made.headers["Location"] == f"/api/v1/admin/webhooks/{hook['id']}"
    secret = hook.pop("secret")
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:], validate=True)) == 24
    assert hook["events"] == ["order.paid", "product.created"] and hook["active"] is True
    listed = client.get("/api/v1/admin/webhooks", headers=key).json["data"]
    assert listed == [hook] and secret not in json.dumps(listed)
    one = client.get(f"/api/v1/admin/webhooks/{hook['id']}", headers=key).json["data"]
    assert one == hook

    changed = client.patch(
        f"/api/v1/admin/webhooks/{hook['id']}",
        json={"events": ["order.shipped"], "active": False},
        headers=key,
    ).json["data"]
    assert changed["events"] == ["order.shipped"] and changed["active"] is False
    assert (
        client.patch(
            f"/api/v1/admin/webhooks/{hook['id']}", json={"events": None}, headers=key
        ).status_code
        == 422
    )

    renewed = client.post(f"/api/v1/admin/webhooks/{hook['id']}/secret", headers=key)
    assert renewed.status_code == 200 and renewed.json["data"]["secret"] != secret

    assert client.delete(f"/api/v1/admin/webhooks/{hook['id']}", headers=key).status_code == 204
    assert client.get(f"/api/v1/admin/webhooks/{hook['id']}", headers=key).status_code == 404
    with app.app_context(), tenant_context(acme):
        assert db.session.scalars(select(WebhookEndpoint)).all() == []


def test_a_failed_endpoint_is_switched_on_again_with_its_failures_forgotten(
    app, client, make_shop, make_user, receiver
):
    acme = make_shop("acme")
    key = owner_key(app, acme, make_user)
    hook = client.post(
        "/api/v1/admin/webhooks", json={"url": receiver.url, "events": ["order.paid"]}, headers=key
    ).json["data"]
    with app.app_context(), tenant_context(acme):
        row = db.session.get(WebhookEndpoint, hook["id"])
        row.active, row.failures, row.disabled_reason = False, 5, "5 deliveries in a row gave up"
        db.session.commit()
    seen = client.get(f"/api/v1/admin/webhooks/{hook['id']}", headers=key).json["data"]
    assert (seen["active"], seen["failures"]) == (False, 5)
    again = client.patch(
        f"/api/v1/admin/webhooks/{hook['id']}", json={"active": True}, headers=key
    ).json["data"]
    assert (again["active"], again["failures"], again["disabled_reason"]) == (True, 0, "")


@pytest.mark.settings(WEBHOOK_ALLOW_PRIVATE=False)
@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0x7f000001/hook",
        "https://acme.test/hook",
        "ftp://example.com/x",
        "javascript:alert(1)",
    ],
)
def test_hostile_urls_are_refused_as_in_the_dashboard(app, client, make_shop, make_user, url):
    acme = make_shop("acme")
    key = owner_key(app, acme, make_user)
    refused = client.post(
        "/api/v1/admin/webhooks", json={"url": url, "events": ["order.paid"]}, headers=key
    )
    assert refused.status_code == 422 and "url" in refused.json["error"]["fields"], refused.json
    with app.app_context(), tenant_context(acme):
        row = webhooks.add_endpoint  # the dashboard's rule is the same function
        with pytest.raises(webhooks.WebhookError):
            row(url, ["order.paid"])
        endpoint = WebhookEndpoint(url="https://hooks.example.com/in", events="order.paid")
        db.session.add(endpoint)
        db.session.commit()
        endpoint_id = endpoint.id
    moved = client.patch(f"/api/v1/admin/webhooks/{endpoint_id}", json={"url": url}, headers=key)
    assert moved.status_code == 422 and "url" in moved.json["error"]["fields"]


def test_at_most_twenty_endpoints(app, client, make_shop, make_user, receiver):
    acme = make_shop("acme")
    key = owner_key(app, acme, make_user)
    body = {"url": receiver.url, "events": ["order.paid"]}
    for _ in range(webhooks.MAX_ENDPOINTS):
        assert client.post("/api/v1/admin/webhooks", json=body, headers=key).status_code == 201
    over = client.post("/api/v1/admin/webhooks", json=body, headers=key)
    assert over.status_code == 409 and over.json["error"]["code"] == "webhook_limit"


def test_one_shops_key_never_reaches_anothers_endpoints(app, client, make_shop, make_user):
    acme, globex = make_shop("acme"), make_shop("globex")
    with app.app_context(), tenant_context(acme):
        theirs = WebhookEndpoint(url="https://hooks.example.com/acme", events="order.paid")
        db.session.add(theirs)
        db.session.commit()
        theirs_id = theirs.id
    key = owner_key(app, globex, make_user)
    assert client.get("/api/v1/admin/webhooks", headers=key).json["data"] == []
    for method in ("GET", "PATCH", "DELETE"):
        extra = {"json": {"active": False}} if method == "PATCH" else {}
        answer = client.open(
            f"/api/v1/admin/webhooks/{theirs_id}", method=method, headers=key, **extra
        )
        assert answer.status_code == 404, method
    assert client.post(f"/api/v1/admin/webhooks/{theirs_id}/secret", headers=key).status_code == 404


def _delivery(app, client, key, receiver, sku="W-1"):
    made = client.post(
        "/api/v1/admin/products", json={"sku": sku, "title": "Widget", "price": 100}, headers=key
    )
    assert made.status_code == 201, made.json
    settle(app)
    headers, body = receiver.requests[-1]
    return {name.lower(): value for name, value in headers.items()}, body


def test_a_delivery_verifies_with_the_standard_webhooks_library(
    app, client, make_shop, make_user, receiver
):
    acme = make_shop("acme")
    key = owner_key(app, acme, make_user)
    secret = client.post(
        "/api/v1/admin/webhooks",
        json={"url": receiver.url, "events": ["product.created"]},
        headers=key,
    ).json["data"]["secret"]
    headers, body = _delivery(app, client, key, receiver)
    event = Webhook(secret).verify(body, headers)  # what a receiver does, off the shelf
    assert event["type"] == "product.created" and event["data"]["sku"] == "W-1"
    assert headers["webhook-id"] == event["id"] == headers["storefront-event-id"]
    assert headers["webhook-timestamp"] == headers["storefront-timestamp"]
    # The deprecated header still verifies for the receivers written against it.
    assert webhooks.verify(secret, headers["storefront-signature"], body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"x" * 24).decode()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "evt_other"})


def test_a_secret_from_before_is_signed_with_its_own_bytes_and_renews_to_a_standard_one(
    app, client, make_shop, make_user, receiver
):
    """Secrets were URL-safe base64 once: the standard header is keyed by their bytes (a
    library that reads URL-safe base64 verifies it); a new secret is standard base64."""
    acme = make_shop("acme")
    key = owner_key(app, acme, make_user)
    legacy = "whsec_" + "ab-_" * 8  # URL-safe alphabet, as secrets.token_urlsafe made them
    with app.app_context(), tenant_context(acme):
        endpoint = webhooks.add_endpoint(receiver.url, ["product.created"])
        endpoint.secret = legacy
        db.session.commit()
        endpoint_id = endpoint.id
    headers, body = _delivery(app, client, key, receiver)
    own_bytes = base64.urlsafe_b64decode("ab-_" * 8)
    assert Webhook(own_bytes).verify(body, headers)["type"] == "product.created"
    assert webhooks.verify(legacy, headers["storefront-signature"], body)
    renewed = client.post(f"/api/v1/admin/webhooks/{endpoint_id}/secret", headers=key)
    secret = renewed.json["data"]["secret"]
    headers, body = _delivery(app, client, key, receiver, sku="W-2")
    assert Webhook(secret).verify(body, headers)["data"]["sku"] == "W-2"
