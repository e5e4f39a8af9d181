"""A shopper buys at one shop, is a stranger at the other; the owner ships the order."""

from __future__ import annotations

import re
import time

import pytest

pytestmark = pytest.mark.e2e

EMAIL = "shopper@example.com"
PASSWORD = "a-long-shopper-password"


def shop_url(slug: str, port: str, path: str = "/") -> str:
    return f"http://{slug}.localhost:{port}{path}"


def register(page, slug, port):
    page.goto(shop_url(slug, port, "/register"))
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password_confirm]", PASSWORD)
    page.click("form.form [type=submit]")
    page.wait_for_load_state()


def wait_for(found, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not (result := found()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return result


def add_product(page, slug, port, index):
    page.goto(shop_url(slug, port, "/products?sort=title"))
    page.locator(".product-card a.product-link").nth(index).click()
    page.wait_for_load_state()
    title = page.locator("h1").first.inner_text()
    page.click("form.add-to-cart button[type=submit]")
    page.wait_for_url(re.compile(r".*/cart/$"))
    return title


def test_buy_at_one_shop_stranger_at_the_other_owner_ships(browser, live_server, screenshots):
    port = live_server.port
    shopper = browser.new_context(viewport={"width": 1280, "height": 900})
    page = shopper.new_page()

    # Shop A: the demo home page and a product page, for the README.
    page.goto(shop_url("acme", port))
    page.screenshot(path=screenshots / "acme-home.png", full_page=True)
    register(page, "acme", port)
    assert page.url.endswith("/account"), page.url
    first = add_product(page, "acme", port, 0)
    page.goto(shop_url("acme", port, "/products?sort=title"))
    page.locator(".product-card a.product-link").nth(1).click()
    page.screenshot(path=screenshots / "acme-product.png", full_page=True)
    second = add_product(page, "acme", port, 1)
    cart = page.locator("main").inner_text()
    assert first in cart and second in cart
    page.screenshot(path=screenshots / "acme-cart.png", full_page=True)

    page.goto(shop_url("acme", port, "/checkout"))
    for field, value in {
        "name": "Sam Shopper",
        "address": "1 Main Street",
        "postal_code": "12345",
        "city": "Springfield",
    }.items():
        page.fill(f"input[name={field}]", value)
    page.select_option("select[name=country_area]", "NY")  # the US asks for the state
    page.check("input[name=payment_method][value=bank_transfer]")
    page.click("main form.form [type=submit]")
    page.wait_for_url(re.compile(r".*/orders/ACME-1001.*"))
    assert "awaiting payment" in page.locator("main").inner_text().lower()
    page.screenshot(path=screenshots / "acme-order.png", full_page=True)
    page.goto(shop_url("acme", port, "/account"))
    assert "ACME-1001" in page.locator("main").inner_text()

    # Shop B, same browser, same email: a separate account with an empty history.
    page.goto(shop_url("globex", port))
    page.screenshot(path=screenshots / "globex-home.png", full_page=True)
    page.locator(".product-card a.product-link").first.click()
    page.screenshot(path=screenshots / "globex-product.png", full_page=True)
    page.goto(shop_url("globex", port, "/account"))
    assert "/login" in page.url  # not logged in here: A's session means nothing at B
    register(page, "globex", port)
    # Globex asks for a confirmed email: follow the link it mailed (from its own domain).
    # Mails go out after the response (the outbox): wait for it rather than race it.
    (mail,) = wait_for(lambda: [m for m in live_server.mails() if "globex" in m.from_email.lower()])
    link = re.search(r"http://\S+/confirm/\S+", mail.body).group(0)
    assert link.startswith(shop_url("globex", port, "/confirm/"))
    page.goto(link)
    page.goto(shop_url("globex", port, "/account"))
    if "/login" in page.url:
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.click("main form.form [type=submit]")
        page.wait_for_load_state()
        page.goto(shop_url("globex", port, "/account"))
    text = page.locator("main").inner_text()
    assert EMAIL in text and "ACME-1001" not in text and "No orders yet" in text

    # The owner of A marks the order shipped in the dashboard.
    owner = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    owner.goto(shop_url("acme", port, "/login"))
    owner.fill("input[name=email]", "owner@acme.example.com")
    owner.fill("input[name=password]", "demo-password")
    owner.click("form.form [type=submit]")
    owner.wait_for_load_state()
    owner.goto(shop_url("acme", port, "/admin/orders"))
    owner.click("text=ACME-1001")
    owner.select_option("select[name=status]", "shipped")
    owner.click("form [type=submit]:has-text('Update status')")
    owner.wait_for_load_state()
    assert "is now “Shipped”" in owner.locator("main").inner_text()
    owner.screenshot(path=screenshots / "acme-dashboard-order.png", full_page=True)

    page.goto(shop_url("acme", port, "/orders/ACME-1001"))
    assert "shipped" in page.locator(".order-status").inner_text().lower()
    shopper.close()


@pytest.mark.parametrize("slug", ["acme", "globex"])
def test_both_themes_fit_a_phone_screen(browser, live_server, screenshots, slug):
    """Responsive: at 390 px wide no page scrolls sideways, and the navigation is reachable."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    for path in (
        "/",
        "/products",
        "/p/" + ("classic-anvil-50-lb" if slug == "acme" else "zwei-personen-zelt"),
        "/cart/",
        "/login",
    ):
        page.goto(shop_url(slug, live_server.port, path))
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
        # The links fold behind the Menu button on a phone; opening it shows them.
        if not page.locator("a[href='/products']").first.is_visible():
            page.click(".nav-toggle")
        assert page.locator("a[href='/products']").first.is_visible(), path
    page.goto(shop_url(slug, live_server.port, "/"))
    page.screenshot(path=screenshots / f"{slug}-phone.png", full_page=False)
    context.close()


def test_a_german_shopper_reads_globex_in_german_and_switches_to_english(
    browser, live_server, screenshots
):
    """A browser asking for German gets Globex in German (its default); the switcher
    gives the same page in English, and the choice sticks on pages without a prefix."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()
    port = live_server.port
    page.goto(shop_url("globex", port, "/products"))
    assert page.locator("html").get_attribute("lang") == "de-DE"
    text = page.locator("body").inner_text()
    assert "Alle Produkte" in text and "Warenkorb" in text and "Zwei-Personen-Zelt" in text
    page.goto(shop_url("globex", port))
    page.screenshot(path=screenshots / "globex-de.png", full_page=True)
    page.locator(".product-card a.product-link").first.click()
    page.click("form.add-to-cart button[type=submit]")
    page.wait_for_url(re.compile(r".*/cart/$"))
    assert "Zum Warenkorb hinzugefügt." in page.locator("main").inner_text()

    page.click(".language-switcher a[hreflang=en-GB]")
    page.wait_for_url(re.compile(r".*/en/cart/$"))
    assert page.locator("html").get_attribute("lang") == "en-GB"
    assert "Your cart" in page.locator("main").inner_text()
    page.goto(shop_url("globex", port, "/products"))  # no prefix: the choice is kept
    assert page.locator("html").get_attribute("lang") == "en-GB"
    assert "All products" in page.locator("main").inner_text()
    context.close()


def test_a_shopper_pays_by_card_at_acme_through_stripe(browser, live_server, screenshots):
    """Checkout → Stripe's hosted page (the local fake) → Cancel → the order offers to pay
    again → a new session → paid: the order turns paid when Stripe's signed webhook
    arrives; the discount code is a line in the total."""
    port = live_server.port
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    add_product(page, "acme", port, 0)
    page.goto(shop_url("acme", port, "/checkout"))
    for field, value in {
        "email": "card@example.com",
        "name": "Cara Card",
        "address": "2 Main Street",
        "postal_code": "85001",
        "city": "Phoenix",
        "discount_code": "welcome10",
    }.items():
        page.fill(f"input[name={field}]", value)
    page.select_option("select[name=country_area]", "AZ")
    page.check("input[name=payment_method][value=stripe]")
    # The summary takes the code off before the order is placed: an order whose total the
    # shopper has not seen is refused (tests/test_checkout_totals.py).
    page.locator("#checkout-summary .summary-discount").wait_for()
    page.screenshot(path=screenshots / "acme-checkout.png", full_page=True)
    page.click("main form.form [type=submit]")
    page.wait_for_url(re.compile(r".*/_config/pay/cs_test_.*"))
    first_session = page.url
    # Cancel on Stripe's page: back on the order, which still offers to pay.
    page.click("#cancel")
    page.wait_for_url(re.compile(r".*/orders/ACME-\d+$"))
    page.locator("#pay-again").wait_for()
    page.screenshot(path=screenshots / "acme-pay-again.png", full_page=True)
    page.click("#pay-again")  # the card, ticked: a new session for the same total
    page.wait_for_url(re.compile(r".*/_config/pay/cs_test_.*"))
    assert page.url != first_session
    assert "Pay" in page.locator("h1").inner_text()
    page.click("#pay")
    page.wait_for_url(re.compile(r".*/orders/ACME-\d+$"))
    number = page.url.rsplit("/", 1)[1]
    deadline = time.monotonic() + 15
    while "Paid" not in page.locator(".order-status").inner_text():
        assert time.monotonic() < deadline, "the payment was never confirmed"
        time.sleep(0.3)
        page.reload()
    text = page.locator("main").inner_text()
    assert "Discount WELCOME10" in text and "Tax 8.6%" in text, text  # Babel's English
    page.screenshot(path=screenshots / "acme-paid.png", full_page=True)
    assert number.startswith("ACME-")
