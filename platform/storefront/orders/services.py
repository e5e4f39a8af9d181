"""Checkout and orders. Stock is taken with one conditional UPDATE per line, so it can
never go below zero however many checkouts race for the last units."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from flask import render_template, session, url_for
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ..caching import invalidate_shop_cache
from ..cart.models import Cart
from ..catalog.models import Product
from ..catalog.money import shop_money, to_major
from ..csvcells import safe_cell
from ..extensions import db
from ..listing import LIKE_ESCAPE, Page, contains, paginate
from ..outbox import enqueue_mail
from ..shared import SafeView
from ..tenancy.context import current_tenant
from ..tenancy.models import utcnow
from .models import STATUSES, Order, OrderCounter, OrderLine
from .payments import PROVIDERS

SESSION_KEY = "orders"  # numbers of orders placed in this session (guest access)


class CheckoutError(ValueError):
    """Checkout cannot go through; the message is for the shopper."""


@dataclass(frozen=True)
class Contact:
    email: str
    name: str
    address: str
    postal_code: str
    city: str
    country: str
    payment_method: str = "manual"


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


def order_view(order: Order) -> OrderView:
    pay = PROVIDERS.get(order.payment_method)
    return OrderView(
        number=order.number,
        status=order.status,
        email=order.email,
        name=order.name,
        address=order.address,
        postal_code=order.postal_code,
        city=order.city,
        country=order.country,
        created_at=order.created_at.strftime("%Y-%m-%d %H:%M"),
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
        payment_label=pay.label if pay else order.payment_method,
        payment_instructions=pay.instructions(order) if pay else "",
    )


def create_counter() -> None:
    """Give the bound shop its order counter (called when a shop is created)."""
    db.session.add(OrderCounter(next_number=1001))
    db.session.flush()


def next_order_number() -> str:
    """Take the next number under the counter's row lock: unique and gap-free per shop."""
    db.session.execute(
        update(OrderCounter)
        .values(next_number=OrderCounter.next_number + 1)
        .execution_options(synchronize_session=False)
    )
    value = db.session.scalar(select(OrderCounter.next_number))
    if value is None:
        create_counter()
        return next_order_number()
    return f"{current_tenant().slug.upper()}-{value - 1}"


def checkout_key(owner: str, form_key: str) -> str:
    """What makes a checkout "the same one": the cart's owner and the rendered form."""
    return hashlib.sha256(f"{owner}:{form_key}".encode()).hexdigest()


def order_for_checkout(key: str | None) -> Order | None:
    """The order an earlier submission of the same checkout made, if any."""
    if not key:
        return None
    return db.session.scalar(select(Order).where(Order.checkout_key == key))


