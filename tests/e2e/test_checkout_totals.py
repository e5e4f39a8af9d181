"""The checkout summary follows the country as the shopper picks it (the script under the
CSP), and the order costs the total the page showed (issue 36)."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_shopping import add_product, shop_url

pytestmark = pytest.mark.e2e

ADDRESS = {
    "email": "totals@example.com",
    "name": "Tom Totals",
    "address": "3 Main Street",
    "city": "Springfield",
}
# The lines the form holds to each country's rules (addresses.countries).
POSTAL = {"CA": ("H3Z 2Y7", "QC"), "NL": ("1234 AB", None)}


@pytest.mark.parametrize(
    ("slug", "country", "method"), [("acme", "CA", "bank_transfer"), ("globex", "NL", None)]
)
def test_the_summary_follows_the_country_and_the_order_costs_it(
    browser, live_server, screenshots, slug, country, method
):
    port = live_server.port
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    add_product(page, slug, port, 0)
    page.goto(shop_url(slug, port, "/checkout"))
    total = page.locator("#checkout-summary .summary-total")
    before = total.inner_text()
    for field, value in ADDRESS.items():
        page.fill(f"input[name={field}]", value)
    if method:
        page.check(f"input[name=payment_method][value={method}]")

    page.select_option("select[name=country]", country)
    page.wait_for_function(
        "before => document.querySelector('#checkout-summary .summary-total').innerText !== before",
        arg=before,
    )
    # The address lines are the new country's now (the script swaps them in).
    postal_code, area = POSTAL[country]
    page.locator(f"[data-address-fields][data-country={country}]").wait_for()
    page.fill("input[name=postal_code]", postal_code)
    if area:
        page.select_option("select[name=country_area]", area)
    shown = total.inner_text()
    minor = total.get_attribute("data-total")
    assert page.input_value("input[name=expected_total]") == minor
    assert page.input_value("input[name=name]") == ADDRESS["name"]  # nothing typed is lost
    page.screenshot(path=screenshots / f"{slug}-checkout-{country.lower()}.png", full_page=True)

    page.click("main form[data-checkout] [name=submit]")
    page.wait_for_url(re.compile(r".*/orders/[A-Z]+-\d+.*"))
    amount = shown.split()[-1]
    assert amount in page.locator("main").inner_text(), (shown, page.locator("main").inner_text())
