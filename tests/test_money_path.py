"""The money path: one checkout makes one order, stock moves once, mail never breaks it."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from storefront.extensions import db
from storefront.orders import services as orders
from storefront.orders.models import Order
from storefront.outbox.models import OutboxMessage
from storefront.tenancy import all_tenants, tenant_context
from storefront.tenancy.models import utcnow
from tests.fixtures.factories import csrf_from, host
from tests.fixtures.mail import FlakyEmailBackend
from tests.test_commerce import ADDRESS, add_to_cart, order_count, stock_of

FLAKY = "tests.fixtures.mail.FlakyEmailBackend"


def checkout_form(client, shop, email="ada@example.com") -> dict[str, str]:
    page = client.get("/checkout", headers=host(shop))
    assert page.status_code == 200
    key = re.search(r'name="checkout_key" type="hidden" value="([^"]+)"', page.text)
    assert key, "the checkout form carries a checkout key"
    return {
        **ADDRESS,
        "email": email,
        "csrf_token": csrf_from(page.text),
        "checkout_key": key.group(1),
    }


def in_parallel(calls: list[Callable[[], object]]) -> list[object]:
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = calls[i]()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_a_checkout_submitted_twice_makes_one_order(app, client, make_shop, product):
    shop = make_shop("acme")
    product(shop, "anvil", stock=5)
    add_to_cart(client, shop, "anvil", 2)
    form = checkout_form(client, shop)
    first = client.post("/checkout", data=form, headers=host(shop))
    again = client.post("/checkout", data=form, headers=host(shop))
    assert first.status_code == again.status_code == 302
    assert first.location == again.location
    assert "/orders/ACME-1001" in again.location
    assert order_count(app, shop) == 1
    assert stock_of(app, shop, "anvil") == 3


@pytest.mark.parametrize("copies", [2, 10])
def test_a_checkout_submitted_at_once_makes_one_order(app, make_shop, product, copies):
    """A double click or a retry racing the first request: one order, one stock move."""
    shop = make_shop("acme")
    product(shop, "anvil", stock=50)
    shopper = app.test_client()
    add_to_cart(shopper, shop, "anvil", 2)
    form = checkout_form(shopper, shop)
    cookie = shopper.get_cookie("session", domain=shop.primary_host)
    assert cookie is not None
    browsers = []
    for _ in range(copies):  # the same browser state, sent by several connections at once
        twin = app.test_client()
        twin.set_cookie("session", cookie.value, domain=shop.primary_host)
        browsers.append(twin)
    answers = in_parallel(
        [lambda b=b: b.post("/checkout", data=form, headers=host(shop)) for b in browsers]
    )
    assert [a.status_code for a in answers] == [302] * copies
    assert {a.location for a in answers} == {"/orders/ACME-1001?placed=1"}
    assert order_count(app, shop) == 1
    assert stock_of(app, shop, "anvil") == 48
    for browser in browsers:  # each of them may see the order it was answered with
        assert browser.get("/orders/ACME-1001", headers=host(shop)).status_code == 200


def test_a_forged_checkout_key_reveals_no_other_order(app, make_shop, product):
    shop = make_shop("acme")
    product(shop, "anvil", stock=5)
    ada, eve = app.test_client(), app.test_client()
    add_to_cart(ada, shop, "anvil")
    form = checkout_form(ada, shop)
    assert ada.post("/checkout", data=form, headers=host(shop)).status_code == 302
    add_to_cart(eve, shop, "anvil")
    eve_form = {**checkout_form(eve, shop), "checkout_key": form["checkout_key"]}
    answer = eve.post("/checkout", data=eve_form, headers=host(shop))
    assert "/orders/ACME-1002" in answer.location  # her own, new order
    assert eve.get("/orders/ACME-1001", headers=host(shop)).status_code == 404


def place(app, client, shop, quantity=5) -> None:
    add_to_cart(client, shop, "anvil", quantity)
    form = checkout_form(client, shop)
    assert client.post("/checkout", data=form, headers=host(shop)).status_code == 302


def test_concurrent_cancels_restock_exactly_once(app, client, make_shop, product):
    shop = make_shop("acme")
    product(shop, "anvil", stock=10)
    place(app, client, shop)
    assert stock_of(app, shop, "anvil") == 5

    def cancel() -> None:
        with app.app_context(), tenant_context(shop):
            order = orders.get_order("ACME-1001")
            assert order is not None
            orders.set_status(order, "cancelled")
            db.session.commit()

    in_parallel([cancel] * 4)
    assert stock_of(app, shop, "anvil") == 10
    cancel()  # and once more, later: still once
    assert stock_of(app, shop, "anvil") == 10


@pytest.mark.settings(MAIL_BACKEND=FLAKY)
def test_smtp_down_after_commit_answers_the_order_and_mails_it_later(
    app, client, runner, make_shop, product
):
    shop = make_shop("acme")
    product(shop, "anvil", stock=5)
    FlakyEmailBackend.down = True
    mailbox = app.extensions["mailman"].outbox = []
    try:
        add_to_cart(client, shop, "anvil")
        form = checkout_form(client, shop)
        answer = client.post("/checkout", data=form, headers=host(shop))
        assert answer.status_code == 302 and "/orders/ACME-1001" in answer.location
        retry = client.post("/checkout", data=form, headers=host(shop))  # the shopper retries
        assert retry.location == answer.location
        assert client.get(answer.location, headers=host(shop)).status_code == 200
        assert order_count(app, shop) == 1
        assert mailbox == []
        with app.app_context(), all_tenants():
            row = db.session.scalars(select(OutboxMessage)).one()
            assert (row.status, row.attempts) == ("pending", 1)
            assert "Connection refused" in row.last_error
    finally:
        FlakyEmailBackend.down = False
    with app.app_context(), all_tenants():  # the backoff has passed
        db.session.execute(
            update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    result = runner.invoke(["outbox", "run"])
    assert result.exit_code == 0, result.output
    assert "delivered 1" in result.output
    assert [m.subject for m in mailbox] == ["Acme: thank you for your order ACME-1001"]
    assert runner.invoke(["outbox", "run"]).output.startswith("delivered 0")
    assert len(mailbox) == 1


def test_outbox_rows_live_and_die_with_their_transaction(app, make_shop):
    from storefront.outbox import enqueue_mail

    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        enqueue_mail("a@example.com", "kept", "body")
        db.session.commit()
        enqueue_mail("b@example.com", "dropped", "body")
        db.session.rollback()
        subjects = db.session.scalars(select(OutboxMessage.payload)).all()
    assert len(subjects) == 1 and '"kept"' in subjects[0]


def test_a_committed_order_is_never_a_500_when_the_provider_fails(app, client, make_shop, product):
    from storefront.orders import payments

    class Broken:
        code = "broken"
        label = "Broken card"

        def instructions(self, order: Order) -> str:
            return ""

        def start(self, order: Order) -> str | None:
            raise RuntimeError("gateway timeout")

    shop = make_shop("acme", settings='name = "Acme"\n[payment]\nmethods = ["broken"]\n')
    product(shop, "anvil", stock=5)
    payments.register(Broken())
    try:
        add_to_cart(client, shop, "anvil")
        form = {**checkout_form(client, shop), "payment_method": "broken"}
        answer = client.post("/checkout", data=form, headers=host(shop))
    finally:
        payments.PROVIDERS.pop("broken", None)
    assert answer.status_code == 302 and "/orders/ACME-1001" in answer.location
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(func.count()).select_from(Order)) == 1


@pytest.mark.settings(OUTBOX_SWEEP_SECONDS=0.2)
def test_in_process_jobs_are_swept_when_no_response_delivered_them(app, client, make_shop, outbox):
    """The embedded default: rows committed where no response delivers them (a server
    that closes responses late, another process) go out within the sweep interval."""
    import time

    from storefront.outbox import SWEEPER_KEY, enqueue_mail

    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        enqueue_mail("ada@example.com", "Hello", "Swept, not forgotten.")
        db.session.commit()  # outside a request and a CLI command: nobody delivers it
    assert client.get("/", headers=host(shop)).status_code == 200  # starts the sweeper
    try:
        deadline = time.monotonic() + 5
        while not outbox and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [m.subject for m in outbox] == ["Hello"]
    finally:
        app.extensions[SWEEPER_KEY][1].set()
