"""Gift cards: a card pays part or all of an order and the rest is paid as usual; its
balance moves exactly once however checkouts, refunds and cancels race or replay; codes
are stored as keyed digests, unknown at another shop, and guessing them is limited;
bought cards are mailed when the order is paid; the owner sees every movement."""

from __future__ import annotations

import hashlib
import hmac
import re
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storefront.catalog import services as catalog
from storefront.db import unit_of_work
from storefront.extensions import db
from storefront.orders import giftcards
from storefront.orders import services as orders
from storefront.orders.giftcards import GiftCard, GiftCardMovement, codes
from storefront.orders.models import Order
from storefront.outbox.services import run_due
from storefront.privacy import services as privacy
from storefront.tenancy import tenant_context
from tests.fixtures.factories import csrf_from, host, login, product_id
from tests.test_commerce import ADDRESS, add_to_cart

SHOP = """name = "Gifts"
currency = "USD"
[payment]
methods = ["manual", "bank_transfer"]
[shipping]
flat_rate = 500
"""
OWNER = "owner@example.com"
LAMP_TOTAL = 3000 + 500  # the lamp and the flat rate: no tax in this shop


@pytest.fixture
def shop(app, make_shop, make_user):
    gifts = make_shop("gifts", settings=SHOP)
    make_user(gifts, OWNER, roles=["owner"])
    with app.app_context(), tenant_context(gifts):
        catalog.create_product("LAMP", "Lamp", 3000, stock=50, slug="lamp")
        catalog.create_product("GIFT", "Gift card", 5000, stock=0, slug="gift", gift_card=True)
        db.session.commit()
    return gifts


def deliver(app):
    """Send what the outbox holds (rows written outside a request wait for a runner)."""
    with app.app_context():
        run_due()


def issue(app, shop, amount, recipient=""):
    """A card issued by hand; its code."""
    with app.app_context(), tenant_context(shop):
        _card, code = giftcards.issue(amount, recipient=recipient, actor=OWNER)
        db.session.commit()
    return code


def card_of(app, shop, code):
    with app.app_context(), tenant_context(shop):
        card = db.session.scalar(select(GiftCard).where(GiftCard.code_hash == codes.digest(code)))
        db.session.expunge_all()
        return card


def ledger(app, shop, code):
    with app.app_context(), tenant_context(shop):
        card = db.session.scalar(select(GiftCard).where(GiftCard.code_hash == codes.digest(code)))
        return [(m.kind, m.amount, m.balance_after) for m in giftcards.movements_of(card)]


def checkout_form(client, shop, email="ada@example.com", **overrides):
    page = client.get("/checkout", headers=host(shop))
    assert page.status_code == 200
    expected = re.search(r'name="expected_total" type="hidden" value="(\d*)"', page.text)
    form = {**ADDRESS, "email": email, "csrf_token": csrf_from(page.text), **overrides}
    key = re.search(r'name="checkout_key" type="hidden" value="([^"]+)"', page.text)
    form["checkout_key"] = key.group(1)
    if expected and "gift_card_code" not in overrides:
        form["expected_total"] = expected.group(1)
    return form


def buy(client, shop, slug="lamp", **overrides):
    add_to_cart(client, shop, slug)
    form = checkout_form(client, shop, **overrides)
    return client.post("/checkout", data=form, headers=host(shop))


def only_order(app, shop):
    with app.app_context(), tenant_context(shop):
        order = db.session.scalar(select(Order))
        db.session.expunge_all()
        return order


def count(app, shop, model, *where):
    with app.app_context(), tenant_context(shop):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


# Paying with a card ----------------------------------------------------------------------


def test_a_card_pays_part_and_the_rest_is_paid_as_usual(app, client, shop, outbox):
    code = issue(app, shop, 2000)
    placed = buy(client, shop, gift_card_code=code.lower().replace("-", " "))
    assert placed.status_code == 302, placed.text
    order = only_order(app, shop)
    assert (order.total, order.gift_card_amount, order.amount_due) == (LAMP_TOTAL, 2000, 1500)
    assert order.status == "pending" and order.payment_method == "manual"
    assert card_of(app, shop, code).balance == 0
    assert ledger(app, shop, code) == [("issue", 2000, 2000), ("redeem", -2000, 0)]
    page = client.get(f"/orders/{order.number}", headers=host(shop))
    last4 = codes.last4(code)
    assert f"Gift card ···· {last4}" in page.text
    assert "Left to pay" in page.text and "$15.00" in page.text and "$35.00" in page.text
    confirmation = next(m for m in outbox if order.number in m.subject)
    assert "Left to pay: $15.00" in confirmation.body
    assert code not in confirmation.body  # the code itself is never mailed back


