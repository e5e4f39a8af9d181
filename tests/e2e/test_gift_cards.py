"""A shopper pays part of an order with a gift card in the browser: the summary shows the
card and what is left as the code is typed (the checkout script under the CSP), and the
order and its page carry both (issue 35)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from storefront.extensions import db
from storefront.orders import giftcards
from storefront.orders.giftcards import GiftCard
from storefront.tenancy import tenant_context
from storefront.tenancy.registry import context_for
from tests.e2e import test_accessibility as accessibility
from tests.e2e.test_shopping import add_product, shop_url

pytestmark = pytest.mark.e2e
axe_source = accessibility.axe_source  # the fixture: axe-core, installed once
VIEWPORTS, _audit = accessibility.VIEWPORTS, accessibility._audit


def test_a_shopper_pays_part_of_an_order_with_a_gift_card(browser, live_server, screenshots):
    port, app = live_server.port, live_server.app
    with app.app_context(), tenant_context(context_for("globex")):
        _card, code = giftcards.issue(500)
        db.session.commit()
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    add_product(page, "globex", port, 0)
    page.goto(shop_url("globex", port, "/checkout"))
    for field, value in {
        "email": "gift@example.com",
        "name": "Greta Gift",
        "address": "3 Main Street",
        "city": "Utrecht",
    }.items():
        page.fill(f"input[name={field}]", value)
    page.select_option("select[name=country]", "NL")
    page.locator("[data-address-fields][data-country=NL]").wait_for()
    page.fill("input[name=postal_code]", "1234 AB")
    total_before = page.locator("#checkout-summary .summary-total").get_attribute("data-total")

    page.fill("input[name=gift_card_code]", code.lower())
    page.locator("input[name=gift_card_code]").blur()  # "change": the summary follows
    page.locator("#checkout-summary .summary-gift-card").wait_for()
    due = page.locator("#checkout-summary .summary-total").get_attribute("data-total")
    assert int(due) == int(total_before) - 500
    assert page.input_value("input[name=expected_total]") == due
    left = page.locator("#checkout-summary .summary-due").inner_text()
    page.screenshot(path=screenshots / "globex-checkout-gift-card.png", full_page=True)

    page.click("main form[data-checkout] [name=submit]")
    page.wait_for_url(re.compile(r".*/orders/[A-Z]+-\d+.*"))
    shown = page.locator("main").inner_text()
    assert f"···· {code[-4:]}" in shown
    assert left.split()[-1] in shown  # what is left to pay, as the summary said
    with app.app_context(), tenant_context(context_for("globex")):
        assert db.session.scalar(select(GiftCard.balance)) == 0


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_gift_card_alone_checks_out_without_an_address(
    browser, live_server, axe_source, viewport
):
    """The demo's gift card in its amounts; a cart of it alone asks for no address (the
    page says why), and the order is placed with none; axe-clean on desktop and phone."""
    from storefront.catalog.services import product_by_sku
    from storefront.orders.models import Order

    port, app = live_server.port, live_server.app
    with app.app_context(), tenant_context(context_for("acme")):
        slug = product_by_sku("ACME-GIFT").slug
    context = browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=True)
    page = context.new_page()
    problems = _audit(page, shop_url("acme", port, f"/p/{slug}"), axe_source, viewport)
    page.click("form.add-to-cart button[type=submit]")
    page.wait_for_url(re.compile(r".*/cart/$"))
    problems += _audit(page, shop_url("acme", port, "/checkout"), axe_source, viewport)
    assert page.locator("input[name=address]").count() == 0
    assert "no address is needed" in page.inner_text("main")
    page.fill("input[name=email]", f"cards-{viewport}@example.com")
    page.fill("input[name=name]", "Wile E.")
    page.check("input[name=payment_method][value=bank_transfer]")
    page.click("main form[data-checkout] [name=submit]")
    page.wait_for_url(re.compile(r".*/orders/[A-Z]+-\d+.*"))
    context.close()
    with app.app_context(), tenant_context(context_for("acme")):
        order = db.session.scalar(
            select(Order).where(Order.email == f"cards-{viewport}@example.com")
        )
        assert (order.shipping, order.address) == (0, "")
    assert not problems, "\n".join(problems)
