"""Cart, checkout and orders per shop: totals, stock, mails, and who may see an order."""

from __future__ import annotations

import re
import threading

from sqlalchemy import func, select, update

from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.tenancy import tenant_context
from tests.fixtures.factories import csrf_from, host, login

ADDRESS = {
    "name": "Ada Shopper",
    "address": "1 Main Street",
    "postal_code": "12345",
    "city": "Springfield",
    "country_area": "NY",  # the US needs a state (addresses.countries), and 12345 is in NY
    "country": "US",
    "payment_method": "manual",
}


def add_to_cart(client, shop, slug, quantity=1):
    page = client.get(f"/p/{slug}", headers=host(shop))
    assert page.status_code == 200, page.status_code
    product_id = re.search(r'name="product_id" value="(\d+)"', page.text).group(1)
    # The product page's form has no token (the page is shareable): the browser's
    # Sec-Fetch-Site says it comes from the shop's own page.
    return client.post(
        "/cart/add",
        data={"product_id": product_id, "quantity": quantity},
        headers={**host(shop), "Sec-Fetch-Site": "same-origin"},
    )


def checkout(client, shop, email="ada@example.com", **overrides):
    page = client.get("/checkout", headers=host(shop))
    data = {**ADDRESS, "email": email, "csrf_token": csrf_from(page.text), **overrides}
    return client.post("/checkout", data=data, headers=host(shop))


def stock_of(app, shop, slug):
    with app.app_context(), tenant_context(shop):
        return db.session.scalar(select(Product.stock).where(Product.slug == slug))


def order_count(app, shop):
    with app.app_context(), tenant_context(shop):
        return db.session.scalar(select(func.count()).select_from(Order))


def test_cart_keeps_items_across_requests_and_totals_by_babel(client, make_shop, product):
    shop = make_shop("acme")
    product(shop, "anvil", price=1999)
    product(shop, "rope", price=500)
    assert add_to_cart(client, shop, "anvil", 2).status_code == 302
    add_to_cart(client, shop, "rope")
    page = client.get("/cart/", headers=host(shop)).text
    assert "Anvil" in page and "Rope" in page
    assert "$39.98" in page and "$44.98" in page  # line total and subtotal


def test_empty_cart_has_an_empty_state_and_checkout_sends_back(client, make_shop):
    shop = make_shop("acme")
    assert "Your cart is empty" in client.get("/cart/", headers=host(shop)).text
    assert client.get("/checkout", headers=host(shop)).headers["Location"].endswith("/cart/")


def test_cannot_add_more_than_stock_or_a_bad_quantity(client, make_shop, product, app):
    shop = make_shop("acme")
    product(shop, "anvil", stock=2)
    add_to_cart(client, shop, "anvil", 3)
    assert "Only 2 of" in client.get("/cart/", headers=host(shop)).text
    add_to_cart(client, shop, "anvil", "lots")
    add_to_cart(client, shop, "anvil", -1)
    assert "Your cart is empty" in client.get("/cart/", headers=host(shop)).text


def test_guest_checkout_places_a_numbered_order_takes_stock_and_mails(
    app, client, make_shop, product, outbox
):
    shop = make_shop("acme", domains=("acme.test", "www.acme-alias.test"))
    product(shop, "anvil", price=1999, stock=5)
    add_to_cart(client, shop, "anvil", 2)
    response = checkout(client, shop)
    assert response.status_code == 302
    assert "/orders/ACME-1001" in response.headers["Location"]
    page = client.get("/orders/ACME-1001", headers=host(shop)).text
    assert "ACME-1001" in page and "pending" in page and "$39.98" in page
    assert stock_of(app, shop, "anvil") == 3
    assert "Your cart is empty" in client.get("/cart/", headers=host(shop)).text

    (mail,) = outbox
    assert mail.to == ["ada@example.com"] and "ACME-1001" in mail.subject
    assert "http://acme.test/orders/ACME-1001" in mail.body
    assert "Shipping" in mail.body or "shipping" in mail.body

    add_to_cart(client, shop, "anvil")
    checkout(client, shop)
    assert client.get("/orders/ACME-1002", headers=host(shop)).status_code == 200


def test_order_numbers_are_per_shop(client, make_shop, product):
    acme, globex = make_shop("acme"), make_shop("globex")
    for shop in (acme, globex):
        product(shop, "anvil")
        add_to_cart(client, shop, "anvil")
        checkout(client, shop)
    assert client.get("/orders/ACME-1001", headers=host(acme)).status_code == 200
    assert client.get("/orders/GLOBEX-1001", headers=host(globex)).status_code == 200


def test_invalid_checkout_form_says_what_is_wrong_and_keeps_the_cart(
    app, client, make_shop, product
):
    shop = make_shop("acme")
    product(shop, "anvil")
    add_to_cart(client, shop, "anvil")
    response = checkout(client, shop, email="not-an-email", city="")
    assert response.status_code == 200
    assert "Invalid email address" in response.text and "This field is required" in response.text
    assert order_count(app, shop) == 0
    assert "Anvil" in client.get("/cart/", headers=host(shop)).text
    assert checkout(client, shop, payment_method="bitcoin").status_code == 200
    assert order_count(app, shop) == 0


