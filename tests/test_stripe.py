"""Card payments through Stripe Checkout, against a local Stripe (localstripe, extended in
tests/fixtures/stripe_fake.py): the order waits for Stripe's signed webhook, replays
change nothing, an expired session releases the stock, refunds go through Stripe."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time

import pytest
from sqlalchemy import select

from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.orders import services as orders
from storefront.orders.stripe_payment import PaymentEvent
from storefront.tenancy.context import tenant_context
from storefront.tenancy.secrets import load_secrets, mask, set_secret
from tests.fixtures.factories import csrf_from, host, tenant_folder
from tests.fixtures.stripe_fake import fake_stripe
from tests.test_commerce import ADDRESS, add_to_cart

WEBHOOK_SECRET = "whsec_testsecret1234"
SHOP = 'name = "Acme"\ncurrency = "USD"\n[payment]\nmethods = ["stripe", "bank_transfer"]\n'


@pytest.fixture
def stripe_fake():
    return fake_stripe()


@pytest.fixture
def shop(app, make_shop, stripe_fake):
    acme = make_shop("acme", settings=SHOP)
    tenants = tenant_folder(app, "acme").parent
    set_secret(tenants, "acme", "stripe.secret_key", "sk_test_acme12345678")
    set_secret(tenants, "acme", "stripe.webhook_secret", WEBHOOK_SECRET)
    app.config["STRIPE_API_BASE"] = stripe_fake.base
    with app.app_context(), tenant_context(acme):
        catalog.create_product("ANV", "Anvil", 2500, stock=5, slug="anvil")
        db.session.commit()
    return acme


def deliver_into(app, shop):
    """Webhooks from the fake Stripe into the app, with the shop's Host header."""

    def post(body, headers):
        client = app.test_client()
        return client.post(
            "/payments/stripe/webhook", data=body, headers={**headers, **host(shop)}
        ).status_code

    return post


def pay_by_card(app, shop):
    client = app.test_client()
    add_to_cart(client, shop, "anvil")
    page = client.get("/checkout", headers=host(shop))
    data = {**ADDRESS, "email": "ada@example.com", "payment_method": "stripe"}
    answer = client.post(
        "/checkout", data={**data, "csrf_token": csrf_from(page.text)}, headers=host(shop)
    )
    return client, answer


