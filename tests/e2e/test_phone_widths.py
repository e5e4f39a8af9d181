"""A 360 px phone, every shipped language, both demo shops (so both shipped themes): no
page is wider than the screen, and the checkout shows the order's summary before its
"Place order" button (issue 36).

The demo shops speak two languages each; this test's copies speak all five (their
tenant.toml gets the five locales), so every catalog is laid out in both themes. A long
product name (one long German word in it), a discount and three cart lines make the
cart, the checkout and the order as wide as a real one gets. One order walks through
its states (awaiting payment with the pay-again block, paid, refunded); the owner's
dashboard is walked in each language too. Tables may scroll inside their own box: only
the page itself may not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_shopping import shop_url

pytestmark = pytest.mark.e2e

PHONE = {"width": 360, "height": 740}
LANGUAGES = ("en", "de", "fr", "es", "nl")
PASSWORD = "a-long-shopper-password"
LONG_TITLE = "Hochgeschwindigkeitsraketenrollschuhwartungsset, with spare wheels and a manual"
LONG_SLUG = "raketenrollschuhwartungsset"


@dataclass(frozen=True)
class Shop:
    locales: tuple[str, ...]  # all five, the shop's default first
    category: str
    plain: str  # a product without variants
    variants: str  # and one sold in sizes
    variant_sku: str
    page: str
    discount: str
    payment: str | None  # the method to pick at checkout (None: the only one)
    address: dict[str, str]
    area: str | None  # the state, where the country's addresses name one


SHOPS = {
    "acme": Shop(
        ("en_US", "fr_FR", "de_DE", "es_ES", "nl_NL"), "anvils", "classic-anvil-50-lb",
        "rocket-skates", "ACME-RKT-SKATES", "shipping", "WELCOME10", "bank_transfer",
        {"postal_code": "85001", "city": "Phoenix"}, "AZ",
    ),
    "globex": Shop(
        ("de_DE", "en_GB", "fr_FR", "es_ES", "nl_NL"), "jacken", "federleichte-windjacke",
        "sturmjacke", "GLX-JKT-STORM", "versand", "WINTERSCHLUSSVERKAUF", None,
        {"postal_code": "10115", "city": "Berlin"}, None,
    ),
}  # fmt: skip
# A stranger's pages: the catalog, a product with and without sizes and the long one,
# the empty cart, the account's forms, a content page, a page that does not exist.
ANONYMOUS = ["/", "/products", "/c/{shop.category}", "/search?q=Hochgeschwindigkeit",
             "/search?q=zzzz", "/p/{shop.plain}", "/p/{shop.variants}", "/p/{long}", "/cart/",
             "/login", "/register", "/reset", "/pages/{shop.page}", "/nope"]  # fmt: skip
DASHBOARD = ["/admin/", "/admin/orders", "/admin/orders/{order}", "/admin/products",
             "/admin/products/{product}", "/admin/products/new", "/admin/settings",
             "/admin/domains/", "/admin/api-keys/", "/admin/discounts/",
             "/admin/staff/"]  # fmt: skip

# The page's overflow, and the element reaching furthest right past the screen that is
# not inside a box of its own that scrolls or clips (that one is what widens the page).
# The screen's width is the viewport's, not innerWidth: a phone zooms out to show a page
# wider than itself, and innerWidth grows with it.
WIDEST = """screen => {
    const page = document.documentElement.scrollWidth;
    if (page <= screen) return null;
    const boxed = el => {
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
            if (getComputedStyle(a).overflowX !== 'visible') return true;
        }
        return false;
    };
    let widest = null, right = screen + 0.5;
    for (const el of document.body.querySelectorAll('*')) {
        const box = el.getBoundingClientRect();
        // Text that does not wrap overflows its element's box: scrollWidth measures it.
        const r = Math.max(box.right, box.left + el.scrollWidth);
        if (r >= right && !boxed(el)) { widest = el; right = r; }  // ties: the innermost
    }
    const name = widest ? widest.tagName.toLowerCase() + (widest.id ? '#' + widest.id : '')
        + [...widest.classList].map(c => '.' + c).join('') : '?';
    const text = widest ? (widest.innerText || widest.value || '').trim().slice(0, 50) : '';
    return `${page}px wide; widest: <${name}> reaching ${Math.round(right)}px "${text}"`;
}"""


def _shop_data(live_server: Any, slug: str) -> dict[str, Any]:
    """The shop speaks all five languages and sells a product with a long name; a shopper
    account; the ids the pages need."""
    from storefront.accounts.services import create_user
    from storefront.catalog.services import create_product, product_by_sku
    from storefront.extensions import db
    from storefront.orders import discounts
    from storefront.tenancy.context import tenant_context
    from storefront.tenancy.registry import bump_generation, context_for

    shop = SHOPS[slug]
    settings = Path(live_server.app.config["TENANTS_DIR"]) / slug / "tenant.toml"
    quoted = ", ".join(f'"{locale}"' for locale in shop.locales)
    text, count = re.subn(r"(?m)^locales = \[.*\]$", f"locales = [{quoted}]", settings.read_text())
    assert count == 1, "the demo tenant.toml no longer lists its locales on one line"
    settings.write_text(text)
    with live_server.app.app_context():
        bump_generation()
        db.session.commit()
        with tenant_context(context_for(slug)):
            create_product(
                "LONG-1", LONG_TITLE, 12345, stock=50, slug=LONG_SLUG,
                description="Ein Wartungsset mit Ersatzrollen.",
            )  # fmt: skip
            if slug != "acme":  # Acme's demo has WELCOME10
                discounts.create_code(shop.discount, "percent", 15)
            create_user(f"phone@{slug}.example.com", PASSWORD)
            db.session.commit()
            variants = product_by_sku(shop.variant_sku)
            assert variants is not None
            return {"product": variants.id}


def _move(live_server: Any, slug: str, number: str, status: str) -> None:
    """The order paid, or refunded in full as the dashboard does it (a refund line)."""
    from storefront.extensions import db
    from storefront.orders import services
    from storefront.tenancy.context import tenant_context
    from storefront.tenancy.registry import context_for

    with live_server.app.app_context(), tenant_context(context_for(slug)):
        order = services.get_order(number)
        assert order is not None
        if status == "refunded":
            services.refund(order, order.total, "Returned unopened", key=f"phone-{number}")
        else:
            services.set_status(order, status)
        db.session.commit()
        assert order.status == status


def _log_in(page: Any, url: str, email: str, password: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("main form.form [type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{email} could not log in"


def _add(page: Any, url: str) -> None:
    page.goto(url)
    page.click("form.add-to-cart button[type=submit]")
    page.wait_for_url(re.compile(r".*/cart/$"))


class Walk:
    """Visits pages at 360 px and collects every one wider than the screen."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base
        self.problems: list[str] = []

    def visit(self, language: str, path: str) -> None:
        self.page.goto(f"{self.base}/{language}{path}")
        self.check(language, path)

    def check(self, language: str, what: str) -> None:
        self.page.wait_for_load_state()
        found = self.page.evaluate(WIDEST, PHONE["width"])
        if found:
            self.problems.append(f"{self.base} [{language}] {what}: {found}")


