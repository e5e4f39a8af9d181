"""Orders as CSV, one row per order, in cells no spreadsheet runs."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

from ..catalog.money import to_major
from ..csvcells import safe_cell
from .models import Order

CSV_COLUMNS = (
    "number",
    "created_at",
    "status",
    "email",
    "name",
    "address",
    "postal_code",
    "city",
    "country",
    "currency",
    "subtotal",
    "discount",
    "discount_code",
    "shipping",
    "tax",
    "tax_included",
    "tax_lines",
    "total",
    "payment_method",
    "lines",
    # Added with the address book (issue 36): at the end, so columns read by position
    # stay where they were. The lines some countries' addresses have, and a phone.
    "country_area",
    "city_area",
    "sorting_code",
    "phone",
)


def write_orders_csv(orders: Iterable[Order], out: IO[str]) -> int:
    """One row per order, amounts in major units, lines as ``qty x SKU``; returns the count."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for order in orders:
        row = [safe_cell(cell) for cell in _csv_row(order)]
        writer.writerow(row)
        count += 1
    return count


def _csv_row(order: Order) -> list[Any]:
    return [
        order.number,
        order.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        order.status,
        order.email,
        order.name,
        order.address,
        order.postal_code,
        order.city,
        order.country,
        order.currency,
        to_major(order.subtotal, order.currency),
        to_major(order.discount or 0, order.currency),
        order.discount_code or "",
        to_major(order.shipping, order.currency),
        to_major(order.tax or 0, order.currency),
        "true" if order.tax_included else "false",
        "; ".join(
            f"{rate}%: {to_major(int(amount), order.currency)}"
            for rate, amount in order.tax_lines or []
        ),
        to_major(order.total, order.currency),
        order.payment_method,
        "; ".join(f"{line.quantity} x {line.sku}" for line in order.lines),
        order.country_area or "",
        order.city_area or "",
        order.sorting_code or "",
        order.phone or "",
    ]