def test_nobody_else_sees_an_order(app, client, make_shop, product, make_user):
    acme, globex = make_shop("acme"), make_shop("globex")
    product(acme, "anvil")
    add_to_cart(client, acme, "anvil")
    checkout(client, acme)
    assert client.get("/orders/ACME-1001", headers=host(acme)).status_code == 200

    stranger = app.test_client()
    assert stranger.get("/orders/ACME-1001", headers=host(acme)).status_code == 404
    make_user(acme, "other@example.com")
    login(stranger, acme, "other@example.com")
    assert stranger.get("/orders/ACME-1001", headers=host(acme)).status_code == 404
    # The same browser at another shop: nothing of shop A's.
    assert client.get("/orders/ACME-1001", headers=host(globex)).status_code == 404
    # The guest's session cookie replayed at shop B by hand: still nothing.
    cookie = client.get_cookie("session", domain="acme.test")
    if cookie is not None:
        replay = app.test_client()
        replay.set_cookie("session", cookie.value, domain="globex.test")
        assert replay.get("/orders/ACME-1001", headers=host(globex)).status_code == 404


def test_account_shows_own_order_history_only(app, client, make_shop, product, make_user):
    acme, globex = make_shop("acme"), make_shop("globex")
    product(acme, "anvil")
    make_user(acme, "ada@example.com")
    make_user(globex, "ada@example.com")
    login(client, acme, "ada@example.com")
    add_to_cart(client, acme, "anvil")
    checkout(client, acme)
    assert "ACME-1001" in client.get("/account", headers=host(acme)).text

    other = app.test_client()
    login(other, globex, "ada@example.com")
    page = other.get("/account", headers=host(globex)).text
    assert "ACME-1001" not in page and "No orders yet" in page


def test_anonymous_cart_merges_into_the_account_cart_on_login(
    client, make_shop, product, make_user
):
    shop = make_shop("acme")
    product(shop, "anvil")
    product(shop, "rope")
    make_user(shop, "ada@example.com")
    login(client, shop, "ada@example.com")
    add_to_cart(client, shop, "rope")
    token = csrf_from(client.get("/", headers=host(shop)).text)
    assert client.post("/logout", headers=host(shop), data={"csrf_token": token}).status_code == 302
    add_to_cart(client, shop, "anvil")
    login(client, shop, "ada@example.com")
    page = client.get("/cart/", headers=host(shop)).text
    assert "Anvil" in page and "Rope" in page


def test_sold_out_while_shopping_is_a_message_not_an_order(app, client, make_shop, product):
    shop = make_shop("acme")
    product(shop, "anvil", stock=1)
    add_to_cart(client, shop, "anvil")
    with app.app_context(), tenant_context(shop):
        db.session.execute(db.update(Product).values(stock=0))
        db.session.commit()
    response = checkout(client, shop)
    assert response.headers["Location"].endswith("/cart/")
    assert "sold out" in client.get("/cart/", headers=host(shop)).text
    assert order_count(app, shop) == 0


