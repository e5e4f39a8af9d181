"""What pages, mails and the API show of an order: read-only views, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..addresses.countries import address_lines
from ..addresses.views_model import values_of
from ..cart import services as cart_services
from ..catalog.money import shop_money
from ..i18n import format_when, language_name, shop_text
from ..i18n.numbers import format_rate
from ..shared import SafeView
from ..tenancy.context import current_tenant
from . import discounts, giftcards, totals
from .models import Order
from .payments import PROVIDERS
from .pricing import LineIn
from .refunds import refunds_of
from .tracking import tracking_url

STATUS_LABELS = {
    "pending": _l("Awaiting payment"),
    "paid": _l("Paid"),
    "shipped": _l("Shipped"),
    "delivered": _l("Delivered"),
    "cancelled": _l("Cancelled"),
    "refunded": _l("Refunded"),
}


def status_label(status: str) -> str:
    """An order status in the reader's language."""
    label = STATUS_LABELS.get(status)
    return str(label) if label is not None else status


@dataclass(frozen=True)
class OrderLineView(SafeView):
    sku: str
    title: str
    quantity: int
    unit_price_display: str
    line_total_display: str
    variant: str = ""  # "M / Red": the options chosen, as the shopper read them


@dataclass(frozen=True)
class OrderView(SafeView):
    number: str
    status: str
    status_label: str
    language: str
    email: str
    name: str
    address: str
    postal_code: str
    city: str
    country: str
    created_at: str
    lines: tuple[OrderLineView, ...]
    subtotal_display: str
    discount_display: str
    discount_code: str
    shipping_label: str
    shipping_display: str
    tax_lines: tuple[TaxLineView, ...]
    total_display: str
    payment_label: str
    payment_instructions: str
    carrier: str = ""
    tracking_number: str = ""
    tracking_url: str = ""  # the carrier's page for the number; "" for an unknown carrier
    # The address as its country prints it ("Phoenix, AZ 85001"), the country's name last:
    # what pages and mails show (``format_address(order)`` in templates gives the same).
    address_lines: tuple[str, ...] = ()
    phone: str = ""
    # Refunds, oldest first; with any, what was refunded and what stays paid.
    refunds: tuple[RefundLineView, ...] = ()
    refunded_display: str = ""
    kept_display: str = ""
    # What gift cards paid ("-€20.00") and on which cards ("7KQ2"), and what is left to
    # pay by the payment method: empty when no card was used.
    gift_card_display: str = ""
    gift_card_last4: str = ""
    due_display: str = ""


@dataclass(frozen=True)
class RefundLineView(SafeView):
    amount_display: str
    created_at: str


def refund_lines(order: Order) -> tuple[RefundLineView, ...]:
    """The order's refunds (no query for an order nothing was refunded of)."""
    if not order.refunded:
        return ()
    return tuple(
        RefundLineView(shop_money(r.amount, order.currency), format_when(r.created_at))
        for r in refunds_of(order)
    )


def order_view(order: Order) -> OrderView:
    pay = PROVIDERS.get(order.payment_method)
    refunded = int(order.refunded or 0)
    cards = giftcards.redeemed_for(order)
    return OrderView(
        number=order.number,
        status=order.status,
        status_label=status_label(order.status),
        language=language_name(order.locale) if order.locale else "",
        email=order.email,
        name=order.name,
        address=order.address,
        postal_code=order.postal_code,
        city=order.city,
        country=totals.country_name(order.country),
        created_at=format_when(order.created_at),
        lines=tuple(
            OrderLineView(
                line.sku,
                line.title,
                line.quantity,
                shop_money(line.unit_price, order.currency),
                shop_money(line.line_total, order.currency),
                line.variant or "",
            )
            for line in order.lines
        ),
        subtotal_display=shop_money(order.subtotal, order.currency),
        discount_display=shop_money(-order.discount, order.currency) if order.discount else "",
        discount_code=order.discount_code or "",
        tax_lines=tax_line_views(order.tax_lines, order.tax_included, order.currency),
        shipping_label=order.shipping_label,
        shipping_display=shop_money(order.shipping, order.currency),
        total_display=shop_money(order.total, order.currency),
        payment_label=str(pay.label) if pay else order.payment_method,
        payment_instructions=pay.instructions(order) if pay else "",
        carrier=order.carrier or "",
        tracking_number=order.tracking_number or "",
        tracking_url=tracking_url(
            order.carrier or "",
            order.tracking_number or "",
            country=order.country,
            postal_code=order.postal_code,
        ),
        address_lines=tuple(address_lines(values_of(order))),
        phone=order.phone or "",
        refunds=refund_lines(order),
        refunded_display=shop_money(refunded, order.currency) if refunded else "",
        kept_display=shop_money(max(order.total - refunded, 0), order.currency) if refunded else "",
        gift_card_display=(
            shop_money(-order.gift_card_amount, order.currency) if order.gift_card_amount else ""
        ),
        gift_card_last4=", ".join(last4 for _movement, last4 in cards),
        due_display=shop_money(order.amount_due, order.currency) if order.gift_card_amount else "",
    )