def place_order(
    cart: Cart | None, contact: Contact, user_id: int | None = None, key: str | None = None
) -> Order:
    """Turn the cart into an order, taking stock atomically; all or nothing.

    With a ``key`` (see ``checkout_key``), a doubled or retried submission answers with
    the order the first one made. One racing the first fails at its flush or commit (the
    unique key, or the cart the first one deleted): the caller rolls back and answers
    ``order_for_checkout(key)`` (see ``orders.views``). Flushes; the caller commits.
    """
    earlier = order_for_checkout(key)
    if earlier is not None:
        return earlier
    if cart is None or not cart.items:
        raise CheckoutError("Your cart is empty.")
    if contact.payment_method not in PROVIDERS:
        raise CheckoutError("Choose a payment method.")
    settings = current_tenant().settings
    if settings is None:
        raise CheckoutError("This shop cannot take orders right now.")
    lines = []
    # Lock rows in one order (by product id) so concurrent checkouts never deadlock.
    for item in sorted(cart.items, key=lambda i: i.product_id):
        taken = db.session.execute(
            update(Product)
            .where(
                Product.id == item.product_id,
                Product.active.is_(True),
                Product.stock >= item.quantity,
            )
            .values(stock=Product.stock - item.quantity)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise CheckoutError(f"Sorry, “{item.product.title}” sold out while you were shopping.")
        price = item.product.price
        lines.append(
            OrderLine(
                product_id=item.product_id,
                sku=item.product.sku,
                title=item.product.title,
                unit_price=price,
                quantity=item.quantity,
                line_total=price * item.quantity,
            )
        )
    sold_out = db.session.scalar(
        select(func.count()).where(
            Product.id.in_([line.product_id for line in lines]), Product.stock == 0
        )
    )
    if sold_out:
        invalidate_shop_cache()  # listings show "Sold out" now (applied after commit)
    subtotal = sum(line.line_total for line in lines)
    order = Order(
        number=next_order_number(),
        user_id=user_id,
        email=contact.email,
        name=contact.name,
        address=contact.address,
        postal_code=contact.postal_code,
        city=contact.city,
        country=contact.country,
        shipping_label=settings.shipping.label,
        shipping=settings.shipping.flat_rate,
        subtotal=subtotal,
        total=subtotal + settings.shipping.flat_rate,
        currency=settings.currency,
        payment_method=contact.payment_method,
        checkout_key=key,
        lines=lines,
    )
    db.session.add(order)
    db.session.delete(cart)
    db.session.flush()
    send_order_mail(order, "orders/mail/confirmation.txt", f"Your order {order.number}")
    return order


CONCURRENT_CHECKOUT = (IntegrityError, StaleDataError)  # what a racing duplicate raises


def remember_guest_order(number: str) -> None:
    numbers = [n for n in session.get(SESSION_KEY, []) if n != number]
    session[SESSION_KEY] = [*numbers[-19:], number]


def find_visible_order(number: str, user_id: int | None) -> Order | None:
    """An order its shopper may see: their own account's, or placed in this session."""
    order = db.session.scalar(select(Order).where(Order.number == number))
    if order is None:
        return None
    if user_id is not None and order.user_id == user_id:
        return order
    if number in session.get(SESSION_KEY, []):
        return order
    return None


def orders_of(user_id: int) -> list[Order]:
    return list(
        db.session.scalars(
            select(Order)
            .where(Order.user_id == user_id)
            .order_by(Order.created_at.desc(), Order.id.desc())
        )
    )


def set_status(order: Order, status: str) -> None:
    """Move an order to ``status``. Cancelling puts its units back in stock (once); a
    cancelled order stays cancelled (place a new one instead), so stock is never counted
    twice. Shipping mails the shopper.

    The move is one conditional UPDATE on the status the order had when read: of two
    requests making the same move at once, one changes the row and the other nothing.
    """
    if status not in STATUSES:
        raise CheckoutError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    if order.status == status:
        return
    if order.status == "cancelled":
        raise CheckoutError(f"order {order.number} is cancelled; its status cannot change")
    previous = order.status
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == previous)
        .values(status=status, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    db.session.refresh(order)
    if moved != 1:
        return  # someone else moved it first; their move counts, once
    if status == "cancelled":
        for line in order.lines:
            if line.product_id is not None:
                db.session.execute(
                    update(Product)
                    .where(Product.id == line.product_id)
                    .values(stock=Product.stock + line.quantity)
                    .execution_options(synchronize_session=False)
                )
        invalidate_shop_cache()
    if status == "shipped":
        send_order_mail(
            order, "orders/mail/shipped.txt", f"Your order {order.number} is on its way"
        )
    db.session.flush()


def send_order_mail(order: Order, template: str, subject: str) -> None:
    """Queue a mail to the shopper in the current transaction (sent after it commits);
    links come from the shop's primary domain."""
    link = url_for("orders.detail", number=order.number, _external=True)
    body = render_template(template, order=order_view(order), link=link)
    kind = template.rsplit("/", 1)[-1].split(".")[0]
    # One confirmation per order, whatever happens; other mails once per event.
    key = f"order:{order.number}:confirmation" if kind == "confirmation" else None
    enqueue_mail(order.email, subject, body, dedupe_key=key)


def get_order(number: str) -> Order | None:
    """Any order of the bound shop by number (for staff; shoppers use find_visible_order)."""
    return db.session.scalar(select(Order).where(Order.number == number))


def order_query(status: str | None = None, since: datetime | None = None) -> Select[Any]:
    stmt = select(Order)
    if status:
        if status not in STATUSES:
            raise CheckoutError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
        stmt = stmt.where(Order.status == status)
    if since is not None:
        stmt = stmt.where(Order.created_at >= since)
    return stmt.order_by(Order.created_at.desc(), Order.id.desc())


def list_orders(
    status: str | None = None, page: int = 1, per_page: int = 25, query: str | None = None
) -> Page:
    """A page of orders, newest first; ``query`` matches the number, email or name."""
    stmt = order_query(status)
    if query:
        like = contains(query)
        stmt = stmt.where(
            or_(
                Order.number.ilike(like, escape=LIKE_ESCAPE),
                Order.email.ilike(like, escape=LIKE_ESCAPE),
                Order.name.ilike(like, escape=LIKE_ESCAPE),
            )
        )
    return paginate(stmt, page, per_page)


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
    "shipping",
    "total",
    "payment_method",
    "lines",
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
        to_major(order.shipping, order.currency),
        to_major(order.total, order.currency),
        order.payment_method,
        "; ".join(f"{line.quantity} x {line.sku}" for line in order.lines),
    ]
