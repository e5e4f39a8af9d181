"""Every total, worked out by hand: inclusive and exclusive prices, several tax classes in
one order, discounts shared over lines, free shipping, zero- and three-decimal currencies.

Amounts are minor units: cents for USD/EUR, yen for JPY (no decimals), fils for KWD
(three decimals): rounding to the minor unit is rounding to an integer in every case.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storefront.orders.pricing import (
    DiscountIn,
    LineIn,
    ShippingIn,
    TaxRule,
    quote,
    share_out,
    tax_on,
)

D = Decimal
EU = TaxRule(include_tax=True, rates={"standard": D("0.19"), "reduced": D("0.07"), "zero": D(0)})
US = TaxRule(include_tax=False, rates={"standard": D("0.0825")})
JP = TaxRule(include_tax=True, rates={"standard": D("0.10"), "reduced": D("0.08")})
KW = TaxRule(include_tax=False, rates={"standard": D("0.05")})
NONE = TaxRule()

CASES = [
    # (name, lines, tax, shipping, discount, expected: subtotal, discount, shipping, tax, total,
    #  tax lines)
    (
        "EU inclusive, two classes, shipping taxed at the standard rate",
        [LineIn(1190, 2, "standard"), LineIn(1070, 1, "reduced")],
        EU,
        ShippingIn(490),
        None,
        (3450, 0, 490, 380 + 70 + 78, 3940, ((D("0.19"), 380 + 78), (D("0.07"), 70))),
    ),
    (
        "EU inclusive, rounding per line (9.99 at 19 % holds 1.595 → 1.60)",
        [LineIn(999, 1), LineIn(999, 1)],
        EU,
        None,
        None,
        (1998, 0, 0, 160 + 160, 1998, ((D("0.19"), 320),)),
    ),
    (
        "US exclusive, tax added on top, half up",
        [LineIn(1999, 3)],  # 59.97 × 8.25 % = 4.947525 → 4.95
        US,
        ShippingIn(500),  # 5.00 × 8.25 % = 0.4125 → 0.41
        None,
        (5997, 0, 500, 495 + 41, 5997 + 500 + 536, ((D("0.0825"), 536),)),
    ),
    (
        "free shipping above the zone's threshold, after the discount",
        [LineIn(3000, 2)],
        NONE,
        ShippingIn(500, free_above=5000),
        DiscountIn("percent", 10),  # 60.00 - 6.00 = 54.00 ≥ 50.00
        (6000, 600, 0, 0, 5400, ()),
    ),
    (
        "a discount can push the order under the threshold: shipping is charged",
        [LineIn(3000, 2)],
        NONE,
        ShippingIn(500, free_above=5000),
        DiscountIn("amount", 1500),
        (6000, 1500, 500, 0, 5000, ()),
    ),
    (
        "a percentage shared over lines of two classes; tax on what is paid",
        [LineIn(1000, 1, "standard"), LineIn(2000, 1, "reduced")],
        EU,
        None,
        DiscountIn("percent", 10),  # 300 off: 100 and 200
        (3000, 300, 0, tax_on(900, D("0.19"), True) + tax_on(1800, D("0.07"), True), 2700, None),
    ),
    (
        "a fixed amount never exceeds the merchandise",
        [LineIn(500, 1)],
        US,
        ShippingIn(300),
        DiscountIn("amount", 10_000),
        (500, 500, 300, tax_on(300, D("0.0825"), False), 300 + 25, None),
    ),
    (
        "free-shipping codes",
        [LineIn(500, 1)],
        NONE,
        ShippingIn(700),
        DiscountIn("free_shipping"),
        (500, 0, 0, 0, 500, ()),
    ),
    (
        "JPY: zero decimals, tax included, per-line rounding in whole yen",
        [LineIn(1080, 1, "reduced"), LineIn(3300, 2)],  # 80 yen and 600 yen inside
        JP,
        ShippingIn(550),  # 50 yen inside
        None,
        (7680, 0, 550, 80 + 600 + 50, 8230, ((D("0.10"), 650), (D("0.08"), 80))),
    ),
    (
        "KWD: three decimals (1.250 KWD = 1250 fils), tax added",
        [LineIn(1250, 3)],  # 3.750 × 5 % = 0.1875 → 0.188
        KW,
        ShippingIn(1000),
        None,
        (3750, 0, 1000, 188 + 50, 3750 + 1000 + 238, ((D("0.05"), 238),)),
    ),
    (
        "zero-rated lines carry no tax line",
        [LineIn(1500, 1, "zero")],
        EU,
        None,
        None,
        (1500, 0, 0, 0, 1500, ()),
    ),
]


@pytest.mark.parametrize(("name", "lines", "tax", "shipping", "discount", "expected"), CASES)
def test_totals(name, lines, tax, shipping, discount, expected):
    subtotal, off, ship, all_tax, total, tax_lines = expected
    result = quote(lines, tax, shipping, discount)
    assert result.subtotal == subtotal, name
    assert result.discount == off, name
    assert result.shipping == ship, name
    assert result.tax == all_tax, name
    assert result.total == total, name
    if tax_lines is not None:
        assert result.tax_lines == tax_lines, name
    assert sum(line.discount for line in result.lines) == off
    assert sum(amount for _rate, amount in result.tax_lines) == result.tax


@given(
    st.integers(min_value=0, max_value=10**9),
    st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=30),
)
def test_a_discount_shared_out_adds_up_exactly(total, weights):
    if sum(weights) == 0:
        assert share_out(total, weights) == [0] * len(weights)
        return
    total = min(total, sum(weights))
    parts = share_out(total, weights)
    assert sum(parts) == total and all(p >= 0 for p in parts)


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=10**6),
            st.integers(min_value=1, max_value=99),
            st.sampled_from(["standard", "reduced", "zero"]),
        ),
        min_size=1,
        max_size=10,
    ),
    st.booleans(),
    st.integers(min_value=0, max_value=100),
)
def test_totals_hold_together_for_any_cart(raw, included, percent):
    tax = TaxRule(included, {"standard": D("0.19"), "reduced": D("0.07"), "zero": D(0)})
    lines = [LineIn(price, qty, cls) for price, qty, cls in raw]
    result = quote(lines, tax, ShippingIn(490, 10_000), DiscountIn("percent", percent))
    merchandise = result.subtotal - result.discount
    assert result.total == merchandise + result.shipping + (0 if included else result.tax)
    assert 0 <= result.discount <= result.subtotal
    assert result.tax == sum(line.tax for line in result.lines) + result.shipping_tax
