"""A shopper's data: downloaded whole, and erased from every table and file of the shop.

The erasure test makes a shopper touch everything that keeps personal data (an account,
an address book, a cart, orders as a guest and signed in, mails, webhook deliveries, a
refund's reason, the customer figures, an export file, an API login token, a product
review, a gift card sent to them, a cart reminder, a passkey, a staff invitation, and
the audit trail's entries of all of it), erases them, then reads every row of every
table (the audit trail's included) and every file of the shop: their email, name, street
and phone may appear nowhere, and the shop's audit chain still verifies. The orders
stay, for the books.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from sqlalchemy import func, select, text

from storefront.accounts import staff
from storefront.accounts.models import StaffInvitation, User, WebAuthn
from storefront.audit import services as audit
from storefront.audit.models import AuditEntry
from storefront.cart.models import Cart
from storefront.extensions import db
from storefront.orders.giftcards import services as giftcards
from storefront.orders.models import Order
from storefront.orders.refunds import Refund
from storefront.outbox.models import OutboxMessage
from storefront.privacy import services as privacy
from storefront.reminders import services as reminders
from storefront.reminders.models import CartReminder
from storefront.reviews import services as reviews
from storefront.reviews.models import Review
from storefront.storage import current_storage, shop_prefix
from storefront.tenancy import tenant_context
from storefront.transfers import services as transfers
from storefront.webhooks.models import WebhookEndpoint
from tests.fixtures.factories import csrf_from, host, login, tenant_folder
from tests.test_commerce import ADDRESS, add_to_cart

EMAIL, NAME, STREET, PHONE = (
    "ada@example.com",
    "Ada Lovelace",
    "12 Analytical Way",
    "+1 212 555 0147",
)
OTHER = "grace@example.com"
OWNER = "owner@example.com"
NEEDLES = (EMAIL, NAME, "Lovelace", STREET, "Analytical", PHONE)


@pytest.fixture
def shop(app, make_shop, make_user, product):
    acme = make_shop("acme")
    make_user(acme, OWNER, roles=["owner"])
    make_user(acme, EMAIL)
    make_user(acme, OTHER)
    product(acme, "anvil", price=1999, stock=50)
    with app.app_context(), tenant_context(acme):
        db.session.scalar(select(User).where(User.email == EMAIL)).name = NAME
        # A receiver of order events: its deliveries keep the order's body in the outbox.
        db.session.add(WebhookEndpoint(url="https://127.0.0.1:9/hook", events="order.created"))
        db.session.commit()
    return acme


def buy(client, shop, email=EMAIL, **extra):
    assert add_to_cart(client, shop, "anvil").status_code == 302
    page = client.get("/checkout", headers=host(shop))
    data = {
        **ADDRESS,
        "name": NAME,
        "address": STREET,
        "phone": PHONE,
        "email": email,
        "csrf_token": csrf_from(page.text),
        **extra,
    }
    answer = client.post("/checkout", data=data, headers=host(shop))
    assert answer.status_code == 302, answer.text[:300]
    return answer


def everything_of(app, shop) -> str:
    """Every row of every table that belongs to the shop, and every file it has."""
    seen = []
    with app.app_context():
        connection = db.session.connection()
        for table in db.metadata.sorted_tables:
            if "tenant_id" in table.c:
                rows = connection.execute(
                    text(f"SELECT * FROM {table.name} WHERE tenant_id = :t"), {"t": shop.id}
                )
            elif table.name == "tenants":
                rows = connection.execute(
                    text("SELECT * FROM tenants WHERE id = :t"), {"t": shop.id}
                )
            else:
                continue
            seen += [f"{table.name}: {tuple(row)}" for row in rows]
        with tenant_context(shop):
            storage = current_storage()
            for key in storage.keys(shop_prefix(shop.uid)):
                stored = storage.get(key)
                seen.append(f"{key}: {stored.data.decode('utf-8', 'replace') if stored else ''}")
    for path in tenant_folder(app, shop.slug).rglob("*"):
        if path.is_file():
            seen.append(f"{path}: {path.read_bytes().decode('utf-8', 'replace')}")
    return "\n".join(seen)


def touch_the_rest(app, shop) -> None:
    """The features that keep a person beyond their orders and account: a review naming
    them in its words, a gift card sent to them with the staff's note, a cart reminder
    they agreed to, a passkey named after them, an invitation to the staff (not yet
    accepted: they are still a shopper). Each write is recorded in the audit trail."""
    with app.app_context(), tenant_context(shop):
        ada = db.session.scalar(select(User).where(User.email == EMAIL))
        owner = db.session.scalar(select(User).where(User.email == OWNER))
        order = db.session.scalar(select(Order).where(Order.user_id == ada.id))
        order.status = "delivered"
        db.session.flush()
        line = reviews.reviewable_lines(ada.id)[0]
        reviews.create_review(ada, line, 5, "Sturdy", f"{NAME} says: it fell on {STREET}.")
        giftcards.issue(2500, recipient=EMAIL, note=f"Sorry, {NAME}", actor="owner")
        reminders.save_settings(True, 24)
        cart = Cart(token=os.urandom(16).hex(), user_id=None)  # a guest's cart
        db.session.add(cart)
        db.session.flush()
        assert reminders.remember(cart, EMAIL, True)
        db.session.add(
            WebAuthn(
                user_id=ada.id,
                name=f"{NAME}'s phone",
                credential_id=os.urandom(32),
                public_key=b"\xa5\x01\x02",
                usage="first",
            )
        )
        staff.invite(EMAIL, "support", owner)
        db.session.commit()
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(func.count()).select_from(Review)) == 1
        assert db.session.scalar(select(func.count()).select_from(CartReminder)) == 1
        assert db.session.scalar(select(func.count()).select_from(StaffInvitation)) == 1
        trail = " ".join(db.session.scalars(select(AuditEntry.body)))
        for needle in (EMAIL, NAME, STREET, PHONE):  # the trail recorded them
            assert needle in trail, needle


def test_an_erased_shopper_is_nowhere_in_the_shop_and_their_orders_stay(
    app, shop, make_shop, make_user
):
    ada = app.test_client()
    assert login(ada, shop, EMAIL).status_code == 302
    buy(ada, shop, save_address="y")  # signed in, into the address book
    guest = app.test_client()
    buy(guest, shop)  # the same person as a guest
    add_to_cart(ada, shop, "anvil")  # a cart left behind
    grace = app.test_client()
    login(grace, shop, OTHER)
    buy(grace, shop, email=OTHER, name="Grace Hopper", address="1 Navy Yard", phone="")
    token = app.test_client().post(
        "/api/v1/account/login",
        json={"email": EMAIL, "password": "correct horse battery"},
        headers=host(shop),
    )
    assert token.status_code == 200, token.text
    login_token = token.json["data"]["token"]
    me = {**host(shop), "Authentication-Token": login_token}
    assert app.test_client().get("/api/me", headers=me).status_code == 200
    with app.app_context(), tenant_context(shop):
        numbers = sorted(db.session.scalars(select(Order.number).where(Order.email == EMAIL)))
        first = db.session.scalar(select(Order).where(Order.number == numbers[0]))
        db.session.add(
            Refund(order_id=first.id, amount=100, reason=f"Dented; {NAME} called", refund_key="r1")
        )
        export = transfers.start_orders_export(None, None)
        db.session.commit()
        transfers.run_transfer(export.id)
    touch_the_rest(app, shop)
    everything = everything_of(app, shop)
    for needle in NEEDLES:
        assert needle in everything  # the test reaches where the data is

    page = ada.get("/account/privacy", headers=host(shop))
    refused = ada.post(
        "/account/close",
        data={"password": "not it", "csrf_token": csrf_from(page.text)},
        headers=host(shop),
    )
    assert refused.status_code == 400 and "not your password" in refused.text
    closed = ada.post(
        "/account/close",
        data={"password": "correct horse battery", "csrf_token": csrf_from(page.text)},
        headers=host(shop),
    )
    assert closed.status_code == 302

    everything = everything_of(app, shop)
    for needle in NEEDLES:  # in any case: an index or a digest input may fold it
        assert needle.casefold() not in everything.casefold(), re.findall(
            rf".{{0,120}}{re.escape(needle)}.{{0,60}}", everything, re.IGNORECASE
        )
    assert "Grace Hopper" in everything  # another shopper keeps theirs
    with app.app_context(), tenant_context(shop):
        kept = db.session.scalars(select(Order).where(Order.number.in_(numbers))).all()
        assert len(kept) == 2 and all(o.total > 0 and o.country == "US" for o in kept)
        assert db.session.scalar(select(User).where(User.email == EMAIL)) is None
        # What stays, without them: the review's rating and words, the card's balance.
        (review,) = db.session.scalars(select(Review)).all()
        assert review.user_id is None and review.rating == 5 and "it fell on" in review.body
        assert db.session.scalar(select(func.count()).select_from(StaffInvitation)) == 0
        # The trail lost their values, not its chain: every hash still holds.
        verdict = audit.verify()
        assert verdict.ok, verdict.reason
        assert verdict.erased_values > 0
        assert "Grace Hopper" in " ".join(db.session.scalars(select(AuditEntry.body)))
    # Signed out everywhere: the browser's session and the API's token are worth nothing.
    assert ada.get("/account", headers=host(shop)).status_code == 302
    assert app.test_client().get("/api/me", headers=me).status_code == 401
    owner = app.test_client()
    login(owner, shop, OWNER)
    assert owner.get(f"/admin/orders/{numbers[0]}", headers=host(shop)).status_code == 200


def test_a_shopper_downloads_everything_the_shop_holds_about_them(app, shop):
    ada = app.test_client()
    login(ada, shop, EMAIL)
    buy(ada, shop, save_address="y")
    guest = app.test_client()
    buy(guest, shop)
    answer = ada.get("/account/privacy/data.json", headers=host(shop))
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    data = json.loads(answer.get_data(as_text=True))
    assert data["email"] == EMAIL and data["account"]["name"] == NAME
    assert [a["address"] for a in data["addresses"]] == [STREET]
    assert len(data["orders"]) == 2  # the guest order with the same address too
    assert {o["address"]["address"] for o in data["orders"]} == {STREET}
    assert data["orders"][0]["lines"][0]["sku"]
    assert OTHER not in answer.get_data(as_text=True)
    anonymous = app.test_client().get("/account/privacy/data.json", headers=host(shop))
    assert anonymous.status_code in (302, 401)


def test_the_owner_exports_and_erases_a_customer_staff_cannot(app, shop, make_user):
    ada = app.test_client()
    login(ada, shop, EMAIL)
    buy(ada, shop)
    make_user(shop, "staff@example.com", roles=["staff"])
    with app.app_context(), tenant_context(shop):
        ada_id = db.session.scalar(select(User.id).where(User.email == EMAIL))
        staff_id = db.session.scalar(select(User.id).where(User.email == "staff@example.com"))
    staff = app.test_client()
    login(staff, shop, "staff@example.com")
    for path in (f"/admin/customers/{ada_id}/data.json", f"/admin/customers/{ada_id}/erase"):
        assert staff.get(path, headers=host(shop)).status_code == 403
    owner = app.test_client()
    login(owner, shop, OWNER)
    customer_page = owner.get(f"/admin/customers/{ada_id}", headers=host(shop)).text
    assert f"/admin/customers/{ada_id}/erase" in customer_page
    data = owner.get(f"/admin/customers/{ada_id}/data.json", headers=host(shop))
    assert json.loads(data.get_data(as_text=True))["orders"][0]["name"] == NAME
    ask = owner.get(f"/admin/customers/{ada_id}/erase", headers=host(shop))
    wrong = owner.post(
        f"/admin/customers/{ada_id}/erase",
        data={"confirm": "yes", "csrf_token": csrf_from(ask.text)},
        headers=host(shop),
    )
    assert wrong.status_code == 400 and "Type ERASE" in wrong.text
    refused = owner.post(
        f"/admin/customers/{staff_id}/erase",
        data={"confirm": "ERASE", "csrf_token": csrf_from(ask.text)},
        headers=host(shop),
    )
    assert refused.status_code == 400 and "staff" in refused.text
    done = owner.post(
        f"/admin/customers/{ada_id}/erase",
        data={"confirm": "erase", "csrf_token": csrf_from(ask.text)},
        headers=host(shop),
    )
    assert done.status_code == 302
    assert owner.get(f"/admin/customers/{ada_id}", headers=host(shop)).status_code == 404


def test_an_erasure_in_one_shop_leaves_the_same_address_in_another(
    app, shop, make_shop, make_user, product
):
    globex = make_shop("globex")
    make_user(globex, EMAIL)
    product(globex, "anvil", price=500, stock=5)
    there = app.test_client()
    login(there, globex, EMAIL)
    buy(there, globex)
    with app.app_context(), tenant_context(shop):
        privacy.erase(EMAIL)
        db.session.commit()
    with app.app_context(), tenant_context(globex):
        assert db.session.scalar(select(User.id).where(User.email == EMAIL)) is not None
        assert db.session.scalar(select(Order.name).where(Order.email == EMAIL)) == NAME


def test_tenantctl_exports_and_erases_with_one_line_answers(app, shop, runner, tmp_path):
    guest = app.test_client()
    buy(guest, shop, email="walkin@example.com")
    out = tmp_path / "walkin.json"
    done = runner.invoke(["privacy", "export", "acme", "walkin@example.com", "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert json.loads(out.read_text())["orders"][0]["email"] == "walkin@example.com"
    erased = runner.invoke(["privacy", "erase", "acme", "walkin@example.com", "--yes"])
    assert erased.exit_code == 0 and "1 order(s) anonymised" in erased.output
    again = runner.invoke(["privacy", "erase", "acme", "walkin@example.com", "--yes"])
    assert again.exit_code == 0 and "nothing held" in again.output
    staff = runner.invoke(["privacy", "erase", "acme", OWNER, "--yes"])
    assert staff.exit_code == 1 and "staff" in staff.output and "Traceback" not in staff.output
    unknown = runner.invoke(["privacy", "erase", "nope", EMAIL, "--yes"])
    assert unknown.exit_code == 1 and "Traceback" not in unknown.output


def test_queued_mails_to_an_erased_person_are_dropped(app, shop):
    from storefront.outbox.services import enqueue_mail

    with app.app_context(), tenant_context(shop):
        row = enqueue_mail(EMAIL, "Your order", f"Dear {NAME}, ...")
        db.session.commit()
        row_id = row.id
        privacy.erase(EMAIL)
        db.session.commit()
        kept = db.session.get(OutboxMessage, row_id)
        assert kept.status == "dead" and EMAIL not in kept.payload and NAME not in kept.payload


RETENTION = 'name = "Acme"\n[privacy]\nguest_data_days = 30\ninactive_account_days = 90\n'


def test_retention_erases_old_guests_and_unseen_accounts_only(app, make_shop, make_user, product):
    from datetime import timedelta

    from sqlalchemy import update

    from storefront.jobs.periodic import TASKS
    from storefront.orders.aggregates import CustomerTotal
    from storefront.tenancy.models import utcnow
    from storefront.tenancy.registry import context_for

    shop = make_shop("acme", settings=RETENTION)
    product(shop, "anvil", price=1999, stock=50)
    for email in ("old@example.com", "recent@example.com", "boss@example.com"):
        make_user(shop, email, roles=["owner"] if email.startswith("boss") else None)
    for email in ("gone@example.com", "here@example.com"):
        buy(app.test_client(), shop, email=email, name=email.split("@")[0].title() + " Guest")
    long_ago = utcnow() - timedelta(days=100)
    with app.app_context(), tenant_context(shop):
        db.session.execute(
            update(CustomerTotal)
            .where(CustomerTotal.email == "gone@example.com")
            .values(last_order_at=long_ago)
        )
        db.session.execute(
            update(User)
            .where(User.email.in_(["old@example.com", "boss@example.com"]))
            .values(last_seen_at=long_ago)
        )
        db.session.commit()
    task = next(t for t in TASKS if t.name == "privacy-retention")
    with app.app_context():
        shop = context_for("acme")
    with app.app_context(), tenant_context(shop):
        task.run()
        db.session.commit()
        emails = set(db.session.scalars(select(User.email)))
        assert "old@example.com" not in emails
        assert {"recent@example.com", "boss@example.com"} <= emails  # seen lately; staff
        names = set(db.session.scalars(select(Order.name)))
        assert "Gone Guest" not in names and "Here Guest" in names
        assert db.session.scalar(select(func.count()).select_from(Order)) == 2  # both kept
        task.run()  # nothing left to do
        db.session.commit()


def test_signing_in_moves_last_seen(app, shop):
    from datetime import timedelta

    from sqlalchemy import update

    from storefront.tenancy.models import utcnow

    with app.app_context(), tenant_context(shop):
        db.session.execute(
            update(User)
            .where(User.email == EMAIL)
            .values(last_seen_at=utcnow() - timedelta(days=400))
        )
        db.session.commit()
    login(app.test_client(), shop, EMAIL)
    with app.app_context(), tenant_context(shop):
        seen = db.session.scalar(select(User.last_seen_at).where(User.email == EMAIL))
        assert seen > utcnow() - timedelta(days=1)


def test_the_owner_sets_retention_and_the_privacy_page_says_it(app, shop):
    owner = app.test_client()
    login(owner, shop, OWNER)
    page = owner.get("/admin/settings", headers=host(shop))
    assert "Keep guests" in page.text
    data = {"name": "Acme", "csrf_token": csrf_from(page.text), "guest_data_days": "10"}
    refused = owner.post("/admin/settings", data=data, headers=host(shop))
    assert refused.status_code == 200 and "between 30 and 3650" in refused.text.replace(
        "&#39;", "'"
    )
    data["guest_data_days"] = "45"
    assert owner.post("/admin/settings", data=data, headers=host(shop)).status_code == 302
    toml = (tenant_folder(app, "acme") / "tenant.toml").read_text()
    assert "[privacy]" in toml and "guest_data_days = 45" in toml
    public = app.test_client().get("/privacy", headers=host(shop))
    assert public.status_code == 200 and "45 days" in public.text
    assert "Accounts stay until you close them" in public.text
    checkout_link = "/privacy"
    ada = app.test_client()
    login(ada, shop, EMAIL)
    add_to_cart(ada, shop, "anvil")
    assert checkout_link in ada.get("/checkout", headers=host(shop)).text
