"""Money in integer minor units, formatted by Babel for the shop's currency and locale."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel.numbers import format_currency, get_currency_precision
from flask_babel import gettext as _

from ..i18n import babel_locale
from ..tenancy.context import current_tenant


def to_major(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-get_currency_precision(currency))


def format_money(amount: int, currency: str, locale: Any) -> str:
    """``format_money(1999, "EUR", "de_DE")`` gives ``19,99 €``."""
    return _formatted(amount, currency, str(locale))


@lru_cache(maxsize=20_000)
def _formatted(amount: int, currency: str, locale: str) -> str:
    """Prices repeat (every listing shows the same few): each is formatted once."""
    return format_currency(to_major(amount, currency), currency, locale=locale)


def parse_money(text: str | None, currency: str) -> int:
    """``parse_money("19.99", "USD")`` gives ``1999``; a clear ValueError otherwise.

    Accepts a plain decimal with ``.`` or ``,`` as the separator, no thousands separators.
    A form posted without the field at all (None) is no amount either: a ValueError, not
    a 500 (the route walk of tests/test_roles.py posted one).
    """
    text = text or ""
    cleaned = text.strip().replace(",", ".")
    digits = get_currency_precision(currency)
    try:
        value = Decimal(cleaned)
    except ArithmeticError:
        raise ValueError(
            _("“%(text)s” is not an amount (use a number like 19.99).", text=text)
        ) from None
    if not value.is_finite() or value < 0:
        raise ValueError(_("“%(text)s” is not an amount (use a number like 19.99).", text=text))
    minor = value.scaleb(digits)
    if minor != minor.to_integral_value():
        raise ValueError(
            _(
                "“%(text)s” has more than %(digits)s decimal places for %(currency)s.",
                text=text,
                digits=digits,
                currency=currency,
            )
        )
    if minor > 2_000_000_000:
        raise ValueError(_("“%(text)s” is too large.", text=text))
    return int(minor)


def shop_currency() -> str:
    """The bound shop's currency."""

    settings = current_tenant().settings
    return settings.currency if settings else "USD"


def shop_money(amount: int, currency: str | None = None) -> str:
    """``amount`` (minor units) in the shop's currency, or in ``currency`` when one is named
    (an order keeps the currency it was placed in), written the reader's way: "249,00 €"
    in German, "€249.00" in English."""

    return format_money(amount, currency or shop_currency(), babel_locale())
