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
from storefront.orders.models import Order
from storefront.orders.stripe_events import PaymentEvent
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
        assert signed_post(app, shop, event).get_json()["outcome"] in (
            "unchanged: already_paid",
            "replayed",
        )
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


# Signed events that name an order they do not pay (issue 29): each is refused, recorded
# for the owner, answered 200 (Stripe stops retrying), and the order does not move.


@pytest.fixture
def gadget(app, shop):
    """A $19.99 product (the red team's order)."""
    with app.app_context(), tenant_context(shop):
        catalog.create_product("GAD", "Gadget", 1999, stock=5, slug="gadget")
        db.session.commit()
    return shop


def order_by(app, shop, method, slug="gadget"):
    """Place an order paid by ``method``; its number and its session (if any)."""
    client = app.test_client()
    add_to_cart(client, shop, slug)
    page = client.get("/checkout", headers=host(shop))
    data = {**ADDRESS, "email": "eve@example.com", "payment_method": method}
    answer = client.post(
        "/checkout", data={**data, "csrf_token": csrf_from(page.text)}, headers=host(shop)
    )
    assert answer.status_code == 302
    with app.app_context(), tenant_context(shop):
        newest = db.session.scalars(select(Order).order_by(Order.id.desc())).first()
        return newest.number, newest.payment_ref


def completed(session, event_id="evt_attack", kind="checkout.session.completed", **changes):
    body = {**session, "payment_status": "paid", "payment_intent": "pi_attack", **changes}
    return {"id": event_id, "type": kind, "data": {"object": body}}


def a_session(shop, number, session_id=None, amount=1999):
    """The session object Stripe would send for ``number`` (by its real one if it has it)."""
    return {
        "id": session_id or "cs_test_forged",
        "object": "checkout.session",
        "amount_total": amount,
        "currency": "usd",
        "client_reference_id": number,
        "metadata": {"order_number": number, "shop": shop.uid},
        "status": "complete",
    }


def order_state(app, shop, number):
    with app.app_context(), tenant_context(shop):
        db.session.expire_all()
        order = orders.get_order(number)
        return order.status, order.payment_intent, catalog.product_by_sku("GAD").stock


def recorded(app, shop, event_id):
    with app.app_context(), tenant_context(shop):
        row = db.session.scalar(select(PaymentEvent).where(PaymentEvent.event_id == event_id))
        return row and (row.outcome, row.reason)


def test_a_completed_event_for_one_cent_does_not_pay_a_1999_order(app, gadget, stripe_fake):
    number, session_id = order_by(app, gadget, "stripe")
    before = order_state(app, gadget, number)
    cheap = completed(a_session(gadget, number, session_id, amount=1))
    answer = signed_post(app, gadget, cheap)
    assert answer.status_code == 200 and answer.get_json()["outcome"] == "refused: amount"
    assert order_state(app, gadget, number) == before == ("pending", None, 4)
    assert recorded(app, gadget, "evt_attack") == ("refused", "amount")
    # The session's own event for the full amount still settles it.
    paid = completed(a_session(gadget, number, session_id), event_id="evt_real")
    assert signed_post(app, gadget, paid).get_json()["outcome"] == "applied: paid"
    assert order_state(app, gadget, number)[:2] == ("paid", "pi_attack")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"currency": "eur"}, "currency"),
        ({"currency": "USD", "amount_total": 199900}, "amount"),
        ({"metadata": {"order_number": "ACME-1001", "shop": "another-shop-uid"}}, "other_shop"),
        ({"metadata": {"order_number": "ACME-1001"}}, "other_shop"),
        ({"id": "cs_test_someone_elses"}, "other_session"),
        ({"metadata": {"order_number": "ACME-9999", "shop": "SHOP"}}, "unknown_order"),
    ],
)
def test_a_completed_event_that_is_not_the_orders_own_changes_nothing(app, gadget, change, reason):
    number, session_id = order_by(app, gadget, "stripe")
    assert number == "ACME-1001"
    session = a_session(gadget, number, session_id)
    if change.get("metadata", {}).get("shop") == "SHOP":  # this shop's uid, made per test
        change = {"metadata": {**change["metadata"], "shop": gadget.uid}}
    answer = signed_post(app, gadget, completed({**session, **change}))
    assert answer.status_code == 200, answer.text
    assert answer.get_json()["outcome"] == f"refused: {reason}"
    assert order_state(app, gadget, number) == ("pending", None, 4)
    assert recorded(app, gadget, "evt_attack") == ("refused", reason)


def test_another_orders_session_does_not_pay_this_one(app, gadget):
    """Pay the cheap order's session, name the dear one: the session is not its own."""
    dear, _dear_session = order_by(app, gadget, "stripe")
    cheap, cheap_session = order_by(app, gadget, "stripe")
    forged = completed(
        {
            **a_session(gadget, cheap, cheap_session),
            "metadata": {"order_number": dear, "shop": gadget.uid},
        }
    )
    assert signed_post(app, gadget, forged).get_json()["outcome"] == "refused: other_session"
    assert order_state(app, gadget, dear)[0] == order_state(app, gadget, cheap)[0] == "pending"