@dataclass(frozen=True)
class TaxLineView(SafeView):
    label: str  # "incl. 19% tax" / "Tax 8.25%" (the rate written the reader's way)
    amount_display: str


def tax_line_views(
    tax_lines: Any, included: bool, currency: str | None = None
) -> tuple[TaxLineView, ...]:
    views = []
    for percent, amount in tax_lines or ():
        rate = format_rate(percent)  # "19 %", "8.25%": the reader's way
        label = _("incl. %(rate)s tax", rate=rate) if included else _("Tax %(rate)s", rate=rate)
        views.append(TaxLineView(label, shop_money(int(amount), currency)))
    return tuple(views)


@dataclass(frozen=True)
class CheckoutSummary(SafeView):
    """The checkout page's totals for the chosen country (and code), before placing."""

    lines: tuple[Any, ...]
    subtotal_display: str
    discount_display: str
    discount_code: str
    shipping_label: str
    shipping_display: str
    ships: bool
    tax_lines: tuple[TaxLineView, ...]
    total_display: str
    discount_error: str = ""
    total: int = 0
    # A gift card's part ("-€20.00", its last four) and what is left to pay; its refusal.
    gift_card_display: str = ""
    gift_card_last4: str = ""
    gift_card_error: str = ""
    due_display: str = ""
    # Minor units, what the payment method takes (the total less the gift card): the form
    # carries it back as ``expected_total``, and an order that would cost anything else is
    # not placed (``checkout.TotalChanged``).
    due: int = 0
    ships_anything: bool = True  # False: gift cards alone, nothing to ship
    buys_gift_cards: bool = False  # the form asks whom their codes go to


def checkout_summary(
    cart: Any, country: str, code: str, gift_card_code: str = ""
) -> CheckoutSummary:
    """What the order will cost shipped to ``country`` with ``code`` and a gift card: the
    same ``pricing.quote`` the order is placed with."""

    view = cart_services.cart_view(cart)
    settings = current_tenant().settings
    lines = [
        LineIn(cart_services.unit_price(i), i.quantity, i.product.tax_class or "standard")
        for i in cart.items
    ]
    discount, error, applied = None, "", ""
    if code.strip():
        try:
            row = discounts.find_usable(code, sum(i.unit_price * i.quantity for i in lines))
            discount, applied = row.as_discount(), row.code
        except discounts.DiscountError as exc:
            error = str(exc)
    ships = not all(i.product.gift_card for i in cart.items)
    quote, zone = totals.price(lines, country, discount, ships=ships)
    covered, last4, card_error = 0, "", ""
    if gift_card_code.strip():
        try:
            card = giftcards.find_usable(gift_card_code)
            covered, last4 = min(card.balance, quote.total), card.last4
        except giftcards.GiftCardError as exc:
            card_error = str(exc)
    label = (zone.label if zone else None) or (
        shop_text(settings, "shipping_label") if settings else ""
    )
    return CheckoutSummary(
        lines=view.lines,
        subtotal_display=shop_money(quote.subtotal),
        discount_display=shop_money(-quote.discount) if quote.discount else "",
        discount_code=applied,
        shipping_label=label,
        shipping_display=shop_money(quote.shipping) if zone else "",
        ships=zone is not None,
        tax_lines=tax_line_views(
            [[rate_text(r), a] for r, a in quote.tax_lines], quote.include_tax
        ),
        total_display=shop_money(quote.total),
        discount_error=error,
        total=quote.total,
        gift_card_display=shop_money(-covered) if covered else "",
        gift_card_last4=last4,
        gift_card_error=card_error,
        due_display=shop_money(quote.total - covered),
        due=quote.total - covered,
        ships_anything=ships,
        buys_gift_cards=any(i.product.gift_card for i in cart.items),
    )


def rate_text(rate: Decimal) -> str:
    """0.19 -> "19", 0.0825 -> "8.25"."""
    return format((rate * 100).normalize(), "f")


def webhook_data(order: Order) -> dict[str, Any]:
    """What an ``order.*`` webhook carries (amounts in minor units)."""
    return {
        "number": order.number,
        "status": order.status,
        "email": order.email,
        "currency": order.currency,
        "subtotal": order.subtotal,
        "discount": order.discount,
        "discount_code": order.discount_code,
        "shipping": order.shipping,
        "tax": order.tax,
        "tax_included": order.tax_included,
        "total": order.total,
        "gift_card_amount": order.gift_card_amount,
        "created_at": order.created_at.isoformat() + "Z",
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "lines": [
            {
                "sku": line.sku,
                "title": line.title,
                "variant": line.variant,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
            }
            for line in order.lines
        ],
    }
