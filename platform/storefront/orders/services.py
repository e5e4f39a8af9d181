"""Orders after checkout: who may see one, lists and queries, status changes.

The checkout itself is ``checkout``, views of an order ``views_model``, mails ``mail``,
CSV ``csv_export``; their names are re-exported here for the callers of ``services``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select, update

from ..caching import invalidate_shop_cache
from ..catalog.models import Product
from ..extensions import db
from ..listing import LIKE_ESCAPE, Page, contains, paginate
from ..tenancy.models import utcnow
from ..webhooks import emit
from .checkout import (
    CONCURRENT_CHECKOUT,
    CheckoutError,
    Contact,
    checkout_key,
    create_counter,
    next_order_number,
    order_for_checkout,
    place_order,
)
from .csv_export import CSV_COLUMNS, write_orders_csv
from .mail import send_order_mail
from .models import STATUSES, Order
from .views_model import OrderLineView, OrderView, order_view, webhook_data

__all__ = [
    "CONCURRENT_CHECKOUT",
    "CSV_COLUMNS",
    "CheckoutError",
    "Contact",
    "OrderLineView",
    "OrderView",
    "checkout_key",
    "create_counter",
    "find_visible_order",
    "get_order",
    "list_orders",
    "next_order_number",
    "order_for_checkout",
    "order_query",
    "order_view",
    "orders_of",
    "orders_of_query",
    "place_order",
    "remember_guest_order",
    "send_order_mail",
    "set_status",
    "write_orders_csv",
]
SESSION_KEY = "orders"  # numbers of orders placed in this session (guest access)


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


def orders_of_query(user_id: int) -> Select[Any]:
    """An account's orders, newest first, as a query (to page through)."""
    return (
        select(Order)
        .where(Order.user_id == user_id)
        .order_by(Order.created_at.desc(), Order.id.desc())
    )


def orders_of(user_id: int) -> list[Order]:
    return list(db.session.scalars(orders_of_query(user_id)))


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
        raise CheckoutError(
            _("Order %(number)s is cancelled; its status cannot change.", number=order.number)
        )
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
    if status in ("paid", "shipped", "cancelled"):
        emit(f"order.{status}", webhook_data(order))
    if status == "shipped":
        send_order_mail(
            order,
            "orders/mail/shipped.txt",
            _l("Your order %(number)s is on its way", number=order.number),
        )
    db.session.flush()


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