def wait_for(check, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def status_of(app, shop, number="ACME-1001"):
    with app.app_context(), tenant_context(shop):
        db.session.expire_all()
        return orders.get_order(number).status


def stock(app, shop):
    with app.app_context(), tenant_context(shop):
        return catalog.product_by_sku("ANV").stock


def test_a_card_payment_goes_to_stripe_and_only_the_webhook_marks_it_paid(app, shop, stripe_fake):
    stripe_fake.deliver_to(WEBHOOK_SECRET, deliver_into(app, shop))
    client, answer = pay_by_card(app, shop)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(f"{stripe_fake.base}/_config/pay/cs_test_")
    session_id = answer.headers["Location"].rsplit("/", 1)[1]
    session = stripe_fake.sessions[session_id]
    assert session.amount_total == 2500 and session.metadata["order_number"] == "ACME-1001"
    assert status_of(app, shop) == "pending"  # coming back is not paying
    stripe_fake.complete(session_id)
    assert wait_for(lambda: status_of(app, shop) == "paid")
    with app.app_context(), tenant_context(shop):
        order = orders.get_order("ACME-1001")
        assert order.payment_ref == session_id and order.payment_intent.startswith("pi_")
    page = client.get("/orders/ACME-1001", headers=host(shop)).text
    assert "Paid" in page


def test_replays_and_late_events_change_nothing_twice(app, shop, stripe_fake):
    stripe_fake.deliver_to(WEBHOOK_SECRET, deliver_into(app, shop))
    _client, answer = pay_by_card(app, shop)
    session_id = answer.headers["Location"].rsplit("/", 1)[1]
    stripe_fake.complete(session_id)
    assert wait_for(lambda: status_of(app, shop) == "paid")
    # The same event again, and an expiry arriving after the payment: no change.
    event = {
        "id": "evt_replayed",
        "type": "checkout.session.completed",
        "data": {"object": stripe_fake.sessions[session_id]._export()},
    }
    for _ in range(2):
        assert signed_post(app, shop, event).get_json()["outcome"] in ("already paid", "replayed")
    stripe_fake.expire(session_id)
    time.sleep(1.5)
    assert wait_for(lambda: len(stripe_fake.deliveries) >= 2)
    assert status_of(app, shop) == "paid" and stock(app, shop) == 4
    with app.app_context(), tenant_context(shop):
        handled = db.session.scalars(select(PaymentEvent.event_id)).all()
        assert handled.count("evt_replayed") == 1


def signed_post(app, shop, event, secret=WEBHOOK_SECRET):
    body = json.dumps(event).encode()
    stamp = int(time.time())
    signature = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    return app.test_client().post(
        "/payments/stripe/webhook",
        data=body,
        headers={
            **host(shop),
            "Content-Type": "application/json",
            "Stripe-Signature": f"t={stamp},v1={signature.hexdigest()}",
        },
    )


def test_an_unsigned_or_forged_webhook_is_refused(app, shop, make_shop):
    event = {
        "id": "evt_forged",
        "type": "checkout.session.completed",
        "data": {"object": {"metadata": {"order_number": "ACME-1001"}, "payment_status": "paid"}},
    }
    assert signed_post(app, shop, event, secret="whsec_wrongsecret999").status_code == 400
    unsigned = app.test_client().post(
        "/payments/stripe/webhook", data=json.dumps(event), headers=host(shop)
    )
    assert unsigned.status_code == 400
    # Signed with Acme's secret but sent to another shop: that shop has no such secret.
    other = make_shop("globex")
    assert signed_post(app, other, event).status_code == 400


def test_an_expired_session_releases_the_stock_once(app, shop, stripe_fake):
    stripe_fake.deliver_to(WEBHOOK_SECRET, deliver_into(app, shop))
    _client, answer = pay_by_card(app, shop)
    assert stock(app, shop) == 4
    session_id = answer.headers["Location"].rsplit("/", 1)[1]
    stripe_fake.expire(session_id)
    assert wait_for(lambda: status_of(app, shop) == "cancelled")
    assert stock(app, shop) == 5


def test_a_refund_goes_through_stripe(app, shop, stripe_fake):
    stripe_fake.deliver_to(WEBHOOK_SECRET, deliver_into(app, shop))
    _client, answer = pay_by_card(app, shop)
    stripe_fake.complete(answer.headers["Location"].rsplit("/", 1)[1])
    assert wait_for(lambda: status_of(app, shop) == "paid")
    with app.test_request_context("/", headers=host(shop)), tenant_context(shop):
        order = orders.get_order("ACME-1001")
        refund = orders.refund(order, 1000, "Dented", key="r1")
        db.session.commit()
        assert refund.provider_ref.startswith("re_")
        orders.refund(order, 1500, "Returned", key="r2")
        db.session.commit()
        assert order.status == "refunded"


def test_without_keys_cards_are_not_offered(app, make_shop, stripe_fake):
    shop = make_shop("nokeys", settings=SHOP)
    app.config["STRIPE_API_BASE"] = stripe_fake.base
    with app.app_context(), tenant_context(shop):
        catalog.create_product("ANV", "Anvil", 2500, stock=5, slug="anvil")
        db.session.commit()
    client = app.test_client()
    add_to_cart(client, shop, "anvil")
    page = client.get("/checkout", headers=host(shop)).text
    assert "Card (Stripe)" not in page and "Bank transfer" in page
    _client, answer = pay_by_card(app, shop)
    assert answer.status_code == 200  # the form again: not a method this shop offers
    with app.app_context(), tenant_context(shop):
        assert orders.get_order("NOKEYS-1001") is None


def test_secrets_live_apart_masked_and_validated(app, shop):
    tenants = tenant_folder(app, "acme").parent
    path = tenants / "acme" / "secrets.toml"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert "sk_test" not in (tenants / "acme" / "tenant.toml").read_text()
    assert load_secrets(tenants, "acme").stripe.secret_key == "sk_test_acme12345678"
    assert mask("sk_test_acme12345678") == "sk_test_…5678"
    from storefront.tenancy.secrets import SecretsError

    with pytest.raises(SecretsError) as caught:
        set_secret(tenants, "acme", "stripe.secret_key", "not-a-key")
    assert "not-a-key" not in str(caught.value)


def test_the_checkout_page_offers_card_first(app, shop):
    client = app.test_client()
    add_to_cart(client, shop, "anvil")
    page = client.get("/checkout", headers=host(shop)).text
    methods = re.findall(r'name="payment_method"[^>]*value="(\w+)"', page)
    assert methods[:2] == ["stripe", "bank_transfer"]


def test_operators_set_secrets_that_exports_leave_out_unless_asked(app, runner, shop, tmp_path):
    assert (
        runner.invoke(
            ["secrets", "set", "acme", "stripe.publishable_key", "pk_test_abcdefgh12"]
        ).exit_code
        == 0
    )
    shown = runner.invoke(["secrets", "show", "acme"]).output
    assert "sk_test_…5678" in shown and "sk_test_acme12345678" not in shown
    bad = runner.invoke(["secrets", "set", "acme", "stripe.secret_key", "oops"])
    assert bad.exit_code == 1 and "oops" not in bad.output
    import tarfile

    plain = tmp_path / "plain.tar.gz"
    assert runner.invoke(["export", "acme", "-o", str(plain)]).exit_code == 0
    with tarfile.open(plain) as tar:
        assert "folder/secrets.toml" not in tar.getnames()
    full = tmp_path / "full.tar.gz"
    assert runner.invoke(["export", "acme", "-o", str(full), "--with-secrets"]).exit_code == 0
    with tarfile.open(full) as tar:
        assert "folder/secrets.toml" in tar.getnames()


def test_the_owner_sees_the_keys_masked(app, shop, make_user):
    from tests.fixtures.factories import login

    make_user(shop, "boss@example.com", roles=["owner"])
    owner = app.test_client()
    assert login(owner, shop, "boss@example.com").status_code == 302
    page = owner.get("/admin/settings", headers=host(shop)).text
    assert "sk_test_…5678" in page and "sk_test_acme12345678" not in page
    assert "whsec_…1234" in page
