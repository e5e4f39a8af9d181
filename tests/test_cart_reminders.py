"""Carts that come back: one reminder, with the shopper's consent and the owner's switch,
a link that restores the cart in any browser, and an unsubscribe that is honoured."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, insert, select

from storefront.cart.models import Cart, CartItem
from storefront.catalog import services as catalog
from storefront.db import unit_of_work
from storefront.extensions import db
from storefront.jobs.periodic import TASKS, run_periodic
from storefront.outbox import deliver_committed
from storefront.privacy import services as privacy
from storefront.reminders import sending
from storefront.reminders import services as reminders
from storefront.reminders.models import CartReminder, ReminderOptOut
from storefront.tenancy import tenant_context
from storefront.tenancy.models import utcnow
from tests import plans
from tests.fixtures.factories import csrf_from, host, login
from tests.test_commerce import ADDRESS, add_to_cart, checkout

EMAIL = "ada@example.com"


@pytest.fixture
def shop(make_shop, product):
    acme = make_shop("acme")
    product(acme, "anvil", price=1999)
    product(acme, "rope", price=500)
    return acme


def switch(app, shop, on=True, hours=24):
    with app.app_context(), tenant_context(shop):
        unit_of_work(lambda: reminders.save_settings(on, hours))


def consent(client, shop, email=EMAIL, remind=True):
    """What the checkout's script posts when the box or the address changes."""
    page = client.get("/checkout", headers=host(shop))
    data = {"email": email, "csrf_token": csrf_from(page.text)}
    if remind:
        data["cart_reminder"] = "y"
    return client.post("/cart/reminder", data=data, headers=host(shop))


def leave_cart(client, shop, email=EMAIL, slug="anvil"):
    add_to_cart(client, shop, slug)
    assert consent(client, shop, email).status_code == 204


def run_job(app, shop, hours=25, limit=None):
    """The shop's run of the periodic task, ``hours`` after the carts were left."""
    with app.app_context(), tenant_context(shop):
        sent = unit_of_work(lambda: sending.send_due(utcnow() + timedelta(hours=hours), limit))
        deliver_committed()
    return sent


def rows(app, shop):
    with app.app_context(), tenant_context(shop):
        return db.session.scalars(select(CartReminder).order_by(CartReminder.id)).all()


def figures(app, shop):
    with app.app_context(), tenant_context(shop):
        found = reminders.figures(30)
        return found.sent, found.restored, found.ordered


def restore_link(mail):
    return re.search(r"https?://\S+/cart/back/\S+", mail.body).group(0)


def unsubscribe_link(mail):
    return re.search(r"https?://\S+/cart/unsubscribe/\S+", mail.body).group(0)


def path_of(link):
    return "/" + link.split("/", 3)[3]


def test_the_box_shows_only_when_the_owner_turned_reminders_on(app, client, shop):
    add_to_cart(client, shop, "anvil")
    assert "cart_reminder" not in client.get("/checkout", headers=host(shop)).text
    switch(app, shop)
    page = client.get("/checkout", headers=host(shop)).text
    box = page.split('name="cart_reminder"')[1][:40]
    assert "checked" not in box  # unticked until the shopper ticks it
    assert "js/cart_reminder.js" in page


def test_consent_is_needed(app, client, shop, outbox):
    switch(app, shop)
    add_to_cart(client, shop, "anvil")
    assert consent(client, shop, remind=False).status_code == 204
    assert rows(app, shop) == []
    assert run_job(app, shop) == 0 and outbox == []


def test_unticking_withdraws_the_consent(app, client, shop, outbox):
    switch(app, shop)
    leave_cart(client, shop)
    assert len(rows(app, shop)) == 1
    consent(client, shop, remind=False)
    assert rows(app, shop) == []
    assert run_job(app, shop) == 0 and outbox == []


def test_the_owners_switch_is_needed(app, client, shop, outbox):
    add_to_cart(client, shop, "anvil")
    consent(client, shop)  # switched off: nothing is kept
    assert rows(app, shop) == []
    switch(app, shop)
    leave_cart(client, shop)
    switch(app, shop, on=False)  # off again before the reminder is due: none is sent
    assert run_job(app, shop) == 0 and outbox == []