def test_a_card_covering_everything_needs_no_payment_step(app, client, shop):
    code = issue(app, shop, 10_000)
    placed = buy(client, shop, gift_card_code=code)
    order = only_order(app, shop)
    assert placed.headers["Location"].endswith(f"/orders/{order.number}?placed=1")
    assert order.status == "paid" and order.payment_method == "gift_card"
    assert (order.gift_card_amount, order.amount_due) == (LAMP_TOTAL, 0)
    assert order.paid_at is not None
    assert card_of(app, shop, code).balance == 10_000 - LAMP_TOTAL


def test_the_checkout_summary_shows_the_card_and_what_is_left(app, client, shop):
    code = issue(app, shop, 1000)
    add_to_cart(client, shop, "lamp")
    page = client.get("/checkout", headers=host(shop))
    answer = client.post(
        "/checkout/summary",
        data={"country": "US", "gift_card_code": code, "csrf_token": csrf_from(page.text)},
        headers=host(shop),
    )
    assert 'data-total="2500"' in answer.text  # what the form sends back as expected_total
    assert "Left to pay" in answer.text and "$25.00" in answer.text
    wrong = client.post(
        "/checkout/summary",
        data={
            "country": "US",
            "gift_card_code": "AAAA-BBBB-CCCC-DDDD",
            "csrf_token": csrf_from(page.text),
        },
        headers=host(shop),
    )
    assert "This gift card code is not valid." in wrong.text
    assert 'data-total="3500"' in wrong.text


def test_a_refused_card_shows_the_form_again_and_places_nothing(app, client, shop):
    code = issue(app, shop, 1000)
    with app.app_context(), tenant_context(shop):
        giftcards.disable(db.session.scalar(select(GiftCard)))
        db.session.commit()
    answer = buy(client, shop, gift_card_code=code)
    assert answer.status_code == 200
    assert "This gift card cannot be used any more." in answer.text
    assert count(app, shop, Order) == 0
    assert "Lamp" in answer.text  # the cart is untouched


def test_a_balance_spent_since_the_page_was_shown_is_refused_not_overdrawn(app, shop):
    code = issue(app, shop, 2000)
    first, second = app.test_client(), app.test_client()
    add_to_cart(first, shop, "lamp")
    add_to_cart(second, shop, "lamp")
    forms = [checkout_form(c, shop, gift_card_code=code) for c in (first, second)]
    assert first.post("/checkout", data=forms[0], headers=host(shop)).status_code == 302
    again = second.post("/checkout", data=forms[1], headers=host(shop))
    assert again.status_code == 200
    assert "This gift card has no balance left." in again.text
    assert count(app, shop, Order) == 1


# Racing ----------------------------------------------------------------------------------


