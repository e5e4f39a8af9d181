"""Orders as CSV, one row per order, in cells no spreadsheet runs.

A shop may hold millions of orders, so the export never holds them all: it reads them
in keyset batches over ``(tenant_id, id)`` (newest first), each batch's lines loaded by
one ``IN`` statement on their order ids, and hands back CSV text batch by batch. Memory
stays that of one batch whatever the shop's size, the first bytes leave after the first
batch, and the same generator feeds the dashboard's streamed download, the background
export job and ``tenantctl orders export``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from sqlalchemy import Select, select
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import set_committed_value

from ..catalog.money import to_major
from ..csvcells import safe_cell
from ..extensions import db
from .models import STATUSES, Order, OrderLine

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
BATCH = 500  # orders per statement: their lines come in one more


def write_orders_csv(orders: Iterable[Order], out: IO[str]) -> int:
    """One row per order, amounts in major units, lines as ``qty x SKU``; returns the count."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for order in orders:
        writer.writerow([safe_cell(cell) for cell in _csv_row(order)])
        count += 1
    return count


def batch_query(status: str | None = None, since: datetime | None = None) -> Select[Any]:
    """The export's orders, newest first by id: the order the keyset walks."""
    if status and status not in STATUSES:
        raise ValueError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    stmt = select(Order)
    if status:
        stmt = stmt.where(Order.status == status)
    if since is not None:
        stmt = stmt.where(Order.created_at >= since)
    return stmt.order_by(Order.id.desc())


def order_batches(
    status: str | None = None, since: datetime | None = None, batch: int | None = None
) -> Iterator[list[Order]]:
    """The bound shop's orders in batches of ``batch``, newest first; each batch is one
    statement for the orders (``id < last seen``, so the database seeks instead of
    skipping) and one for their lines. Nothing of a batch is kept once the next is read."""
    batch = batch or BATCH
    stmt = batch_query(status, since).options(lazyload(Order.lines)).limit(batch)
    last: int | None = None
    while True:
        page = stmt if last is None else stmt.where(Order.id < last)
        orders = list(db.session.scalars(page))
        if not orders:
            return
        page_rows = len(orders)
        _attach_lines(orders)
        yield orders
        last = orders[-1].id
        # Nothing else holds the batch: the session's identity map keeps its objects
        # weakly, so they go now (expunging each one costs a fifth of the export).
        del orders[:]
        if page_rows < batch:
            return


def _attach_lines(orders: list[Order]) -> None:
    """Load the batch's lines by their order ids alone. The relationship's own eager load
    joins ``orders`` back in, and SQLite then walks every line of the shop for each batch
    (its planner starts from the lines), which made the export quadratic."""
    lines: dict[int, list[OrderLine]] = {order.id: [] for order in orders}
    stmt = (
        select(OrderLine)
        .where(OrderLine.order_id.in_(list(lines)))
        .order_by(OrderLine.order_id, OrderLine.id)
    )
    for line in db.session.scalars(stmt):
        lines[line.order_id].append(line)
    for order in orders:
        set_committed_value(order, "lines", lines[order.id])


def stream_orders_csv(
    status: str | None = None,
    since: datetime | None = None,
    batch: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """The export as text chunks: the header, then one chunk per batch of orders;
    ``progress`` hears the running count after each batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield _drain(buffer)
    count = 0
    for orders in order_batches(status, since, batch):
        for order in orders:
            writer.writerow([safe_cell(cell) for cell in _csv_row(order)])
        count += len(orders)
        yield _drain(buffer)
        if progress is not None:
            progress(count)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


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
