"""Money in integer minor units, formatted by Babel for the shop's currency and locale."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision


def to_major(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-get_currency_precision(currency))


def format_money(amount: int, currency: str, locale: str) -> str:
    """``format_money(1999, "EUR", "de_DE")`` gives ``19,99 €``."""
    return format_currency(to_major(amount, currency), currency, locale=locale)