def _race(app, shop, posts):
    """Run each (client, form) POST /checkout at once; returns the answers."""
    start = threading.Barrier(len(posts))
    answers, errors = [], []

    def go(client, form):
        try:
            start.wait()
            answers.append(client.post("/checkout", data=form, headers=host(shop)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=pair) for pair in posts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return answers


@pytest.mark.parametrize("shown", ["0", None])
def test_checkouts_racing_for_one_card_never_overdraw_it(app, shop, shown):
    """Six shoppers spend one card (enough for one lamp, not two) at once. With the total
    the page showed (nothing left to pay) one order is placed and the others are refused;
    without it (a client of its own), later ones take what is left. Either way the card
    never goes below zero and every cent it lost is one ledger movement and one order's."""
    code = issue(app, shop, 5000)
    posts = []
    for _ in range(6):
        shopper = app.test_client()
        add_to_cart(shopper, shop, "lamp")
        form = checkout_form(shopper, shop, gift_card_code=code)
        if shown is not None:
            form["expected_total"] = shown
        posts.append((shopper, form))
    _race(app, shop, posts)
    card = card_of(app, shop, code)
    with app.app_context(), tenant_context(shop):
        taken = -db.session.scalar(
            select(func.sum(GiftCardMovement.amount)).where(GiftCardMovement.kind == "redeem")
        )
        paid_by_cards = db.session.scalar(select(func.sum(Order.gift_card_amount)))
        with_card = db.session.scalar(
            select(func.count()).select_from(Order).where(Order.gift_card_amount > 0)
        )
        redeemed = db.session.scalar(
            select(func.count())
            .select_from(GiftCardMovement)
            .where(GiftCardMovement.kind == "redeem")
        )
    assert card.balance >= 0
    assert card.balance == 5000 - taken  # the ledger is the balance
    assert taken == paid_by_cards and redeemed == with_card
    if shown is not None:
        assert taken == LAMP_TOTAL and with_card == 1 == count(app, shop, Order)
    else:  # 35.00, then perhaps the 15.00 left (if a later one read the balance after)
        assert (taken, with_card) in ((LAMP_TOTAL, 1), (5000, 2))
        assert count(app, shop, Order) == with_card  # refused checkouts placed nothing


def test_one_checkout_submitted_twice_makes_one_order_and_one_debit(app, client, shop):
    code = issue(app, shop, 10_000)
    add_to_cart(client, shop, "lamp")
    form = checkout_form(client, shop, gift_card_code=code)
    answers = _race(app, shop, [(client, form), (client, form)])
    assert all(a.status_code == 302 for a in answers)
    assert count(app, shop, Order) == 1
    assert count(app, shop, GiftCardMovement, GiftCardMovement.kind == "redeem") == 1
    assert card_of(app, shop, code).balance == 10_000 - LAMP_TOTAL


def test_a_refund_to_a_card_and_its_replays_move_it_once(app, client, shop):
    code = issue(app, shop, 10_000)
    buy(client, shop, gift_card_code=code)
    number = only_order(app, shop).number
    start = threading.Barrier(4)
    errors = []

    def refund():
        try:
            with app.app_context(), tenant_context(shop):
                start.wait()
                order = orders.get_order(number)
                try:
                    unit_of_work(
                        lambda: orders.refund(
                            order, 1000, "broken", key="refund-key-1234567", to_gift_card=True
                        )
                    )
                except IntegrityError:  # the racing twin committed first: it counts
                    db.session.rollback()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=refund) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with app.app_context(), tenant_context(shop):  # and replayed later, once more
        order = orders.get_order(number)
        orders.refund(order, 1000, "broken", key="refund-key-1234567", to_gift_card=True)
        db.session.commit()
    assert card_of(app, shop, code).balance == 10_000 - LAMP_TOTAL + 1000
    assert count(app, shop, GiftCardMovement, GiftCardMovement.kind == "refund") == 1
    assert only_order(app, shop).refunded == 1000


def test_cancelling_an_unpaid_order_gives_the_card_back_once(app, client, shop):
    code = issue(app, shop, 2000)
    buy(client, shop, gift_card_code=code)
    number = only_order(app, shop).number
    for _ in range(2):  # a cancel met by another (an expiry, a second click)
        with app.app_context(), tenant_context(shop):
            order = orders.get_order(number)
            orders.set_status(order, "cancelled")
            giftcards.release_for_order(order)  # the release itself, run again
            db.session.commit()
    assert card_of(app, shop, code).balance == 2000
    assert ledger(app, shop, code) == [
        ("issue", 2000, 2000),
        ("redeem", -2000, 0),
        ("release", 2000, 2000),
    ]


# Refunds ---------------------------------------------------------------------------------


def test_what_a_card_paid_goes_back_to_the_card_not_the_payment_method(app, client, shop):
    code = issue(app, shop, 2000)
    buy(client, shop, gift_card_code=code)
    with app.app_context(), tenant_context(shop):
        order = db.session.scalar(select(Order))
        orders.set_status(order, "paid")
        db.session.commit()
        with pytest.raises(orders.RefundError, match="at most"):
            orders.refund(order, 2000, "too much", key="k" * 20)
        db.session.rollback()
        order = db.session.scalar(select(Order))
        orders.refund(order, 1500, "the rest", key="a" * 20)
        orders.refund(order, 2000, "the card's", key="b" * 20, to_gift_card=True)
        db.session.commit()
        assert order.status == "refunded"
    assert card_of(app, shop, code).balance == 2000


