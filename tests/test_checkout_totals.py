"""The total shown is the total charged (issue 36): the checkout summary follows the
country and the discount code before the order is placed, and the server refuses an order
whose total is not the one the shopper last saw.

The shopper here is a browser without JavaScript: it posts the whole checkout form (every
field as the page rendered it, with what the shopper changed), pressing "Update the totals"
or "Place order"."""

from __future__ import annotations

import re
import tomllib
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.tenancy import tenant_context
from storefront.tenancy.registry import context_for
from tests.fixtures.addresses import address_for
from tests.fixtures.factories import host

DEMO = Path(__file__).resolve().parents[1] / "tenants"


def shopper_in(country: str) -> dict[str, str]:
    """What the shopper types: an address valid in ``country`` (its state where it needs
    one, its postal code's pattern: the form checks them)."""
    return {"email": "ada@example.com", "name": "Ada Shopper", **address_for(country)}


SHOPPER = shopper_in("US")  # Acme's own country


def shipped_to(slug: str) -> list[str]:
    """The countries a demo shop ships to, as its settings say."""
    settings = tomllib.loads((DEMO / slug / "tenant.toml").read_text())
    return [code for zone in settings["shipping"]["zones"] for code in zone["countries"]]


DESTINATIONS = [(slug, code) for slug in ("acme", "globex") for code in shipped_to(slug)]


class CheckoutPage(HTMLParser):
    """What a browser holds of the checkout page: the checkout form's fields with their
    current values, and the summary's total (as shown, and the number it stands for)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, str] = {}
        self.radios: dict[str, list[str]] = {}
        self._in_form = False
        self._select: str | None = None
        self._first_option: str | None = None
        self.feed(html)
        total = re.search(
            r'class="summary-total" data-total="(\d+)">[^<]*<span>([^<]+)</span>', html
        )
        assert total, "the page shows a total"
        self.total, self.total_display = int(total.group(1)), unescape(total.group(2))
        self.text = html

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and "data-checkout" in a:
            self._in_form = True
        if not self._in_form or "name" not in a and tag != "option":
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind == "radio":
                self.radios.setdefault(a["name"], []).append(a["value"])
                if "checked" in a:
                    self.fields[a["name"]] = a["value"]
            elif kind == "submit":
                self.buttons[a["name"]] = a.get("value", "")
            else:
                self.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select, self._first_option = a["name"], None
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a["value"]
            if "selected" in a:
                self.fields[self._select] = a["value"]
        elif tag == "button":
            self.buttons[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select:
            self.fields.setdefault(self._select, self._first_option or "")
            self._select = None
        elif tag == "form":
            self._in_form = False

    def press(self, button: str, **typed: str) -> dict[str, str]:
        """The form as the browser posts it: every field, what was typed, one button."""
        assert button in self.buttons, f"no {button!r} button in the checkout form"
        return {**self.fields, **typed, button: self.buttons[button]}


@pytest.fixture
def demo(app, runner, demo_tenants):
    assert runner.invoke(["demo"]).exit_code == 0
    with app.app_context():
        return {slug: context_for(slug) for slug in ("acme", "globex")}


def simple_product(app, shop) -> Product:
    """The cheapest product without options, in stock."""
    with app.app_context(), tenant_context(shop):
        product = db.session.scalars(
            select(Product)
            .where(Product.stock > 5, Product.price > 0, ~Product.variants.any())
            .order_by(Product.price)
            .limit(1)
        ).one()
        db.session.expunge(product)
        return product


def fill_cart(app, client, shop) -> None:
    """A product without options, in stock, in the cart (from its page, as a shopper)."""
    slug = simple_product(app, shop).slug
    page = client.get(f"/p/{slug}", headers=host(shop))
    product_id = re.search(r'name="product_id" value="(\d+)"', page.text).group(1)
    added = client.post(
        "/cart/add",
        data={"product_id": product_id, "quantity": 2},
        headers={**host(shop), "Sec-Fetch-Site": "same-origin"},
    )
    assert added.status_code == 302


def payment(page: CheckoutPage) -> str:
    """A method that needs no outside provider (Acme's card goes to Stripe)."""
    return next(m for m in page.radios["payment_method"] if m != "stripe")


def orders(app, shop) -> list[Order]:
    """The orders checkouts placed (the demo's own, DEMO-…, carry its sample reviews)."""
    with app.app_context(), tenant_context(shop):
        rows = db.session.scalars(select(Order).where(Order.number.not_like("DEMO-%"))).all()
        db.session.expunge_all()
        return list(rows)


def placed(app, client, shop, response) -> Order:
    assert response.status_code == 302, response.text
    number = re.search(r"/orders/([^/?]+)", response.headers["Location"]).group(1)
    (order,) = [o for o in orders(app, shop) if o.number == number]
    return order


def open_checkout(client, shop) -> CheckoutPage:
    page = client.get("/checkout", headers=host(shop))
    assert page.status_code == 200
    return CheckoutPage(page.text)


@pytest.mark.parametrize(("slug", "country"), DESTINATIONS)
def test_the_total_shown_for_each_country_is_the_total_charged(app, demo, slug, country):
    shop, client = demo[slug], app.test_client()
    fill_cart(app, client, shop)
    first = open_checkout(client, shop)
    typed = {**shopper_in(country), "country": country, "payment_method": payment(first)}

    updated = client.post("/checkout", data=first.press("update", **typed), headers=host(shop))
    assert updated.status_code == 200, "updating the totals places no order"
    assert orders(app, shop) == []
    shown = CheckoutPage(updated.text)
    # Everything typed comes back, and the summary is the chosen country's.
    assert {name: shown.fields[name] for name in typed} == typed
    assert shown.fields["expected_total"] == str(shown.total)

    order = placed(
        app, client, shop, client.post("/checkout", data=shown.press("submit"), headers=host(shop))
    )
    assert order.country == country
    assert order.total == shown.total
    detail = client.get(f"/orders/{order.number}", headers=host(shop)).text
    assert shown.total_display in unescape(detail)


def test_a_country_changed_without_updating_shows_the_new_total_and_places_nothing(app, demo):
    """Acme's issue: the page said $15.20 for the US, the shopper picked Canada and pressed
    "Place order" at once; Canada costs more, so no order is made and the page says so."""
    shop, client = demo["acme"], app.test_client()
    fill_cart(app, client, shop)
    first = open_checkout(client, shop)
    assert first.fields["country"] == "US"
    with app.app_context(), tenant_context(shop):
        stock_before = db.session.scalar(select(func.sum(Product.stock)))
    typed = {**shopper_in("CA"), "country": "CA", "payment_method": payment(first)}

    refused = client.post("/checkout", data=first.press("submit", **typed), headers=host(shop))
    assert refused.status_code == 200
    assert orders(app, shop) == []
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(func.sum(Product.stock))) == stock_before
    again = CheckoutPage(refused.text)
    assert again.total != first.total
    message = f"The total changed to {again.total_display}: check it and place the order again."
    assert message in unescape(refused.text)
    assert {name: again.fields[name] for name in typed} == typed

    order = placed(
        app, client, shop, client.post("/checkout", data=again.press("submit"), headers=host(shop))
    )
    assert order.total == again.total and order.country == "CA"