def test_one_reminder_after_the_delay_in_the_shops_look(app, client, shop, outbox):
    switch(app, shop, hours=5)
    leave_cart(client, shop)
    assert run_job(app, shop, hours=4) == 0  # not yet
    assert run_job(app, shop, hours=6) == 1
    (mail,) = outbox
    assert mail.to == [EMAIL] and "Acme" in mail.subject
    assert "1 × Anvil" in mail.body
    assert "//acme.test/cart/back/" in restore_link(mail)  # the shop's own domain
    html = mail.alternatives[0][0]
    assert "Return to your cart" in html and "Unsubscribe" in html
    assert mail.extra_headers["List-Unsubscribe"] == f"<{unsubscribe_link(mail)}>"
    assert mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Never a second one: later runs, and the shopper at checkout again with the same cart.
    assert run_job(app, shop, hours=60) == 0
    leave_cart(client, shop, slug="rope")
    assert run_job(app, shop, hours=60) == 0
    assert len(outbox) == 1
    assert figures(app, shop) == (1, 0, 0)


def test_the_reminder_speaks_the_language_the_shopper_used(app, client, make_shop, outbox):
    laden = make_shop("laden", settings='name = "Laden"\nlocales = ["en_US", "de_DE"]\n')
    with app.app_context(), tenant_context(laden):
        catalog.create_product("SKU-1", "Amboss", 100, stock=9, slug="amboss")
        db.session.commit()
    switch(app, laden)
    add_to_cart(client, laden, "amboss")
    page = client.get("/de/checkout", headers=host(laden))
    data = {"email": EMAIL, "cart_reminder": "y", "csrf_token": csrf_from(page.text)}
    assert client.post("/de/cart/reminder", data=data, headers=host(laden)).status_code == 204
    assert [r.locale for r in rows(app, laden)] == ["de_DE"]
    run_job(app, laden)
    assert "//laden.test/de/cart/back/" in restore_link(outbox[0])
    assert "1 × Amboss" in outbox[0].body


def test_the_checkout_form_without_script_says_it_too(app, client, shop, outbox):
    switch(app, shop)
    add_to_cart(client, shop, "anvil")
    page = client.get("/checkout", headers=host(shop))
    data = {**ADDRESS, "email": EMAIL, "cart_reminder": "y", "update": "1"}
    data["csrf_token"] = csrf_from(page.text)
    assert client.post("/checkout", data=data, headers=host(shop)).status_code == 200
    assert [r.email for r in rows(app, shop)] == [EMAIL]
    # Without the form's token, nothing is kept (another site's form cannot sign one up).
    consent(client, shop, remind=False)
    client.post("/checkout", data={**data, "csrf_token": "forged"}, headers=host(shop))
    assert rows(app, shop) == []
    tokenless = client.post("/cart/reminder", data={"email": EMAIL}, headers=host(shop))
    assert tokenless.status_code == 400


def test_no_reminder_once_the_order_is_placed_or_the_cart_emptied(app, client, shop, outbox):
    switch(app, shop)
    leave_cart(client, shop)
    assert checkout(client, shop).status_code == 302
    assert rows(app, shop) == []  # the order took the cart and its consent
    other = app.test_client()
    leave_cart(other, shop, email="bob@example.com")
    cart_page = other.get("/cart/", headers=host(shop)).text
    item = re.search(r'name="item_id" value="(\d+)"', cart_page).group(1)
    other.post(
        "/cart/update",
        data={"item_id": item, "quantity": 0, "csrf_token": csrf_from(cart_page)},
        headers=host(shop),
    )
    outbox.clear()  # the order's confirmation
    assert run_job(app, shop) == 0 and outbox == []
    assert rows(app, shop) == []  # the emptied cart's row is forgotten too


def test_the_link_restores_the_cart_in_another_browser_and_the_order_counts(
    app, client, shop, outbox
):
    switch(app, shop)
    leave_cart(client, shop)
    run_job(app, shop)
    link = restore_link(outbox[0])
    phone = app.test_client()  # another device, nobody signed in
    assert "Your cart is empty" in phone.get("/cart/", headers=host(shop)).text
    answer = phone.get(path_of(link), headers=host(shop))
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/cart/")
    page = phone.get("/cart/", headers=host(shop)).text
    assert "Anvil" in page and "Your cart is back" in page
    phone.get(path_of(link), headers=host(shop))  # opened twice: restored once
    assert figures(app, shop) == (1, 1, 0)
    assert checkout(phone, shop).status_code == 302
    assert figures(app, shop) == (1, 1, 1)
    # The cart is ordered: the link now says so instead of bringing anything back.
    again = app.test_client().get(path_of(link), headers=host(shop))
    assert again.status_code == 302


