"""One label per order status wherever it shows, and numbers written the reader's way
("8,6 %" in French, "12 345"), on the shop's pages and in the dashboard, in every language."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from flask import render_template_string
from flask_babel import force_locale
from sqlalchemy import select

from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.i18n.numbers import Count, format_count, format_rate
from storefront.orders import discounts
from storefront.orders.models import STATUSES, Order
from storefront.orders.views_model import status_label
from storefront.tenancy.context import tenant_context
from tests.fixtures.factories import host, login
from tests.test_commerce import add_to_cart, checkout
from tests.test_i18n import TextNodes, shop_toml

LOCALES = ("en_GB", "de_DE", "fr_FR", "es_ES", "nl_NL")
TAXED = "[tax]\nprices_include_tax = false\n[tax.rates.US]\nstandard = 8.6\n"


def _shop(app, make_shop, make_user, locale, settings=""):
    shop = make_shop("laden", settings=shop_toml([locale]) + settings)
    make_user(shop, "chef@example.com", roles=["owner"])
    make_user(shop, "kunde@example.com")
    with app.app_context(), tenant_context(shop):
        catalog.create_product("SKU-X", "Anvil", 1000, stock=12345, slug="anvil")
        db.session.commit()
    return shop


def _order(app, shop):
    """A customer's order: their client and the order's number."""
    shopper = app.test_client()
    assert login(shopper, shop, "kunde@example.com").status_code == 302
    add_to_cart(shopper, shop, "anvil")
    placed = checkout(shopper, shop, email="kunde@example.com")
    assert placed.status_code == 302, placed.status_code
    with app.app_context(), tenant_context(shop):
        number = db.session.scalar(select(Order.number))
    return shopper, number


def _set_status(app, shop, number, status):
    with app.app_context(), tenant_context(shop):
        db.session.scalar(select(Order).where(Order.number == number)).status = status
        db.session.commit()


def _labels_shown(page, status):
    """Every label a page gives the order status ``status`` (the badge on a row or an
    order, a filter, a choice of the status form)."""
    text = html.unescape(page)
    shown = re.findall(rf'class="status status-{status}">([^<]*)<', text)
    shown += re.findall(rf'<option[^>]*value="{status}"[^>]*>([^<]*)<', text)
    for nav in re.findall(r'<nav class="filters".*?</nav>', text, re.S):
        shown += re.findall(rf'href="[^"]*status={status}"[^>]*>([^<]*)<', nav)
    return [label.strip() for label in shown]


@pytest.mark.parametrize("locale", LOCALES)
def test_each_status_has_one_label_for_shopper_and_owner(app, make_shop, make_user, locale):
    shop = _shop(app, make_shop, make_user, locale)
    shopper, number = _order(app, shop)
    owner = app.test_client()
    assert login(owner, shop, "chef@example.com").status_code == 302
    with app.test_request_context(), force_locale(locale):
        labels = {status: status_label(status) for status in STATUSES}
    with app.test_request_context(), force_locale("en_GB"):
        english = {status: status_label(status) for status in STATUSES}
    if not locale.startswith("en"):
        assert all(labels[s] != english[s] for s in STATUSES), labels  # translated
    for status in STATUSES:
        _set_status(app, shop, number, status)
        pages = {
            "order page": shopper.get(f"/orders/{number}", headers=host(shop)).text,
            "account": shopper.get("/account", headers=host(shop)).text,
            "dashboard order": owner.get(f"/admin/orders/{number}", headers=host(shop)).text,
            "dashboard list": owner.get("/admin/orders", headers=host(shop)).text,
            "dashboard filter": owner.get(
                f"/admin/orders?status={status}", headers=host(shop)
            ).text,
            "overview": owner.get("/admin/", headers=host(shop)).text,
        }
        for name, page in pages.items():
            shown = _labels_shown(page, status)
            assert shown, (locale, status, name)
            assert set(shown) == {labels[status]}, (locale, status, name, shown)
            parser = TextNodes()
            parser.feed(re.sub(r'<input type="hidden"[^>]*>', "", page))
            assert [t for t in parser.texts if t in STATUSES] == [], name  # no raw codes
    overview = html.unescape(owner.get("/admin/", headers=host(shop)).text)
    assert labels["pending"] in overview  # the count of orders awaiting payment says so too


@pytest.mark.parametrize(
    ("locale", "rate", "stock"),
    [
        ("fr_FR", "8,6\xa0%", "12\u202f344"),
        ("de_DE", "8,6\xa0%", "12.344"),
        ("en_GB", "8.6%", "12,344"),
        ("nl_NL", "8,6%", "12.344"),
        ("es_ES", "8,6\xa0%", "12.344"),
    ],
)
def test_rates_and_counts_follow_the_locale_in_shop_and_dashboard(
    app, make_shop, make_user, locale, rate, stock
):
    shop = _shop(app, make_shop, make_user, locale, TAXED)
    with app.app_context(), tenant_context(shop):
        discounts.create_code("WELCOME10", "percent", 10)
        db.session.commit()
    shopper = app.test_client()
    assert login(shopper, shop, "kunde@example.com").status_code == 302
    add_to_cart(shopper, shop, "anvil")
    placed = checkout(shopper, shop, email="kunde@example.com")
    order_page = shopper.get(placed.headers["Location"], headers=host(shop)).text
    assert rate in order_page, "the order's tax line (the checkout's is the same view)"
    assert "8.6 %" not in order_page  # never written by hand

    owner = app.test_client()
    assert login(owner, shop, "chef@example.com").status_code == 302
    taxes = owner.get("/admin/shipping-payment/", headers=host(shop)).text
    assert rate in taxes, "the dashboard's tax rates"
    codes = owner.get("/admin/discounts/", headers=host(shop)).text
    ten = rate.replace("8,6", "10").replace("8.6", "10")
    assert ten in codes, "a percentage code"
    products = owner.get("/admin/products", headers=host(shop)).text
    assert stock in products, "stock (12 345 less the one ordered)"
    with app.test_request_context(), force_locale(locale):
        counted = render_template_string(
            "{{ ngettext('%(num)s product', '%(num)s products', 12344) }}"
        )
    assert counted.startswith(stock), counted


def test_count_and_rate_formatting(app):
    with app.test_request_context():
        with force_locale("fr_FR"):
            assert format_rate(8.6) == "8,6\xa0%"
            assert format_rate("8.25") == "8,25\xa0%"
            assert format_rate(Decimal("19.0")) == "19\xa0%"
            assert format_rate(100) == "100\xa0%"
            assert format_count(12345) == "12\u202f345"
            # How a message formats it: %s the reader's way, %d plain (a shop's wording may).
            assert "%(num)s" % {"num": Count(12345)} == "12\u202f345"  # noqa: UP031
            assert "%(num)d" % {"num": Count(12345)} == "12345"  # noqa: UP031
        with force_locale("en_US"):
            assert format_rate(8.6) == "8.6%"
            assert format_count(1234567) == "1,234,567"
        # Shop templates may pass anything: shown as it came, never an error or a long job.
        for odd in ("abc", None, True, "1e999999", float("nan"), 10**40, [1]):
            assert format_rate(odd) == str(odd)
            assert format_count(odd) == str(odd)


def test_the_sales_chart_writes_days_and_counts_the_readers_way(app, make_shop, make_user):
    shop = _shop(app, make_shop, make_user, "de_DE")
    owner = app.test_client()
    assert login(owner, shop, "chef@example.com").status_code == 302
    page = owner.get("/admin/", headers=host(shop)).text
    labels = re.findall(r"<text [^>]*text-anchor=\"[a-z]+\">([^<]+)</text>", page)
    assert labels and all(re.fullmatch(r"\d{1,2}\. [A-Za-zä]+\.?", label) for label in labels)
