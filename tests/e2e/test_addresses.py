"""The address book in a browser (issue 36): a shopper saves an address, checkout fills
it in, and the address lines follow the country as it changes (the script under the CSP
asks the server for the new country's lines)."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_shopping import PASSWORD, add_product, shop_url

pytestmark = pytest.mark.e2e


def test_a_saved_address_fills_checkout_and_the_state_follows_the_country(
    browser, live_server, screenshots
):
    port = live_server.port
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(shop_url("acme", port, "/register"))
    page.fill("input[name=email]", "addresses@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password_confirm]", PASSWORD)
    page.click("form.form [type=submit]")
    page.wait_for_url(re.compile(r".*/account$"))

    page.click("a:has-text('Manage your addresses')")
    assert "No saved addresses yet" in page.locator("main").inner_text()
    page.click("a:has-text('Add an address')")
    page.fill("input[name=name]", "Tara Toronto")
    page.select_option("select[name=country]", "CA")
    # The script swaps in Canada's lines: a province to choose, a postal code.
    page.locator("[data-address-fields][data-country=CA]").wait_for()
    assert page.locator("label[for=country_area]").inner_text().startswith("Province")
    page.fill("input[name=address]", "290 Bremner Blvd")
    page.fill("input[name=city]", "Toronto")
    page.select_option("select[name=country_area]", "ON")
    page.fill("input[name=postal_code]", "M5V 3L9")
    page.screenshot(path=screenshots / "acme-address-form.png", full_page=True)
    page.click("main form [name=submit]")
    page.wait_for_url(re.compile(r".*/account/addresses$"))
    book = page.locator("main").inner_text()
    assert "Toronto ON M5V 3L9" in book and "Default address" in book

    add_product(page, "acme", port, 0)
    page.goto(shop_url("acme", port, "/checkout"))
    assert page.input_value("input[name=city]") == "Toronto"
    assert page.input_value("select[name=country]") == "CA"
    assert page.input_value("select[name=country_area]") == "ON"
    assert page.locator("select[name=address]").count() == 1  # the saved-address picker

    page.select_option("select[name=country]", "US")
    page.locator("[data-address-fields][data-country=US]").wait_for()
    state = page.locator("label[for=country_area]")
    assert state.inner_text().startswith("State") and state.is_visible()
    assert page.locator("label[for=postal_code]").inner_text().startswith("ZIP code")
    assert page.input_value("input[name=city]") == "Toronto"  # nothing typed is lost
    assert page.input_value("input[name=name]") == "Tara Toronto"
    page.screenshot(path=screenshots / "acme-checkout-us-address.png", full_page=True)
    assert not errors, errors