@pytest.mark.parametrize("kind", ["checkout.session.completed", "checkout.session.expired"])
def test_a_card_event_naming_a_bank_transfer_order_changes_nothing(app, gadget, kind):
    number, session_id = order_by(app, gadget, "bank_transfer")
    assert session_id is None  # it never had a Checkout Session
    event = completed(a_session(gadget, number), kind=kind)
    answer = signed_post(app, gadget, event)
    assert answer.status_code == 200 and answer.get_json()["outcome"] == "refused: not_card"
    assert order_state(app, gadget, number) == ("pending", None, 4)  # not paid, not restocked
    assert recorded(app, gadget, "evt_attack") == ("refused", "not_card")


def test_an_expiry_of_another_session_does_not_cancel_a_card_order(app, gadget):
    number, _session_id = order_by(app, gadget, "stripe")
    event = completed(a_session(gadget, number, "cs_test_other"), kind="checkout.session.expired")
    assert signed_post(app, gadget, event).get_json()["outcome"] == "refused: other_session"
    assert order_state(app, gadget, number) == ("pending", None, 4)


def signed_raw(app, shop, body: bytes):
    stamp = int(time.time())
    signature = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    return app.test_client().post(
        "/payments/stripe/webhook",
        data=body,
        headers={
            **host(shop),
            "Content-Type": "application/json",
            "Stripe-Signature": f"t={stamp},v1={signature.hexdigest()}",
        },
    )


def test_signed_but_malformed_events_answer_400_and_are_recorded(app, gadget):
    number, session_id = order_by(app, gadget, "stripe")
    good = a_session(gadget, number, session_id)
    kind = "checkout.session.completed"
    shapes = [
        b"not json at all",
        b"[1, 2, 3]",
        b'"a string"',
        b"{}",
        b'{"id": 5, "type": "checkout.session.completed"}',
        {"id": "evt_m1", "type": kind},
        {"id": "evt_m2", "type": kind, "data": None},
        {"id": "evt_m3", "type": kind, "data": {"object": [good]}},
        {"id": "evt_m4", "type": kind, "data": {"object": "cs_test_x"}},
        completed({**good, "amount_total": "1999"}, event_id="evt_m5"),
        completed({**good, "amount_total": 19.99}, event_id="evt_m6"),
        completed({**good, "amount_total": True}, event_id="evt_m7"),
        completed({**good, "metadata": ["order_number", number]}, event_id="evt_m8"),
        completed({k: v for k, v in good.items() if k != "id"}, event_id="evt_m9"),
        completed({**good, "currency": ["usd"]}, event_id="evt_m10"),
        completed({**good, "metadata": {"order_number": 1001}}, event_id="evt_m11"),
        b"[" * 5000 + b"]" * 5000,
        b"[" * 500 + b"]" * 500,
        {"id": "evt_m12", "type": kind, "data": {"object": {"id": [[[[[[[[]]]]]]]]}}},
    ]
    for shape in shapes:
        body = shape if isinstance(shape, bytes) else json.dumps(shape).encode()
        answer = signed_raw(app, gadget, body)
        assert answer.status_code == 400, (shape, answer.status_code)
        assert order_state(app, gadget, number) == ("pending", None, 4)
    with app.app_context(), tenant_context(gadget):
        unreadable = db.session.scalars(
            select(PaymentEvent.event_id).where(PaymentEvent.outcome == "malformed")
        ).all()
    assert len(unreadable) == len(shapes)
    assert {f"evt_m{i}" for i in range(1, 13)} <= set(unreadable)
    # Stripe retries a 400: the same body again is still 400, and still one row.
    assert signed_raw(app, gadget, b"not json at all").status_code == 400
    paid = completed(good, event_id="evt_real")
    assert signed_post(app, gadget, paid).get_json()["outcome"] == "applied: paid"


def test_the_owner_sees_refused_payment_events(app, gadget, make_user):
    from tests.fixtures.factories import login

    number, session_id = order_by(app, gadget, "stripe")
    signed_post(app, gadget, completed(a_session(gadget, number, session_id, amount=1)))
    make_user(gadget, "boss@example.com", roles=["owner"])
    owner = app.test_client()
    assert login(owner, gadget, "boss@example.com").status_code == 302
    order_page = owner.get(f"/admin/orders/{number}", headers=host(gadget)).text
    assert f"/admin/payments/?order={number}" in order_page
    page = owner.get(f"/admin/payments/?order={number}", headers=host(gadget))
    assert page.status_code == 200
    assert "evt_attack" in page.text and "refused" in page.text
    assert "The amount is not the order&#39;s total." in page.text and "$0.01" in page.text
    # Shoppers and anonymous visitors do not.
    assert app.test_client().get("/admin/payments/", headers=host(gadget)).status_code in (
        302,
        401,
    )