def test_a_refund_to_store_credit_makes_a_card_and_mails_its_code(app, client, shop, outbox):
    buy(client, shop)
    with app.app_context(), tenant_context(shop):
        order = db.session.scalar(select(Order))
        orders.set_status(order, "paid")
        orders.refund(order, 1200, "late", key="c" * 20, to_gift_card=True)
        db.session.commit()
    deliver(app)
    mail = next(m for m in outbox if "gift card" in m.subject)
    assert mail.to == ["ada@example.com"]
    code = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", mail.body).group(0)
    card = card_of(app, shop, code)
    assert (card.balance, card.source, card.sealed_code) == (1200, "refund", None)


# Bought cards ----------------------------------------------------------------------------


def test_a_bought_card_is_mailed_to_its_recipient_when_the_order_is_paid(app, client, shop, outbox):
    placed = buy(client, shop, slug="gift", gift_card_recipient="friend@example.com")
    assert placed.status_code == 302, placed.text
    order = only_order(app, shop)
    assert order.total == 5000 and order.shipping == 0  # a card alone ships nothing
    deliver(app)
    assert not [m for m in outbox if "friend@example.com" in m.to]  # not paid yet
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(GiftCard.status)) == "pending"
        orders.set_status(db.session.scalar(select(Order)), "paid")
        db.session.commit()
    deliver(app)
    deliver(app)  # the paid mail again: still one card mail
    mails = [m for m in outbox if "friend@example.com" in m.to]
    assert len(mails) == 1
    assert mails[0].subject == "Gifts: your gift card of $50.00"
    code = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", mails[0].body).group(0)
    card = card_of(app, shop, code)
    assert (card.status, card.balance, card.sealed_code) == ("active", 5000, None)
    assert code not in repr(mails[0].extra_headers)
    # The code spends: another shopper pays with it.
    other = app.test_client()
    buy(other, shop, gift_card_code=code)
    assert card_of(app, shop, code).balance == 5000 - LAMP_TOTAL


def test_a_cancelled_unpaid_gift_card_order_never_issues_its_card(app, client, shop, outbox):
    buy(client, shop, slug="gift")
    with app.app_context(), tenant_context(shop):
        orders.set_status(db.session.scalar(select(Order)), "cancelled")
        db.session.commit()
        assert db.session.scalar(select(GiftCard.status)) == "disabled"
    deliver(app)
    assert not [m for m in outbox if "gift card of" in m.subject]


# Codes -----------------------------------------------------------------------------------


def test_codes_are_stored_as_keyed_digests_and_the_last_four(app, shop):
    code = issue(app, shop, 1000)
    assert re.fullmatch(r"([A-HJ-NP-Z2-9]{4}-){3}[A-HJ-NP-Z2-9]{4}", code)
    card = card_of(app, shop, code)
    raw = code.replace("-", "")
    assert card.last4 == raw[-4:]
    assert raw not in (card.code_hash or "") and card.sealed_code is None
    key = hmac.new(app.config["SECRET_KEY"].encode(), b"gift-card-codes", hashlib.sha256).digest()
    expected = hmac.new(key, f"{shop.uid}:{raw}".encode(), hashlib.sha256).hexdigest()
    assert card.code_hash == expected


def test_a_code_of_one_shop_is_unknown_at_another(app, make_shop, shop):
    other = make_shop("other", settings=SHOP)
    with app.app_context(), tenant_context(other):
        catalog.create_product("LAMP", "Lamp", 3000, stock=50, slug="lamp")
        db.session.commit()
    code = issue(app, shop, 5000)
    client = app.test_client()
    answer = buy(client, other, gift_card_code=code)
    assert answer.status_code == 200
    assert "This gift card code is not valid." in answer.text
    assert count(app, other, Order) == 0
    api = client.post(
        "/api/v1/cart/gift-card", json={"code": code, "country": "US"}, headers=host(other)
    )
    assert api.status_code == 409 and api.json["error"]["code"] == "gift_card_not_applicable"
    assert card_of(app, shop, code).balance == 5000