def _summary_above_place_order(page: Any) -> bool:
    return page.evaluate(
        """() => document.querySelector('#checkout-summary').getBoundingClientRect().bottom
            <= document.querySelector('main form[data-checkout] [name=submit]')
                .getBoundingClientRect().top"""
    )


@pytest.mark.parametrize("slug", list(SHOPS))
def test_every_page_fits_a_360px_phone_in_every_language(browser, live_server, screenshots, slug):
    shop = SHOPS[slug]
    ids = _shop_data(live_server, slug)
    base = shop_url(slug, live_server.port, "").rstrip("/")
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    page = context.new_page()
    walk = Walk(page, base)
    for language in LANGUAGES:
        for path in ANONYMOUS:
            walk.visit(language, path.format(shop=shop, long=LONG_SLUG))

    _log_in(page, base, f"phone@{slug}.example.com", PASSWORD)
    for product in (LONG_SLUG, shop.variants, shop.plain):
        _add(page, f"{base}/p/{product}")
    misplaced = []
    for language in LANGUAGES:
        walk.visit(language, "/cart/")
        # Place order with the address missing: the errors, and the summary with the code.
        page.goto(f"{base}/{language}/checkout")
        page.fill("input[name=discount_code]", shop.discount)
        page.fill("input[name=name]", "")
        page.click("main form[data-checkout] [name=submit]")
        page.locator("#checkout-summary .summary-discount").wait_for()
        assert page.locator(".field-error").count(), f"{language}: no errors shown"
        walk.check(language, "/checkout (errors shown)")
        if not _summary_above_place_order(page):
            misplaced.append(language)
        if language == "de":
            page.screenshot(path=screenshots / f"{slug}-phone-checkout.png", full_page=True)
            walk.visit(language, "/cart/")
            page.screenshot(path=screenshots / f"{slug}-phone-cart.png", full_page=True)

    page.goto(f"{base}/{LANGUAGES[0]}/checkout")
    for field, value in {"name": "Maximiliane Mustermann-Schulze", "address": "1 Long Street",
                         "discount_code": shop.discount, **shop.address}.items():  # fmt: skip
        page.fill(f"input[name={field}]", value)
    if shop.area and page.locator("select[name=country_area]").count():
        page.select_option("select[name=country_area]", shop.area)
    if shop.payment:
        page.check(f"input[name=payment_method][value={shop.payment}]")
    page.locator("#checkout-summary .summary-discount").wait_for()
    page.click("main form[data-checkout] [name=submit]")
    page.wait_for_url(re.compile(r".*/orders/[A-Z]+-\d+.*"))
    number = page.url.split("/orders/")[1].split("?")[0]
    if slug == "acme":  # card or transfer: the order offers to pay again while it waits
        assert page.locator("#pay-again").is_visible()
    for status in ("pending", "paid", "refunded"):
        if status != "pending":
            _move(live_server, slug, number, status)
        for language in LANGUAGES:
            walk.visit(language, f"/orders/{number}")
            if language == "fr" and status == "pending":
                page.screenshot(path=screenshots / f"{slug}-phone-order.png", full_page=True)
            if status == "pending":
                walk.visit(language, "/account")
    context.close()

    owner = browser.new_context(viewport=PHONE, is_mobile=True)
    walk.page = owner.new_page()
    _log_in(walk.page, base, f"owner@{slug}.example.com", "demo-password")
    for language in LANGUAGES:
        for path in DASHBOARD:
            walk.visit(language, path.format(order=number, **ids))
    owner.close()

    if misplaced:
        walk.problems.append(f"{base} {misplaced}: the checkout's summary is below Place order")
    assert not walk.problems, "\n".join(walk.problems)
