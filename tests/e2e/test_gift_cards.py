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
from tests.e2e.test_shopping import add_product, shop_url

pytestmark = pytest.mark.e2e


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