@pytest.mark.settings(RATELIMIT_ENABLED=True, GIFT_CARD_GUESS_LIMIT="3 per minute")
def test_guessing_codes_is_limited_per_client(app, client, shop):
    code = issue(app, shop, 5000)
    add_to_cart(client, shop, "lamp")
    for guess in ("AAAABBBBCCCCDDDD", "AAAABBBBCCCCDDDE", "AAAABBBBCCCCDDDF"):
        wrong = client.post(
            "/api/v1/cart/gift-card", json={"code": guess, "country": "US"}, headers=host(shop)
        )
        assert wrong.status_code == 409
    # Malformed codes (a half-typed one) do not count; past the limit even the right one
    # is refused, on the API and at checkout.
    stopped = client.post(
        "/api/v1/cart/gift-card", json={"code": code, "country": "US"}, headers=host(shop)
    )
    assert stopped.status_code == 429 and int(stopped.headers["Retry-After"]) >= 1
    page = buy(client, shop, gift_card_code=code)
    assert "Too many gift card codes were tried" in page.text
    assert count(app, shop, Order) == 0
    # Another client is not held back by this one.
    other = app.test_client()
    add_to_cart(other, shop, "lamp")
    fine = other.post(
        "/api/v1/cart/gift-card",
        json={"code": code, "country": "US"},
        headers={**host(shop), "X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert fine.status_code == 200, fine.json


@pytest.mark.settings(
    RATELIMIT_ENABLED=True,
    GIFT_CARD_GUESS_LIMIT="100 per minute",
    GIFT_CARD_GUESS_LIMIT_SHOP="2 per minute",
)
def test_guessing_codes_is_limited_per_shop(app, shop):
    for n in range(3):
        client = app.test_client()
        add_to_cart(client, shop, "lamp")
        answer = client.post(
            "/api/v1/cart/gift-card",
            json={"code": f"AAAABBBBCCCCDDD{'EFG'[n]}", "country": "US"},
            headers=host(shop),
            environ_base={"REMOTE_ADDR": f"203.0.113.{n + 1}"},
        )
    assert answer.status_code == 429


# The dashboard ---------------------------------------------------------------------------


def test_the_owner_issues_lists_finds_reads_and_switches_off_cards(app, client, shop, outbox):
    login(client, shop, OWNER)
    page = client.get("/admin/gift-cards/", headers=host(shop))
    assert page.status_code == 200 and "No gift cards yet" in page.text
    issued = client.post(
        "/admin/gift-cards/",
        data={
            "amount": "25.00",
            "recipient": "friend@example.com",
            "note": "sorry for the delay",
            "csrf_token": csrf_from(page.text),
        },
        headers=host(shop),
    )
    code = re.search(r"<code>([A-Z2-9-]{19})</code>", issued.text).group(1)
    card = card_of(app, shop, code)
    assert (card.balance, card.recipient_email) == (2500, "friend@example.com")
    deliver(app)
    assert any(code in m.body for m in outbox if m.to == ["friend@example.com"])
    assert card_of(app, shop, code).sealed_code is None
    for _ in range(3):
        issue(app, shop, 100)
    listing = client.get("/admin/gift-cards/", headers=host(shop))
    assert listing.text.count("···· ") >= 4
    found = client.get(f"/admin/gift-cards/?last4={code[-4:].lower()}", headers=host(shop))
    assert f"···· {code[-4:]}" in found.text and found.text.count("<tr>") == 2
    assert client.get("/admin/gift-cards/?last4=%3Cx", headers=host(shop)).status_code == 400
    buy(app.test_client(), shop, gift_card_code=code)
    detail = client.get(f"/admin/gift-cards/{card.id}", headers=host(shop))
    assert "paid an order" in detail.text and "GIFTS-1001" in detail.text
    assert "−$25.00" in detail.text or "-$25.00" in detail.text
    off = client.post(
        f"/admin/gift-cards/{card.id}/disable",
        data={"csrf_token": csrf_from(detail.text)},
        headers=host(shop),
    )
    assert off.status_code == 302
    assert card_of(app, shop, code).status == "disabled"
    assert "switched off" in client.get(f"/admin/gift-cards/{card.id}", headers=host(shop)).text


def test_the_dashboard_pages_cards_by_keyset(app, client, shop):
    with app.app_context(), tenant_context(shop):
        for _ in range(55):
            giftcards.issue(100)
        db.session.commit()
    login(client, shop, OWNER)
    first = client.get("/admin/gift-cards/", headers=host(shop))
    before = re.search(r"before=(\d+)", first.text).group(1)
    second = client.get(f"/admin/gift-cards/?before={before}", headers=host(shop))
    assert first.text.count("<tr>") == 51 and second.text.count("<tr>") == 6


def test_shoppers_and_other_shops_never_see_the_cards(app, client, make_shop, make_user, shop):
    code = issue(app, shop, 100)
    card = card_of(app, shop, code)
    make_user(shop, "ada@example.com", roles=["customer"])
    login(client, shop, "ada@example.com")
    assert client.get("/admin/gift-cards/", headers=host(shop)).status_code in (302, 403)
    other = make_shop("other")
    make_user(other, OWNER, roles=["owner"])
    owner = app.test_client()
    login(owner, other, OWNER)
    assert owner.get(f"/admin/gift-cards/{card.id}", headers=host(other)).status_code == 404


# The API ---------------------------------------------------------------------------------


def staff_headers(app, shop, *scopes):
    from storefront.accounts import tokens
    from storefront.accounts.models import User

    with app.app_context(), tenant_context(shop):
        owner = db.session.scalar(select(User).where(User.email == OWNER))
        secret = tokens.create_key(owner, "gift", scopes=list(scopes)).secret
        db.session.commit()
    return {**host(shop), "Authorization": f"Bearer {secret}"}


def test_the_api_checks_a_card_and_checks_out_with_it(app, client, shop):
    code = issue(app, shop, 1000)
    added = client.post(
        "/api/v1/cart/items",
        json={"product_id": product_id(app, shop, "lamp")},
        headers=host(shop),
    )
    token = added.json["data"]["token"]
    headers = {**host(shop), "X-Cart-Token": token}
    checked = client.post(
        "/api/v1/cart/gift-card", json={"code": code, "country": "US"}, headers=headers
    )
    assert checked.status_code == 200, checked.json
    data = checked.json["data"]
    assert data["last4"] == code[-4:]
    assert (data["total"]["amount"], data["applied"]["amount"], data["amount_due"]["amount"]) == (
        LAMP_TOTAL,
        1000,
        LAMP_TOTAL - 1000,
    )
    body = {
        **ADDRESS,
        "email": "ada@example.com",
        "gift_card_code": code,
        "expected_total": LAMP_TOTAL - 1000,
    }
    placed = client.post(
        "/api/v1/checkout", json=body, headers={**headers, "Idempotency-Key": "g" * 20}
    )
    assert placed.status_code == 201, placed.json
    totals = placed.json["data"]["order"]["totals"]
    assert totals["gift_card"]["amount"] == 1000 and totals["amount_due"]["amount"] == 2500
    again = client.post(
        "/api/v1/checkout", json=body, headers={**headers, "Idempotency-Key": "g" * 20}
    )
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(app, shop, GiftCardMovement, GiftCardMovement.kind == "redeem") == 1


def test_staff_list_cards_and_movements_and_issue_by_api(app, client, shop):
    writer = staff_headers(app, shop, "orders:read", "orders:write")
    issued = client.post(
        "/api/v1/admin/gift-cards",
        json={"amount": 4000, "note": "api"},
        headers={**writer, "Idempotency-Key": "i" * 20},
    )
    assert issued.status_code == 201, issued.json
    code, card = issued.json["data"]["code"], issued.json["data"]["card"]
    assert card["balance"]["amount"] == 4000 and code.endswith(card["last4"])
    replay = client.post(
        "/api/v1/admin/gift-cards",
        json={"amount": 4000, "note": "api"},
        headers={**writer, "Idempotency-Key": "i" * 20},
    )
    assert replay.json["data"]["code"] is None and replay.json["data"]["card"]["id"] == card["id"]
    assert count(app, shop, GiftCard) == 1
    buy(app.test_client(), shop, gift_card_code=code)
    listed = client.get("/api/v1/admin/gift-cards?last4=" + card["last4"], headers=writer)
    assert [c["id"] for c in listed.json["data"]] == [card["id"]]
    moves = client.get(f"/api/v1/admin/gift-cards/{card['id']}/movements", headers=writer)
    assert [(m["kind"], m["amount"]["amount"]) for m in moves.json["data"]] == [
        ("issue", 4000),
        ("redeem", -LAMP_TOTAL),
    ]
    assert moves.json["data"][1]["order_number"] == "GIFTS-1001"
    off = client.post(f"/api/v1/admin/gift-cards/{card['id']}/disable", headers=writer, json={})
    assert off.json["data"]["status"] == "disabled"
    reader = staff_headers(app, shop, "products:read")
    refused = client.get("/api/v1/admin/gift-cards", headers=reader)
    assert refused.status_code == 403
    document = client.get("/api/v1/openapi.json", headers=host(shop)).json
    assert "/api/v1/admin/gift-cards/{card_id}/movements" in document["paths"]
    assert "/api/v1/cart/gift-card" in document["paths"]


def test_the_api_pages_cards_by_cursor(app, client, shop):
    with app.app_context(), tenant_context(shop):
        for _ in range(5):
            giftcards.issue(100)
        db.session.commit()
    reader = staff_headers(app, shop, "orders:read")
    first = client.get("/api/v1/admin/gift-cards?limit=3", headers=reader).json
    second = client.get(
        f"/api/v1/admin/gift-cards?limit=3&cursor={first['meta']['next_cursor']}", headers=reader
    ).json
    ids = [c["id"] for c in first["data"] + second["data"]]
    assert len(ids) == 5 == len(set(ids)) and ids == sorted(ids, reverse=True)
    assert second["meta"]["next_cursor"] is None


# Privacy ---------------------------------------------------------------------------------


def test_person_data_lists_cards_sent_to_them_and_erasure_forgets_the_address(app, shop):
    code = issue(app, shop, 700, recipient="friend@example.com")
    with app.app_context(), tenant_context(shop):
        exported = "".join(privacy.person_data("friend@example.com"))
        assert f'"last4": "{code[-4:]}"' in exported and code not in exported
        privacy.erase("friend@example.com")
        db.session.commit()
    card = card_of(app, shop, code)
    assert card.recipient_email == "" and card.balance == 700


def test_the_demo_shops_sell_a_gift_card(app, client):
    """``make demo``: each shop sells a card in three amounts (each its own price), in its
    languages; provisioning again adds none (and a shop provisioned before gets one)."""
    import shutil
    from pathlib import Path

    from storefront.catalog.models import Product
    from storefront.demo import provision_demo
    from storefront.tenancy.registry import context_for
    from tests.fixtures.app import REPO

    for slug in ("acme", "globex"):
        shutil.copytree(REPO / "tenants" / slug, Path(app.config["TENANTS_DIR"]) / slug)
    with app.app_context():
        said = list(provision_demo())
        assert any("gift card" in line and "acme" in line for line in said)
        assert any("gift card" in line and "globex" in line for line in said)
        assert not any("gift card" in line for line in provision_demo())
        for slug, sku in (("acme", "ACME-GIFT"), ("globex", "GLX-GIFT")):
            with tenant_context(context_for(slug)):
                card = catalog.product_by_sku(sku)
                assert card.gift_card and card.active
                assert sorted(v.price for v in card.variants) == [2500, 5000, 10000]
                assert [c.slug for c in card.categories]
    with app.app_context(), tenant_context(context_for("acme")):
        acme_slug = catalog.product_by_sku("ACME-GIFT").slug
    acme = client.get(f"/p/{acme_slug}", headers={"Host": "acme.localhost"}).text
    assert "Gift Card" in acme and "$100" in acme
    french = client.get(f"/fr/p/{acme_slug}", headers={"Host": "acme.localhost"}).text
    assert "Carte cadeau Acme" in french and "Montant" in french
    with app.app_context(), tenant_context(context_for("globex")):
        globex_slug = catalog.product_by_sku("GLX-GIFT").slug
        assert db.session.scalar(select(func.count(Product.id)).where(Product.gift_card)) == 1
    english = client.get(f"/en/p/{globex_slug}", headers={"Host": "globex.localhost"}).text
    assert "Globex Gift Card" in english and "Amount" in english


def _bought_card(app, client, shop, outbox):
    """A card bought (paid) in its own order: (order number, code)."""
    assert buy(client, shop, slug="gift").status_code == 302
    with app.app_context(), tenant_context(shop):
        order = db.session.scalar(select(Order))
        orders.set_status(order, "paid")
        db.session.commit()
        number = order.number
    deliver(app)
    mail = next(m for m in outbox if "gift card of" in m.subject)
    code = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", mail.body).group(0)
    return number, code


@pytest.mark.parametrize("how", ["refunded", "cancelled"])
def test_a_card_whose_order_is_refunded_or_cancelled_is_switched_off(
    app, client, shop, outbox, how
):
    number, code = _bought_card(app, client, shop, outbox)
    other = app.test_client()
    buy(other, shop, gift_card_code=code)  # spent in part meanwhile
    assert card_of(app, shop, code).balance == 5000 - LAMP_TOTAL
    with app.app_context(), tenant_context(shop):
        order = orders.get_order(number)
        if how == "refunded":
            orders.refund(order, order.total, "returned", key=f"refund-all-{number}")
        else:
            orders.set_status(order, "cancelled")
        db.session.commit()
        assert order.status == how
    with app.app_context(), tenant_context(shop):  # run again (a replay): revokes once
        assert giftcards.revoke_for_order(orders.get_order(number)) == 0
        db.session.commit()
    card = card_of(app, shop, code)
    assert (card.status, card.balance) == ("disabled", 0)
    assert ledger(app, shop, code).count(("revoke", -(5000 - LAMP_TOTAL), 0)) == 1
    # Unusable at checkout now.
    refused = buy(app.test_client(), shop, gift_card_code=code)
    assert refused.status_code == 200
    assert count(app, shop, Order) == 2


def test_a_partial_refund_leaves_the_bought_card_alone(app, client, shop, outbox):
    number, code = _bought_card(app, client, shop, outbox)
    with app.app_context(), tenant_context(shop):
        orders.refund(orders.get_order(number), 100, "goodwill", key="refund-part-12345")
        db.session.commit()
    card = card_of(app, shop, code)
    assert (card.status, card.balance) == ("active", 5000)


# A cart of gift cards only ships nothing -------------------------------------------------

NO_ADDRESS = {"name": "Ada Shopper", "country": "US", "payment_method": "manual"}


def test_a_gift_card_only_checkout_asks_for_no_address(app, client, shop):
    add_to_cart(client, shop, "gift")
    page = client.get("/checkout", headers=host(shop))
    assert page.status_code == 200
    assert "no address is needed" in page.text
    assert 'name="address"' not in page.text and 'name="postal_code"' not in page.text
    assert 'name="country"' in page.text  # the billing country stays (tax)
    form = checkout_form(client, shop)
    for name in ("address", "postal_code", "city", "country_area"):
        form.pop(name)
    placed = client.post("/checkout", data=form, headers=host(shop))
    assert placed.status_code == 302, placed.text[:3000]
    order = only_order(app, shop)
    assert (order.total, order.shipping, order.address, order.city) == (5000, 0, "", "")


def test_a_cart_with_something_to_ship_still_needs_the_address(app, client, shop):
    add_to_cart(client, shop, "gift")
    add_to_cart(client, shop, "lamp")
    page = client.get("/checkout", headers=host(shop))
    assert 'name="address"' in page.text and "no address is needed" not in page.text
    form = checkout_form(client, shop)
    for name in ("address", "postal_code", "city"):
        form.pop(name)
    refused = client.post("/checkout", data=form, headers=host(shop))
    assert refused.status_code == 200 and "This field is required." in refused.text
    assert count(app, shop, Order) == 0


def test_the_api_checks_out_gift_cards_without_an_address(app, shop):
    def cart_with(*slugs):
        token, client = None, app.test_client()  # each cart its own visitor
        for slug in slugs:
            headers = {**host(shop), **({"X-Cart-Token": token} if token else {})}
            added = client.post(
                "/api/v1/cart/items",
                json={"product_id": product_id(app, shop, slug)},
                headers=headers,
            )
            assert added.status_code in (200, 201), added.json
            token = added.json["data"]["token"]
        return {**host(shop), "X-Cart-Token": token}

    body = {**NO_ADDRESS, "email": "ada@example.com"}
    mixed = cart_with("gift", "lamp")
    refused = app.test_client().post(
        "/api/v1/checkout", json=body, headers={**mixed, "Idempotency-Key": "m" * 20}
    )
    assert refused.status_code == 422, refused.json
    assert set(refused.json["error"]["fields"]) == {"address", "postal_code", "city"}
    cards = cart_with("gift")
    placed = app.test_client().post(
        "/api/v1/checkout", json=body, headers={**cards, "Idempotency-Key": "c" * 20}
    )
    assert placed.status_code == 201, placed.json
    order = only_order(app, shop)
    assert (order.total, order.shipping, order.address) == (5000, 0, "")