def test_a_signed_in_shoppers_cart_comes_back_as_a_copy(app, client, shop, make_user, outbox):
    make_user(shop, EMAIL)
    login(client, shop, EMAIL)
    switch(app, shop)
    leave_cart(client, shop)
    run_job(app, shop)
    other = app.test_client()
    add_to_cart(other, shop, "rope")  # that browser has a cart of its own
    other.get(path_of(restore_link(outbox[0])), headers=host(shop))
    page = other.get("/cart/", headers=host(shop)).text
    assert "Anvil" in page and "Rope" in page
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(func.count()).select_from(Cart)) == 2  # account's kept


def test_unsubscribe_is_one_click_recorded_and_honoured(app, client, shop, outbox):
    switch(app, shop)
    leave_cart(client, shop)
    second = app.test_client()
    leave_cart(second, shop)  # the same address, another cart
    run_job(app, shop, limit=1)
    link = path_of(unsubscribe_link(outbox[0]))
    page = client.get(link, headers=host(shop))
    assert page.status_code == 200 and "Unsubscribe" in page.text
    assert len(rows(app, shop)) == 2  # opening the page (a mail scanner) changes nothing
    done = client.post(link, headers=host(shop))  # the button, or the mail client's one click
    assert done.status_code == 200 and "no more cart reminders" in done.text
    client.post(link, headers=host(shop), data={"List-Unsubscribe": "One-Click"})  # twice
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(func.count()).select_from(ReminderOptOut)) == 1
        assert reminders.opted_out(EMAIL)
    assert [r.state for r in rows(app, shop)] == ["sent"]  # the waiting one is gone
    third = app.test_client()
    leave_cart(third, shop)  # ticking the box again later keeps nothing for this address
    assert [r.state for r in rows(app, shop)] == ["sent"]
    assert run_job(app, shop, hours=60) == 0 and len(outbox) == 1


def test_a_restore_link_expires(app, client, shop, outbox, monkeypatch):
    switch(app, shop)
    leave_cart(client, shop)
    run_job(app, shop)
    link = path_of(restore_link(outbox[0]))
    later = int(time.time()) + (reminders.LINK_DAYS + 1) * 86_400
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    answer = app.test_client().get(link, headers=host(shop))
    assert answer.status_code == 410 and "expired" in answer.text
    assert figures(app, shop) == (1, 0, 0)


def test_a_link_from_one_shop_opens_nothing_at_another(app, client, shop, make_shop, outbox):
    globex = make_shop("globex")
    switch(app, shop)
    leave_cart(client, shop)
    run_job(app, shop)
    for link in (restore_link(outbox[0]), unsubscribe_link(outbox[0])):
        assert app.test_client().get(path_of(link), headers=host(globex)).status_code == 404
    assert (
        app.test_client()
        .post(path_of(unsubscribe_link(outbox[0])), headers=host(globex))
        .status_code
        == 404
    )
    assert client.get("/cart/back/not-a-token", headers=host(shop)).status_code == 404
    assert client.get("/cart/back/" + "x" * 400, headers=host(shop)).status_code == 404
    with app.app_context(), tenant_context(globex):
        assert db.session.scalar(select(func.count()).select_from(ReminderOptOut)) == 0


def seed_due(app, shop, count):
    """``count`` carts with a line and a consent each, left 30 hours ago."""
    with app.app_context(), tenant_context(shop):

        def make():
            first = catalog.create_product(f"SKU-{shop.slug}", "Tent", 100, stock=9).id
            for i in range(count):
                cart = Cart(token=f"{shop.slug}-cart-{i:04d}-token")
                cart.items.append(CartItem(product_id=first, quantity=1))
                db.session.add(cart)
                db.session.flush()
                db.session.add(
                    CartReminder(
                        cart_id=cart.id,
                        email=f"s{i}@example.com",
                        left_at=utcnow() - timedelta(hours=30),
                    )
                )

        unit_of_work(make)


