"""What pages, mails and the API show of an order: read-only views, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from ..catalog.money import shop_money
from ..i18n import format_when, language_name
from ..shared import SafeView
from .models import Order
from .payments import PROVIDERS

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
    shipping_label: str
    shipping_display: str
    total_display: str
    payment_label: str
    payment_instructions: str
    carrier: str = ""
    tracking_number: str = ""


def order_view(order: Order) -> OrderView:
    pay = PROVIDERS.get(order.payment_method)
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
        country=order.country,
        created_at=format_when(order.created_at),
        lines=tuple(
            OrderLineView(
                line.sku,
                line.title,
                line.quantity,
                shop_money(line.unit_price, order.currency),
                shop_money(line.line_total, order.currency),
            )
            for line in order.lines
        ),
        subtotal_display=shop_money(order.subtotal, order.currency),
        shipping_label=order.shipping_label,
        shipping_display=shop_money(order.shipping, order.currency),
        total_display=shop_money(order.total, order.currency),
        payment_label=str(pay.label) if pay else order.payment_method,
        payment_instructions=pay.instructions(order) if pay else "",
        carrier=order.carrier or "",
        tracking_number=order.tracking_number or "",
    )


def webhook_data(order: Order) -> dict[str, Any]:
    """What an ``order.*`` webhook carries (amounts in minor units)."""
    return {
        "number": order.number,
        "status": order.status,
        "email": order.email,
        "currency": order.currency,
        "subtotal": order.subtotal,
        "shipping": order.shipping,
        "total": order.total,
        "created_at": order.created_at.isoformat() + "Z",
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "lines": [
            {
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
            }
            for line in order.lines
        ],
    }