def test_globex_netherlands_the_issue_walk(app, demo):
    """Globex: 28,90 € shown for Germany, the Netherlands picked; the order costs what the
    page shows after the update, not what it showed before."""
    shop, client = demo["globex"], app.test_client()
    fill_cart(app, client, shop)
    first = open_checkout(client, shop)
    assert first.fields["country"] == "DE"
    typed = {**shopper_in("NL"), "country": "NL", "payment_method": payment(first)}
    updated = CheckoutPage(
        client.post("/checkout", data=first.press("update", **typed), headers=host(shop)).text
    )
    assert updated.total != first.total  # the EU zone ships for more
    order = placed(
        app,
        client,
        shop,
        client.post("/checkout", data=updated.press("submit"), headers=host(shop)),
    )
    assert order.total == updated.total


def test_a_stale_expected_total_is_refused(app, demo):
    shop, client = demo["acme"], app.test_client()
    fill_cart(app, client, shop)
    first = open_checkout(client, shop)
    form = first.press("submit", **SHOPPER, payment_method=payment(first))
    for stale in (str(first.total + 1), "0", "garbage"):
        refused = client.post(
            "/checkout", data={**form, "expected_total": stale}, headers=host(shop)
        )
        assert refused.status_code == 200 and orders(app, shop) == []
        assert "The total changed to" in unescape(refused.text)
        assert CheckoutPage(refused.text).fields["expected_total"] == str(first.total)
    order = placed(app, client, shop, client.post("/checkout", data=form, headers=host(shop)))
    assert order.total == first.total