@pytest.mark.settings(CART_REMINDER_BATCH=3)
def test_the_job_is_bounded_per_shop_and_reads_through_its_index(
    app, shop, make_shop, outbox, monkeypatch
):
    globex = make_shop("globex")
    for owner, count in ((shop, 5), (globex, 2)):
        switch(app, owner)
        seed_due(app, owner, count)
    (task,) = [t for t in TASKS if t.name == "cart-reminders"]
    monkeypatch.setattr("storefront.jobs.periodic.TASKS", (task,))  # the others aside
    with app.app_context():
        assert run_periodic((time.time() // task.every + 2) * task.every - 1) >= 2
    # Each shop's run: acme sends a batch of 3 (the rest wait), globex its 2.
    sent = sorted(m.to[0] for m in outbox)
    assert sent == ["s0@example.com"] * 2 + ["s1@example.com"] * 2 + ["s2@example.com"]
    # The next run reads through the index, however many rows the shop has: thousands
    # not due yet (left just now) and recently sent, so the planners see a big table.
    with app.app_context(), tenant_context(shop):
        now = utcnow()
        bulk = [
            {
                "cart_id": 100_000 + n,
                "email": f"bulk{n}@example.com",
                "state": "sent" if n % 2 else "waiting",
                "left_at": now - timedelta(days=2) if n % 2 else now,
                "consented_at": now,
            }
            for n in range(plans.SEED_PRODUCTS)
        ]
        unit_of_work(lambda: db.session.execute(insert(CartReminder), bulk))
        engine = db.engine
    with app.app_context():
        plans.analyze(engine)
    with app.app_context(), tenant_context(shop):
        with plans.recorded(engine) as statements:
            assert unit_of_work(lambda: sending.send_due(utcnow(), 3)) == 2  # the next run
        mine = plans.Recording(engine)
        mine.extend(s for s in statements if "cart_reminders" in s.sql)
        plans.assert_indexed(mine)
        due = [s for s in mine.selects if "LIMIT" in s.sql]
        assert len(due) == 3, "pruning twice and the due rows, each a limited read"
        states = db.session.scalars(
            select(CartReminder.state).where(CartReminder.cart_id < 100_000)
        ).all()
        assert states == ["sent"] * 5


def test_the_owner_turns_it_on_and_sees_what_came_back(app, client, shop, make_user, outbox):
    make_user(shop, "owner@example.com", roles=["owner"])
    make_user(shop, "staff@example.com", roles=["staff"])
    staff = app.test_client()
    login(staff, shop, "staff@example.com")
    assert staff.get("/admin/cart-reminders/", headers=host(shop)).status_code in (302, 403)
    owner = app.test_client()
    login(owner, shop, "owner@example.com")
    page = owner.get("/admin/cart-reminders/", headers=host(shop))
    assert page.status_code == 200 and "Carts that came back" in page.text
    token = csrf_from(page.text)
    bad = owner.post(
        "/admin/cart-reminders/",
        data={"csrf_token": token, "enabled": "y", "delay_hours": "0"},
        headers=host(shop),
    )
    assert bad.status_code == 400
    assert not reminders_enabled(app, shop)
    owner.post(
        "/admin/cart-reminders/",
        data={"csrf_token": token, "enabled": "y", "delay_hours": "3"},
        headers=host(shop),
    )
    assert reminders_enabled(app, shop)
    leave_cart(client, shop)
    run_job(app, shop, hours=4)
    (mail,) = [m for m in outbox if m.to == [EMAIL]]  # staff hear of new sign-ins too
    app.test_client().get(path_of(restore_link(mail)), headers=host(shop))
    page = owner.get("/admin/cart-reminders/", headers=host(shop)).text
    assert re.search(r"<td>Last 30 days</td><td>1</td><td>1</td><td>0</td>", page), page


def reminders_enabled(app, shop):
    with app.app_context(), tenant_context(shop):
        return reminders.enabled()


def test_the_shoppers_data_and_its_erasure_cover_reminders(app, client, shop, outbox):
    switch(app, shop)
    leave_cart(client, shop)
    with app.app_context(), tenant_context(shop):
        data = "".join(privacy.person_data(EMAIL))
        assert '"cart_reminders"' in data and '"consented_at"' in data
        unit_of_work(lambda: privacy.erase(EMAIL))
    assert rows(app, shop) == []
    assert run_job(app, shop) == 0 and outbox == []