def test_last_units_are_never_oversold_under_concurrent_checkouts(app, make_shop, product):
    """50 shoppers check out the last 10 units at once: exactly 10 orders, stock 0."""
    shop = make_shop("acme")
    product(shop, "anvil", stock=10)
    shoppers = [app.test_client() for _ in range(50)]
    for shopper in shoppers:
        add_to_cart(shopper, shop, "anvil")
    forms = []
    for shopper in shoppers:
        page = shopper.get("/checkout", headers=host(shop))
        forms.append({**ADDRESS, "email": "x@example.com", "csrf_token": csrf_from(page.text)})

    start = threading.Barrier(len(shoppers))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def buy(shopper, form):
        try:
            start.wait()
            statuses.append(shopper.post("/checkout", data=form, headers=host(shop)).status_code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    pairs = zip(shoppers, forms, strict=True)
    threads = [threading.Thread(target=buy, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    assert statuses == [302] * 50
    assert order_count(app, shop) == 10
    assert stock_of(app, shop, "anvil") == 0
    with app.app_context(), tenant_context(shop):
        numbers = db.session.scalars(select(Order.number)).all()
    assert sorted(numbers) == [f"ACME-{n}" for n in range(1001, 1011)]


def test_a_payment_provider_can_take_the_shopper_elsewhere(app, client, make_shop, product):
    """The provider interface is used by checkout: ``start`` may return a URL to go to."""
    from storefront.orders import payments

    class FakeGateway:
        code = "fake"
        label = "Fake card gateway"

        def instructions(self, order):
            return "Paid by card."

        def start(self, order):
            return f"https://pay.example/checkout/{order.number}"

    payments.register(FakeGateway())
    try:
        # Offered where the shop lists it (first: the default), nowhere else.
        other = make_shop("globex")
        product(other, "anvil")
        add_to_cart(client, other, "anvil")
        assert "Fake card gateway" not in client.get("/checkout", headers=host(other)).text
        shop = make_shop(
            "acme", settings='name = "Acme"\n[payment]\nmethods = ["fake", "manual"]\n'
        )
        product(shop, "anvil")
        add_to_cart(client, shop, "anvil")
        page = client.get("/checkout", headers=host(shop)).text
        assert "Fake card gateway" in page
        response = checkout(client, shop, payment_method="fake")
        assert response.headers["Location"] == "https://pay.example/checkout/ACME-1001"
        assert "Paid by card." in client.get("/orders/ACME-1001", headers=host(shop)).text
    finally:
        payments.PROVIDERS.pop("fake", None)


def test_selling_the_last_unit_refreshes_cached_listings(app, client, make_shop, product):
    shop = make_shop("acme")
    product(shop, "anvil", stock=1)
    assert "Sold out" not in client.get("/products", headers=host(shop)).text  # now cached
    buyer = app.test_client()
    add_to_cart(buyer, shop, "anvil")
    checkout(buyer, shop)
    assert "Sold out" in client.get("/products", headers=host(shop)).text


def test_only_the_shops_payment_methods_are_offered_and_taken(app, client, make_shop, product):
    shop = make_shop("cod", settings='name = "COD"\n[payment]\nmethods = ["cash_on_delivery"]\n')
    product(shop, "anvil")
    add_to_cart(client, shop, "anvil")
    page = client.get("/checkout", headers=host(shop)).text
    assert "Cash on delivery" in page and "Bank transfer" not in page
    refused = checkout(client, shop, payment_method="bank_transfer")
    assert refused.status_code == 200 and order_count(app, shop) == 0
    assert checkout(client, shop, payment_method="cash_on_delivery").status_code == 302
    assert "Pay the courier" in client.get("/orders/COD-1001", headers=host(shop)).text


def test_the_checkout_form_helps_browsers_fill_it_and_offers_guests_the_login(
    client, make_shop, product
):
    shop = make_shop("acme")
    product(shop, "anvil", 1000)
    add_to_cart(client, shop, "anvil")
    page = client.get("/checkout", headers=host(shop)).text
    for field, token in (
        ("email", "email"),
        ("name", "name"),
        ("address", "street-address"),
        ("postal_code", "postal-code"),
        ("city", "address-level2"),
        ("country", "country"),
    ):
        assert re.search(
            rf'name="{field}"[^>]*autocomplete="{token}"|autocomplete="{token}"[^>]*name="{field}"',
            page,
        ), field
    assert "Log in to check out faster" in page, page[page.find("<main") :][:600]
    assert "login?next=/checkout" in page


def test_the_cart_counts_in_the_header_removes_lines_and_stops_a_short_checkout(
    app, client, make_shop, product
):
    shop = make_shop("acme")
    product(shop, "anvil", price=1999, stock=3)
    product(shop, "rope", price=500, stock=5)
    stranger = app.test_client()
    assert 'class="cart-count"' not in stranger.get("/", headers=host(shop)).text
    add_to_cart(client, shop, "anvil", 2)
    add_to_cart(client, shop, "rope", 1)
    home = client.get("/", headers=host(shop)).text
    assert re.search(r'class="cart-count"[^>]*>3<', home)
    # A page cached for anonymous visitors never carries someone's cart count.
    assert 'class="cart-count"' not in stranger.get("/", headers=host(shop)).text
    cart = client.get("/cart/", headers=host(shop)).text
    assert cart.count('class="cart-thumb"') == 2 and 'max="3"' in cart
    # Someone else buys the anvils while these sit in the cart: the cart says so.
    with app.app_context(), tenant_context(shop):
        db.session.execute(update(Product).where(Product.slug == "anvil").values(stock=1))
        db.session.commit()
    cart = client.get("/cart/", headers=host(shop)).text
    assert "Only 1 left: lower the quantity to check out." in cart
    assert "/checkout" not in cart.split('class="cart-actions"')[1]
    # The typed address survives a checkout that sends the shopper back to the cart.
    sent_back = checkout(client, shop, name="Ada Lovelace")
    assert sent_back.status_code == 302 and sent_back.headers["Location"].endswith("/cart/")
    form = client.get("/checkout", headers=host(shop)).text
    assert 'value="Ada Lovelace"' in form
    item = re.search(r'name="item_id" value="(\d+)"', cart).group(1)
    removed = client.post(
        "/cart/update",
        data={"item_id": item, "quantity": "0", "csrf_token": csrf_from(cart)},
        headers=host(shop),
    )
    assert removed.status_code == 302
    cart = client.get("/cart/", headers=host(shop)).text
    assert cart.count('class="cart-thumb"') == 1 and "/checkout" in cart