def test_a_discount_code_shows_in_the_summary_before_it_is_charged(app, demo):
    shop, client = demo["acme"], app.test_client()
    fill_cart(app, client, shop)
    first = open_checkout(client, shop)
    typed = {**SHOPPER, "discount_code": "welcome10", "payment_method": payment(first)}

    # Typed and placed at once: the page shows the discounted total instead.
    refused = client.post("/checkout", data=first.press("submit", **typed), headers=host(shop))
    assert refused.status_code == 200 and orders(app, shop) == []
    shown = CheckoutPage(refused.text)
    assert shown.total < first.total and "WELCOME10" in shown.text
    # Taken off again with "Update the totals": back to the full total.
    plain = CheckoutPage(
        client.post(
            "/checkout", data=shown.press("update", discount_code=""), headers=host(shop)
        ).text
    )
    assert plain.total == first.total
    with_code = CheckoutPage(
        client.post(
            "/checkout", data=plain.press("update", discount_code="WELCOME10"), headers=host(shop)
        ).text
    )
    assert with_code.total == shown.total
    order = placed(
        app,
        client,
        shop,
        client.post("/checkout", data=with_code.press("submit"), headers=host(shop)),
    )
    assert order.total == with_code.total and order.discount_code == "WELCOME10"


def test_the_shipping_line_follows_the_zone(app, demo):
    """Shipping is chosen by the destination's zone: the summary's shipping line and the
    order's shipping agree for a zone change too (Acme: US $5.00, Canada $15.00)."""
    shop, client = demo["acme"], app.test_client()
    fill_cart(app, client, shop)
    first = open_checkout(client, shop)
    typed = {**SHOPPER, "payment_method": payment(first)}
    lines = {}
    for country in ("US", "CA", "US"):
        page = CheckoutPage(
            client.post(
                "/checkout",
                data=first.press("update", **typed, country=country),
                headers=host(shop),
            ).text
        )
        lines[country] = re.search(r"Road Runner Express <span>([^<]+)</span>", page.text).group(1)
    assert lines == {"US": "$5.00", "CA": "$15.00"}
    order = placed(
        app, client, shop, client.post("/checkout", data=page.press("submit"), headers=host(shop))
    )
    assert order.shipping == 500 and order.total == page.total


def test_the_summary_fragment_follows_the_form(app, demo):
    """What the checkout script fetches: the summary for the form as it stands."""
    shop, client = demo["acme"], app.test_client()
    fill_cart(app, client, shop)
    first = open_checkout(client, shop)
    assert 'data-summary-url="/checkout/summary"' in first.text
    assert "js/checkout.js" in first.text
    canada = client.post(
        "/checkout/summary", data={**first.fields, "country": "CA"}, headers=host(shop)
    )
    assert canada.status_code == 200 and "<form" not in canada.text
    total = int(re.search(r'data-total="(\d+)"', canada.text).group(1))
    unknown = client.post(
        "/checkout/summary", data={**first.fields, "discount_code": "NOPE"}, headers=host(shop)
    )
    assert "form-error" in unknown.text
    no_token = client.post("/checkout/summary", data={"country": "CA"}, headers=host(shop))
    assert no_token.status_code in (400, 403)  # the checkout form's CSRF token comes along
    typed = {**shopper_in("CA"), "country": "CA", "payment_method": payment(first)}
    order = placed(
        app,
        client,
        shop,
        client.post(
            "/checkout",
            data=first.press("submit", **typed, expected_total=str(total)),
            headers=host(shop),
        ),
    )
    assert order.total == total


def test_the_api_refuses_a_total_the_shopper_did_not_see(app, demo):
    shop = demo["globex"]
    client = app.test_client(use_cookies=False)
    added = client.post(
        "/api/v1/cart/items",
        json={"product_id": simple_product(app, shop).id, "quantity": 1},
        headers=host(shop),
    )
    headers = {
        **host(shop),
        "X-Cart-Token": added.json["data"]["token"],
        "Idempotency-Key": "t" * 24,
    }
    seen = client.get("/api/v1/cart?country=DE", headers=headers).json["data"]["totals"]
    body = {
        **shopper_in("NL"),
        "country": "NL",
        "payment_method": "cash_on_delivery",
        "expected_total": seen["total"]["amount"],
    }
    refused = client.post("/api/v1/checkout", json=body, headers=headers)
    assert refused.status_code == 409, refused.json
    error = refused.json["error"]
    assert error["code"] == "total_changed" and error["total"] > seen["total"]["amount"]
    assert orders(app, shop) == []
    accepted = client.post(
        "/api/v1/checkout", json={**body, "expected_total": error["total"]}, headers=headers
    )
    assert accepted.status_code == 201, accepted.json
    assert accepted.json["data"]["order"]["totals"]["total"]["amount"] == error["total"]
