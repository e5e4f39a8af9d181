"""Order mails: HTML with a plain-text part in the shop's branding, subjects that name the
shop and the order, the owner's and opted-in staff's mails, refunds in mail and on the page.
"""

from __future__ import annotations

import re

import pytest

from storefront.accounts.models import User
from storefront.extensions import db
from storefront.orders import services as orders
from storefront.outbox import deliver_committed
from storefront.tenancy import tenant_context
from tests.fixtures.factories import csrf_from, host, login
from tests.test_commerce import add_to_cart

OWNER = "owner@example.com"
STAFF = "staff@example.com"
SETTINGS = """name = "Acme Supplies"
locales = ["en_US", "de_DE"]
[branding]
primary_color = "#9a3412"
background_color = "#ffffff"
text_color = "#1c1917"
logo = "img/logo.png"
[mail]
footer = "Acme Supplies, 1 Desert Road"
"""


@pytest.fixture
def shop(make_shop, make_user, product):
    acme = make_shop("acme", settings=SETTINGS)
    make_user(acme, OWNER, roles=["owner"])
    make_user(acme, STAFF, roles=["staff"])
    product(acme, "anvil", price=1999, stock=50)
    return acme


def place(app, shop, product, email="ada@example.com", locale=""):
    """A guest's order of an anvil at ``shop``; the shopper's client."""
    shopper = app.test_client()
    prefix = f"/{locale}" if locale else ""
    if locale:
        shopper.get(f"{prefix}/", headers=host(shop))
    add_to_cart(shopper, shop, "anvil")
    page = shopper.get(f"{prefix}/checkout", headers=host(shop))
    data = {
        "email": email,
        "name": "Ada Shopper",
        "address": "Hauptstr. 1",
        "postal_code": "10115",
        "city": "Berlin",
        "country": "DE",
        "payment_method": "manual",
        "csrf_token": csrf_from(page.text),
    }
    placed = shopper.post(f"{prefix}/checkout", data=data, headers=host(shop))
    assert placed.status_code == 302, re.findall(r'class="field-error">([^<]+)', placed.text)
    return shopper


def mails_to(outbox, address):
    return [m for m in outbox if m.to == [address]]


def html_of(mail) -> str:
    (html,) = [body for body, kind in mail.alternatives if kind == "text/html"]
    return html


def set_status(app, shop, status, number="ACME-1001", **extra):
    """As a job or the CLI moves an order: the mails go out once it commits."""
    with app.app_context(), tenant_context(shop):
        orders.set_status(orders.get_order(number), status, **extra)
        db.session.commit()
        deliver_committed()


def test_the_confirmation_is_html_and_text_in_the_shops_branding(app, shop, product, outbox):
    place(app, shop, product)
    (mail,) = mails_to(outbox, "ada@example.com")
    assert mail.subject == "Acme Supplies: thank you for your order ACME-1001"
    html = html_of(mail)
    # The plain part keeps the link first; both parts carry the order and the footer.
    assert "/orders/ACME-1001?key=" in mail.body and "$19.99" in mail.body
    assert "Acme Supplies, 1 Desert Road" in mail.body and "Acme Supplies, 1 Desert Road" in html
    # Inline styles from the branding: the header/button on the primary colour (dark
    # enough for white text already), the text colour; the logo as an absolute URL.
    assert "background-color:#9a3412" in html and "color:#1c1917" in html
    assert re.search(r'<img src="http://acme\.test/static/img/logo\.png[^"]*"', html), html
    assert 'href="http://acme.test/orders/ACME-1001?key=' in html
    assert "<style" not in html and "$19.99" in html


def test_a_light_brand_colour_is_darkened_for_white_text_and_text_kept_readable(
    app, make_shop, product, outbox
):
    shop = make_shop(
        "pale",
        settings='name = "Pale"\n[branding]\nprimary_color = "#ffdd00"\ntext_color = "#eeeeee"\n',
    )
    product(shop, "anvil")
    place(app, shop, product)
    html = html_of(mails_to(outbox, "ada@example.com")[0])
    assert "#ffdd00" not in html  # yellow under white text would not be read
    assert "color:#eeeeee" not in html  # nor light grey text on white
    assert "<img" not in html  # no logo, no image


def test_paid_shipped_and_cancelled_mail_the_shopper_with_subjects_that_say_so(
    app, shop, product, outbox
):
    place(app, shop, product)
    place(app, shop, product, email="bo@example.com")
    outbox.clear()
    set_status(app, shop, "paid")
    set_status(app, shop, "shipped", carrier="UPS", tracking_number="1Z999")
    set_status(app, shop, "cancelled", number="ACME-1002")
    ada, bo = mails_to(outbox, "ada@example.com"), mails_to(outbox, "bo@example.com")
    assert [m.subject for m in ada] == [
        "Acme Supplies: we received the payment for your order ACME-1001",
        "Acme Supplies: your order ACME-1001 has shipped",
    ]
    assert [m.subject for m in bo] == ["Acme Supplies: your order ACME-1002 was cancelled"]
    tracking = "https://www.ups.com/track?tracknum=1Z999"
    assert f"Follow your parcel: {tracking}" in ada[1].body
    assert f'href="{tracking}"' in html_of(ada[1])
    for mail in ada + bo:
        assert html_of(mail) and mail.body


