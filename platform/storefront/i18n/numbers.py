"""Numbers written the reader's way, by Babel in the active locale: counts ("12 345" in
French, "12.345" in German), rates given in percent ("8,6 %", "8.6%"). Money has its own
helper (``catalog.money.shop_money``), dates theirs (``format_when``, ``format_day``).

These are filters of shop templates too (the sandbox copies the app's filters), so they
take anything: a value that is no number, or is too large to be a count or a rate, is
shown as it came, never formatted at length or refused with an error.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale, numbers
from flask_babel import get_locale

_LARGEST = Decimal(10) ** 15  # past this a value is no count or rate of a shop's


def format_count(value: Any) -> str:
    """A whole number with the locale's grouping: "12,345", "12.345", "12 345"."""
    number = _number(value)
    if number is None:
        return str(value)
    return numbers.format_decimal(number, locale=_locale())


def format_rate(percent: Any) -> str:
    """A rate given in percent (19, 8.6, "8.25"), as the locale writes a percentage:
    "8.6%" in English, "8,6 %" in French and German, "8,6%" in Dutch. Every decimal given
    is kept (Babel's own percent format rounds to whole percents)."""
    number = _number(percent)
    if number is None:
        return str(percent)
    return numbers.format_percent(number / 100, locale=_locale(), decimal_quantization=False)


def parse_decimal(text: str) -> Decimal:
    """A decimal number as the reader types it: "8,6" in French or German, "8.6" in
    English, and "8.6" anywhere (a point is never taken for grouping: no rate or amount
    here is written "8.600"). ``ValueError`` when it is no number."""
    text = text.strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    try:
        number = numbers.parse_decimal(text, locale=_locale(), strict=True)
    except numbers.NumberFormatError:
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a number: {text!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a number: {text!r}")
    return number


def format_plain(value: Decimal) -> str:
    """A decimal as the reader types it back (no grouping): "8,6" in French."""
    return numbers.format_decimal(
        value.normalize(), locale=_locale(), group_separator=False, decimal_quantization=False
    )


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(value if isinstance(value, int | Decimal) else str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        return None
    if not number.is_finite() or abs(number) >= _LARGEST:
        return None
    return number.normalize()  # 19.0 is "19 %", 8.60 is "8,6 %"


def _locale() -> Locale:
    return get_locale() or _ENGLISH  # no app context: the platform's language


_ENGLISH = Locale("en")


class Count(int):
    """A count a message shows: ``%(num)s`` writes it the reader's way ("12 345" in
    French), ``%(num)d`` as plain digits (a shop's own wording may use either)."""

    __slots__ = ()

    def __str__(self) -> str:
        return format_count(int(self))


def count(value: Any) -> Any:
    """``value`` as a ``Count`` when it is a whole number; anything else as it is."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Count(value)
    return value
