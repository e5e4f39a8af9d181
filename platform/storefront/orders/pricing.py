"""What an order costs: lines, discount, shipping and taxes, in integer minor units.

Pure arithmetic (no database, no request), so the cart, the checkout, the order, the
mails, the CSV and the API all show the same figures, and a table of cases tests it.

Rules (docs/operators.md, "Taxes"):

- Prices are entered including tax (EU style) or excluding it (US style), per shop.
- A discount is shared out over the lines in proportion to their amounts (largest
  remainder, so the parts add up to the discount exactly); tax is then worked out on
  what each line really costs.
- Tax is rounded once per line, half up, to the currency's minor unit; an order's tax is
  the sum of its lines' and its shipping's. Included tax is ``amount × rate / (1 + rate)``,
  added tax ``amount × rate``.
- Shipping is priced like the products (including or excluding tax) and taxed at the
  destination's standard rate; it is free when the merchandise after discount reaches
  the zone's ``free_above``, or with a free-shipping code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

TAX_CLASSES = ("standard", "reduced", "zero")
DISCOUNT_KINDS = ("percent", "amount", "free_shipping")


@dataclass(frozen=True)
class LineIn:
    unit_price: int  # minor units, as entered (with or without tax, per the shop)
    quantity: int
    tax_class: str = "standard"


@dataclass(frozen=True)
class TaxRule:
    include_tax: bool = False
    rates: Mapping[str, Decimal] = field(default_factory=dict)  # class -> rate (0.19)

    def rate(self, tax_class: str) -> Decimal:
        return self.rates.get(tax_class, self.rates.get("standard", Decimal(0)))


@dataclass(frozen=True)
class ShippingIn:
    price: int = 0
    free_above: int | None = None


@dataclass(frozen=True)
class DiscountIn:
    kind: str  # percent | amount | free_shipping
    value: int = 0  # percent (1-100), or minor units


@dataclass(frozen=True)
class LineOut:
    amount: int  # what the line costs after its share of the discount, as entered
    discount: int
    tax: int
    rate: Decimal


@dataclass(frozen=True)
class Quote:
    lines: tuple[LineOut, ...]
    subtotal: int  # the lines before the discount, as entered
    discount: int
    shipping: int  # as entered (0 when free)
    shipping_tax: int
    tax: int  # all the tax: included in the total, or added to it
    tax_lines: tuple[tuple[Decimal, int], ...]  # (rate, tax) per rate, highest first
    include_tax: bool
    total: int  # what the shopper pays


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_on(amount: int, rate: Decimal, included: bool) -> int:
    """The tax in ``amount`` (included) or on it (added), rounded half up."""
    if not rate or not amount:
        return 0
    if included:
        return _round(Decimal(amount) * rate / (1 + rate))
    return _round(Decimal(amount) * rate)


def share_out(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split in proportion to ``weights``; the parts add up to ``total``."""
    whole = sum(weights)
    if not total or not whole:
        return [0] * len(weights)
    exact = [Decimal(total) * w / whole for w in weights]
    parts = [int(x) for x in exact]
    left = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in by_remainder[:left]:
        parts[i] += 1
    return parts


def discount_amount(subtotal: int, discount: DiscountIn | None) -> int:
    if discount is None or discount.kind == "free_shipping":
        return 0
    if discount.kind == "percent":
        percent = max(0, min(100, discount.value))
        return min(subtotal, _round(Decimal(subtotal) * percent / 100))
    return max(0, min(subtotal, discount.value))


def quote(
    lines: Sequence[LineIn],
    tax: TaxRule,
    shipping: ShippingIn | None = None,
    discount: DiscountIn | None = None,
) -> Quote:
    """Price an order (see the module's docstring for the rules)."""
    totals = [line.unit_price * line.quantity for line in lines]
    subtotal = sum(totals)
    off = discount_amount(subtotal, discount)
    shares = share_out(off, totals)
    out = []
    for line, line_total, share in zip(lines, totals, shares, strict=True):
        rate = tax.rate(line.tax_class)
        amount = line_total - share
        out.append(LineOut(amount, share, tax_on(amount, rate, tax.include_tax), rate))
    merchandise = subtotal - off
    ship = shipping or ShippingIn()
    free = (discount is not None and discount.kind == "free_shipping") or (
        ship.free_above is not None and merchandise >= ship.free_above
    )
    shipping_price = 0 if free else ship.price
    standard = tax.rate("standard")
    shipping_tax = tax_on(shipping_price, standard, tax.include_tax)
    by_rate: dict[Decimal, int] = {}
    for line_out in out:
        if line_out.tax:
            by_rate[line_out.rate] = by_rate.get(line_out.rate, 0) + line_out.tax
    if shipping_tax:
        by_rate[standard] = by_rate.get(standard, 0) + shipping_tax
    all_tax = sum(by_rate.values())
    total = merchandise + shipping_price + (0 if tax.include_tax else all_tax)
    return Quote(
        lines=tuple(out),
        subtotal=subtotal,
        discount=off,
        shipping=shipping_price,
        shipping_tax=shipping_tax,
        tax=all_tax,
        tax_lines=tuple(sorted(by_rate.items(), key=lambda item: item[0], reverse=True)),
        include_tax=tax.include_tax,
        total=total,
    )
