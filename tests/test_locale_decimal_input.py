"""Rates are typed the reader's way: "8,6" in French or German is 8.6, "8.6" is 8.6 in
every language (a point is never grouping here), and the form shows the value back as
the reader writes it (issue 36: numbers follow the locale)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict

from storefront.admin.forms import TaxRateForm
from storefront.i18n.numbers import parse_decimal


@pytest.mark.parametrize(
    ("locale", "typed", "number"),
    [
        ("fr", "8,6", Decimal("8.6")),
        ("de", "8,6", Decimal("8.6")),
        ("de", "8.6", Decimal("8.6")),
        ("fr", "8.6", Decimal("8.6")),
        ("en", "8.6", Decimal("8.6")),
        ("nl", " 19 ", Decimal("19")),
        ("es", "7,25", Decimal("7.25")),
    ],
)
def test_a_rate_typed_the_readers_way(app, locale, typed, number):
    with app.test_request_context(), force_locale(locale):
        assert parse_decimal(typed) == number


@pytest.mark.parametrize("typed", ["8,6,1", "abc", "NaN", "Infinity", ""])
def test_what_is_no_number_is_refused(app, typed):
    with (
        app.test_request_context(),
        force_locale("en"),
        pytest.raises(ValueError, match="not a number"),
    ):
        parse_decimal(typed)


def test_the_tax_form_reads_and_shows_french_decimals(app):
    data = MultiDict({"rate-country": "FR", "rate-standard": "8,6", "rate-reduced": "5,5"})
    with app.test_request_context(method="POST"), force_locale("fr"):
        form = TaxRateForm(formdata=data, prefix="rate", meta={"csrf": False})
        assert form.validate(), form.errors
        assert form.standard.data == Decimal("8.6") and form.reduced.data == Decimal("5.5")
        shown = TaxRateForm(prefix="rate", meta={"csrf": False}, data={"standard": Decimal("8.6")})
        assert shown.standard._value() == "8,6"
        wrong = TaxRateForm(
            formdata=MultiDict({"rate-country": "FR", "rate-standard": "huit"}),
            prefix="rate",
            meta={"csrf": False},
        )
        assert not wrong.validate() and wrong.standard.errors
