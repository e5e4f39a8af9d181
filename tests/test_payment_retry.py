"""A cancelled or failed card payment is not a dead end: from the order's page (its
shopper's, or a guest's through the mail link) and through the API, the shopper pays again
with a new Stripe session for the order's total, or switches to another method the shop
offers. One live session at a time: the old one is closed first and its events no longer
settle or cancel the order; a double click makes one session; a paid order refuses."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import select

from storefront.orders import services as orders
from storefront.orders.stripe_events import PaymentEvent
from storefront.tenancy.context import tenant_context
from tests import test_stripe as card
from tests.fixtures.factories import csrf_from, host, login
from tests.test_stripe import WEBHOOK_SECRET, deliver_into, pay_by_card, status_of, stock, wait_for

shop = card.shop  # the Acme shop with Stripe keys and an anvil in stock
stripe_fake = card.stripe_fake

NUMBER = "ACME-1001"


def session_of(answer):
    return answer.headers["Location"].rsplit("/", 1)[1]


def order_row(app, shop):
    with app.app_context(), tenant_context(shop):
        from storefront.extensions import db

        db.session.expire_all()
        order = orders.get_order(NUMBER)
        return order.payment_method, order.payment_ref


def events(app, shop, reference):
    with app.app_context(), tenant_context(shop):
        from storefront.extensions import db

        rows = db.session.scalars(select(PaymentEvent).where(PaymentEvent.reference == reference))
        return [(r.kind, r.outcome, r.reason) for r in rows]


def cancel_on_stripe(client, stripe_fake, session_id):
    """The shopper presses Cancel on Stripe's page: back to the order's page."""
    back = stripe_fake.sessions[session_id].cancel_url
    path = back.split("://", 1)[1].split("/", 1)[1]
    landed = client.get(f"/{path}", headers={"Host": back.split("/")[2]}, follow_redirects=True)
    assert landed.status_code == 200
    return landed.text


def pay_again(client, shop, page, method="stripe"):
    return client.post(
        f"/orders/{NUMBER}/payment",
        data={"payment_method": method, "csrf_token": csrf_from(page)},
        headers=host(shop),
    )


def test_cancel_then_pay_again_makes_a_new_session_whose_webhook_settles(app, shop, stripe_fake):
    stripe_fake.deliver_to(WEBHOOK_SECRET, deliver_into(app, shop))
    client, answer = pay_by_card(app, shop)
    old = session_of(answer)
    page = cancel_on_stripe(client, stripe_fake, old)
    assert "Pay for this order" in page and f'action="/orders/{NUMBER}/payment"' in page
    again = pay_again(client, shop, page)
    assert again.status_code == 302 and again.headers["Location"].startswith(stripe_fake.base)
    new = session_of(again)
    assert new != old and stripe_fake.sessions[new].amount_total == 2500
    assert stripe_fake.sessions[old].status == "expired"  # the old one can no longer be paid
    assert order_row(app, shop) == ("stripe", new) and stock(app, shop) == 4
    # The old session's expiry event arrives: it is not the order's session any more.
    assert wait_for(
        lambda: ("checkout.session.expired", "refused", "other_session") in events(app, shop, old)
    )
    assert status_of(app, shop) == "pending" and stock(app, shop) == 4
    stripe_fake.complete(new)
    assert wait_for(lambda: status_of(app, shop) == "paid")
    assert stock(app, shop) == 4


def test_the_old_sessions_late_completion_does_not_settle(app, shop, stripe_fake):
    """Decided: only the order's current session settles it. Stripe cannot take money on
    the old one (it is expired before the new one exists); an event claiming it anyway is
    refused and shown to the owner, so the order is settled once, by its own session."""
    stripe_fake.deliver_to(WEBHOOK_SECRET, deliver_into(app, shop))
    client, answer = pay_by_card(app, shop)
    old = session_of(answer)
    page = cancel_on_stripe(client, stripe_fake, old)
    new = session_of(pay_again(client, shop, page))
    stripe_fake.complete(old)  # forced: a late (or forged-by-replay) completion
    assert wait_for(
        lambda: ("checkout.session.completed", "refused", "other_session") in events(app, shop, old)
    )
    assert status_of(app, shop) == "pending"
    stripe_fake.complete(new)
    assert wait_for(lambda: status_of(app, shop) == "paid")
    assert [e[1] for e in events(app, shop, new)] == ["applied"]


def test_a_paid_session_is_not_replaced(app, shop, stripe_fake):
    """Paid in another tab before the webhook came: paying again refuses, nothing new."""
    client, answer = pay_by_card(app, shop)
    old = session_of(answer)
    page = cancel_on_stripe(client, stripe_fake, old)
    stripe_fake.deliver_to(WEBHOOK_SECRET, lambda body, headers: 503)  # webhook delayed
    stripe_fake.complete(old)
    made = len(stripe_fake.sessions)
    refused = pay_again(client, shop, page)
    assert refused.status_code == 302 and refused.headers["Location"].endswith(NUMBER)
    assert "went through" in client.get(f"/orders/{NUMBER}", headers=host(shop)).text
    assert len(stripe_fake.sessions) == made and order_row(app, shop) == ("stripe", old)


def test_switch_to_bank_transfer(app, shop, stripe_fake):
    stripe_fake.deliver_to(WEBHOOK_SECRET, deliver_into(app, shop))
    client, answer = pay_by_card(app, shop)
    old = session_of(answer)
    page = cancel_on_stripe(client, stripe_fake, old)
    assert 'value="bank_transfer"' in page
    switched = pay_again(client, shop, page, method="bank_transfer")
    assert switched.status_code == 302 and switched.headers["Location"].endswith(NUMBER)
    assert order_row(app, shop) == ("bank_transfer", None)
    assert stripe_fake.sessions[old].status == "expired" and stock(app, shop) == 4
    shown = client.get(f"/orders/{NUMBER}", headers=host(shop)).text
    assert "Bank transfer" in shown
    stripe_fake.complete(old)
    assert wait_for(
        lambda: ("checkout.session.completed", "refused", "not_card") in events(app, shop, old)
    )
    assert status_of(app, shop) == "pending"
    # A method the shop does not offer is refused, the order unchanged.
    refused = pay_again(client, shop, shown, method="cash_on_delivery")
    assert refused.status_code == 302 and order_row(app, shop) == ("bank_transfer", None)


def test_a_guest_pays_again_through_the_mail_link(app, shop, stripe_fake, outbox):
    _client, answer = pay_by_card(app, shop)
    old = session_of(answer)
    (mail,) = outbox
    link = re.search(rf"http://[^\s]+/orders/{NUMBER}\?key=[\w-]+", mail.body).group(0)
    browser = app.test_client()  # another device: no session, only the mail
    path = "/" + link.split("/", 3)[3]
    page = browser.get(path, headers=host(shop), follow_redirects=True).text
    assert "Pay for this order" in page
    again = pay_again(browser, shop, page)
    assert again.status_code == 302 and session_of(again) != old


def test_another_shopper_cannot_pay_someone_elses_order(app, shop, stripe_fake, make_user):
    client, answer = pay_by_card(app, shop)
    page = cancel_on_stripe(client, stripe_fake, session_of(answer))
    stranger = app.test_client()
    make_user(shop, email="eve@example.com")
    login(stranger, shop, "eve@example.com")
    own_page = stranger.get("/cart/", headers=host(shop)).text
    token = csrf_from(own_page) if "csrf_token" in own_page else csrf_from(page)
    tried = stranger.post(
        f"/orders/{NUMBER}/payment",
        data={"payment_method": "bank_transfer", "csrf_token": token},
        headers=host(shop),
    )
    assert tried.status_code == 404
    api = app.test_client(use_cookies=False)
    for key in (None, "forged-key-123"):
        headers = {**host(shop), **({"X-Order-Key": key} if key else {})}
        answer = api.post(f"/api/v1/orders/{NUMBER}/payment", json={}, headers=headers)
        assert answer.status_code == 404
    assert order_row(app, shop)[0] == "stripe"


def test_a_paid_order_refuses_to_be_paid_again(app, shop, stripe_fake):
    stripe_fake.deliver_to(WEBHOOK_SECRET, deliver_into(app, shop))
    client, answer = pay_by_card(app, shop)
    page = cancel_on_stripe(client, stripe_fake, session_of(answer))
    stripe_fake.complete(session_of(answer))
    assert wait_for(lambda: status_of(app, shop) == "paid")
    assert "Pay for this order" not in client.get(f"/orders/{NUMBER}", headers=host(shop)).text
    refused = pay_again(client, shop, page)
    assert refused.status_code == 302
    shown = client.get(f"/orders/{NUMBER}", headers=host(shop)).text
    assert "no longer awaiting payment" in shown
    key = placed_key(app, shop)
    api = app.test_client(use_cookies=False)
    answer = api.post(
        f"/api/v1/orders/{NUMBER}/payment", json={}, headers={**host(shop), "X-Order-Key": key}
    )
    assert answer.status_code == 409
    assert answer.json["error"]["code"] == "order_not_awaiting_payment"


def placed_key(app, shop):
    with app.test_request_context("/", headers=host(shop)), tenant_context(shop):
        return orders.order_key(orders.get_order(NUMBER))


@pytest.fixture
def unreachable(app, stripe_fake):
    """Stripe cannot be reached (nothing listens there), until the test puts it back."""
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"

    def back():
        app.config["STRIPE_API_BASE"] = stripe_fake.base

    return back


def api_checkout(app, shop):
    client = app.test_client(use_cookies=False)
    product = client.get("/api/v1/products?per_page=1", headers=host(shop)).json["data"][0]
    added = client.post(
        "/api/v1/cart/items", json={"product_id": product["id"], "quantity": 1}, headers=host(shop)
    )
    headers = {
        **host(shop),
        "X-Cart-Token": added.json["data"]["token"],
        "Idempotency-Key": "k" * 24,
    }
    body = {
        "email": "ada@example.com",
        "name": "Ada Shopper",
        "address": "1 Main Street",
        "postal_code": "12345",
        "city": "Springfield",
        "country": "US",
        "payment_method": "stripe",
    }
    return client, client.post("/api/v1/checkout", json=body, headers=headers)


def test_the_api_starts_the_payment_again_after_stripe_was_unreachable(
    app, shop, stripe_fake, unreachable
):
    stripe_fake.deliver_to(WEBHOOK_SECRET, deliver_into(app, shop))
    client, placed = api_checkout(app, shop)
    assert placed.status_code == 201
    data = placed.json["data"]
    assert data["payment"]["redirect_url"] is None and stock(app, shop) == 4
    headers = {**host(shop), "X-Order-Key": data["order_key"]}
    url = f"/api/v1/orders/{NUMBER}/payment"
    down = client.post(url, json={}, headers=headers)
    assert down.status_code == 502 and down.json["error"]["code"] == "payment_unavailable"
    unreachable()  # Stripe is back
    made = len(stripe_fake.sessions)
    first = client.post(url, json={}, headers=headers)
    assert first.status_code == 200, first.json
    redirect_url = first.json["data"]["payment"]["redirect_url"]
    assert redirect_url.startswith(stripe_fake.base)
    # Asked again later: a new session, the one before closed; one live session.
    second = client.post(url, json={}, headers=headers)
    replaced = second.json["data"]["payment"]["redirect_url"]
    assert replaced != redirect_url and len(stripe_fake.sessions) == made + 2
    assert stripe_fake.sessions[redirect_url.rsplit("/", 1)[1]].status == "expired"
    stripe_fake.complete(replaced.rsplit("/", 1)[1])
    assert wait_for(lambda: status_of(app, shop) == "paid")
    late = client.post(url, json={"payment_method": "bank_transfer"}, headers=headers)
    assert late.status_code == 409 and late.json["error"]["code"] == "order_not_awaiting_payment"


def test_racing_pay_again_requests_leave_one_live_session(app, shop, stripe_fake):
    client, placed = api_checkout(app, shop)
    headers = {**host(shop), "X-Order-Key": placed.json["data"]["order_key"]}
    made = len(stripe_fake.sessions)
    barrier = threading.Barrier(3)
    answers = []

    def click():
        barrier.wait()
        answer = app.test_client(use_cookies=False).post(
            f"/api/v1/orders/{NUMBER}/payment", json={}, headers=headers
        )
        answers.append((answer.status_code, answer.json))

    threads = [threading.Thread(target=click) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Clicks that overlap share one session; one that the scheduler runs after another
    # answered is "a later call" and replaces it (the one before is expired at Stripe).
    # Either way: no error, and one live session, the order's own.
    assert all(status in (200, 409) for status, _ in answers), answers
    urls = {a["data"]["payment"]["redirect_url"] for status, a in answers if status == 200}
    assert 1 <= len(urls) <= 3, answers
    live = [s for s in list(stripe_fake.sessions.values())[made:] if s.status == "open"]
    assert len(live) == 1 and order_row(app, shop)[1] == live[0].id