def test_the_owner_and_opted_in_staff_hear_of_new_and_paid_orders_and_nobody_else(
    app, shop, make_shop, make_user, product, outbox
):
    globex = make_shop("globex")
    make_user(globex, "boss@globex.example", roles=["owner"])
    make_user(globex, "hand@globex.example", roles=["staff"])
    with app.app_context(), tenant_context(globex):  # opted in, at the other shop
        user = db.session.scalar(db.select(User).where(User.email == "hand@globex.example"))
        user.order_mails = True
        db.session.commit()
    place(app, shop, product)
    set_status(app, shop, "paid")
    owner = mails_to(outbox, OWNER)
    assert [m.subject for m in owner] == [
        "Acme Supplies: new order ACME-1001 ($19.99)",
        "Acme Supplies: order ACME-1001 is paid ($19.99)",
    ]
    assert "http://acme.test/admin/orders/ACME-1001" in owner[0].body
    assert 'href="http://acme.test/admin/orders/ACME-1001"' in html_of(owner[0])
    assert "?key=" not in owner[0].body  # staff open it in the dashboard, signed in
    assert mails_to(outbox, STAFF) == []  # staff: not until they ask
    assert mails_to(outbox, "boss@globex.example") == mails_to(outbox, "hand@globex.example") == []


def test_staff_switch_order_mails_on_and_the_owner_off_in_the_dashboard(app, shop, product, outbox):
    for email, on in ((STAFF, True), (OWNER, False)):
        person = app.test_client()
        assert login(person, shop, email).status_code == 302
        page = person.get("/admin/notifications/", headers=host(shop))
        assert page.status_code == 200 and "Order mails" in page.text
        assert ("checked" in page.text) is (email == OWNER)  # the owner's default is on
        data = {"csrf_token": csrf_from(page.text)}
        if on:
            data["order_mails"] = "y"
        saved = person.post("/admin/notifications/", data=data, headers=host(shop))
        assert saved.status_code == 302
    outbox.clear()  # their sign-ins from new browsers were told of (accounts.new_device)
    place(app, shop, product)
    assert [m.subject for m in mails_to(outbox, STAFF)] == [
        "Acme Supplies: new order ACME-1001 ($19.99)"
    ]
    assert mails_to(outbox, OWNER) == []
    # A customer has no such page.
    shopper = app.test_client()
    from tests.fixtures.factories import register

    register(shopper, shop, "cust@example.com")
    assert shopper.get("/admin/notifications/", headers=host(shop)).status_code in (302, 403)


def refund(owner, shop, amount, number="ACME-1001"):
    page = owner.get(f"/admin/orders/{number}", headers=host(shop)).text
    key = re.search(r'name="refund-refund_key" type="hidden" value="([^"]+)"', page).group(1)
    data = {
        "csrf_token": csrf_from(page),
        "refund-refund_key": key,
        "refund-amount": amount,
        "refund-reason": "Scratched",
    }
    return owner.post(f"/admin/orders/{number}/refund", data=data, headers=host(shop))


def test_a_refund_mails_the_shopper_and_shows_on_their_order_page(app, shop, product, outbox):
    shopper = place(app, shop, product)
    set_status(app, shop, "paid")
    owner = app.test_client()
    login(owner, shop, OWNER)
    outbox.clear()
    assert refund(owner, shop, "4.00").status_code == 302
    (mail,) = mails_to(outbox, "ada@example.com")
    assert mail.subject == "Acme Supplies: $4.00 refunded for your order ACME-1001"
    assert "Paid after refunds: $15.99" in mail.body
    assert "$15.99" in html_of(mail) and "Scratched" not in mail.body  # the reason is staff's
    page = shopper.get("/orders/ACME-1001", headers=host(shop)).text
    assert "Refunded on" in page and "−$4.00" in page
    assert re.search(r"Paid after refunds</th><td>\$15\.99", page), page
    # The rest: a second mail, and the order is refunded.
    outbox.clear()
    refund(owner, shop, "15.99")
    (mail,) = mails_to(outbox, "ada@example.com")
    assert "$15.99 refunded" in mail.subject and "Paid after refunds: $0.00" in mail.body
    page = shopper.get("/orders/ACME-1001", headers=host(shop)).text
    assert page.count("Refunded on") == 2 and "Paid after refunds</th><td>$0.00" in page


def test_mails_and_the_refund_speak_the_language_the_order_was_placed_in(
    app, shop, product, outbox
):
    shopper = place(app, shop, product, locale="de")
    (mail,) = mails_to(outbox, "ada@example.com")
    assert "ACME-1001" in mail.subject and "Acme Supplies" in mail.subject
    assert "/de/orders/ACME-1001?key=" in mail.body  # the link in the shopper's language
    assert 'lang="de' in html_of(mail)
    set_status(app, shop, "paid")
    owner = app.test_client()
    login(owner, shop, OWNER)
    refund(owner, shop, "4.00")
    (mail,) = [m for m in mails_to(outbox, "ada@example.com") if "4,00" in m.subject]
    assert "15,99" in mail.body  # German money: the order's language, not the owner's
    page = shopper.get("/de/orders/ACME-1001", headers=host(shop)).text
    assert "4,00" in page and "15,99" in page
