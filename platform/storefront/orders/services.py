"""Orders after checkout: who may see one, lists and queries, status changes.

The checkout itself is ``checkout``, views of an order ``views_model``, mails ``mail``,
CSV ``csv_export``; their names are re-exported here for the callers of ``services``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import session
from flask_babel import gettext as _
from sqlalchemy import Select, func, select, update

from ..catalog.money import shop_money
from ..extensions import db
from ..problems import Conflict
from ..tenancy.context import current_tenant
from ..tenancy.models import utcnow
from ..webhooks import emit
from . import aggregates, giftcards
from .access import key_opens, order_key
from .checkout import (
    CONCURRENT_CHECKOUT,
    CartChanged,
    CheckoutError,
    Contact,
    Placed,
    TotalChanged,
    checkout_key,
    create_counter,
    next_order_number,
    order_for_checkout,
    place,
    place_order,
)
from .csv_export import CSV_COLUMNS, write_orders_csv
from .mail import send_order_mail
from .models import RESTOCKING, STATUSES, TRANSITIONS, Order
from .refunds import (
    Refund,
    RefundError,
    record_refund,
    refund_for_key,
    refunded_total,
    refunds_of,
    restock_once,
)
from .signals import order_paid
from .views_model import OrderLineView, OrderView, order_view, status_label, webhook_data

__all__ = [
    "CONCURRENT_CHECKOUT",
    "CSV_COLUMNS",
    "CartChanged",
    "CheckoutError",
    "Placed",
    "TotalChanged",
    "place",
    "OrderStateError",
    "Refund",
    "RefundError",
    "refund",
    "refund_for_key",
    "refunded_total",
    "refunds_of",
    "order_key",
    "allowed_moves",
    "check_move",
    "Contact",
    "OrderLineView",
    "OrderView",
    "checkout_key",
    "create_counter",
    "find_visible_order",
    "get_order",
    "next_order_number",
    "order_for_checkout",
    "order_query",
    "order_view",
    "orders_of",
    "orders_of_query",
    "place_order",
    "claim_guest_orders",
    "release_unpaid",
    "remember_guest_order",
    "send_order_mail",
    "set_status",
    "write_orders_csv",
]
SESSION_KEY = "orders"  # numbers of orders placed in this session (guest access)


def remember_guest_order(number: str) -> None:
    numbers = [n for n in session.get(SESSION_KEY, []) if n != number]
    session[SESSION_KEY] = [*numbers[-19:], number]


def find_visible_order(number: str, user_id: int | None, key: str | None = None) -> Order | None:
    """An order its shopper may see: their own account's, placed in this session, or
    opened with the signed key from its mails (then remembered for this session)."""
    order = db.session.scalar(select(Order).where(Order.number == number))
    if order is None:
        return None
    if user_id is not None and order.user_id == user_id:
        return order
    if number in session.get(SESSION_KEY, []):
        return order
    if key_opens(order, key):
        remember_guest_order(number)
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


class OrderStateError(CheckoutError):
    """A move the order's state machine does not allow; the message says why."""


def allowed_moves(order: Order) -> tuple[str, ...]:
    return TRANSITIONS.get(order.status, ())


def check_move(order: Order, status: str) -> None:
    """Raise ``OrderStateError`` unless ``order`` may move to ``status``."""
    if status not in STATUSES:
        raise OrderStateError(
            _(
                "Unknown status “%(status)s” (one of %(statuses)s).",
                status=status,
                statuses=", ".join(STATUSES),
            )
        )
    allowed = allowed_moves(order)
    if status in allowed:
        return
    if not allowed:
        raise OrderStateError(
            _(
                "Order %(number)s is %(status)s; its status cannot change any more.",
                number=order.number,
                status=status_label(order.status),
            )
        )
    raise OrderStateError(
        _(
            "An order that is %(current)s cannot become %(wanted)s (it can become: %(allowed)s).",
            current=status_label(order.status),
            wanted=status_label(status),
            allowed=", ".join(status_label(s) for s in allowed),
        )
    )


def set_status(
    order: Order,
    status: str,
    *,
    carrier: str | None = None,
    tracking_number: str | None = None,
    notify: bool = True,
) -> None:
    """Move an order to ``status`` along ``TRANSITIONS`` (anything else is refused with the
    reason). Cancelling puts its units back in stock, once; shipping records the carrier
    and tracking number. The shopper is mailed when the order is paid, shipped or
    cancelled (unless ``notify`` is off: the caller sends its own), and the staff hear of
    a paid order (``signals.order_paid``).

    The move is one conditional UPDATE on the status the order had when read: of two
    requests making the same move at once, one changes the row and the other nothing.
    """
    if order.status == status and status in STATUSES:
        return
    check_move(order, status)
    previous = order.status
    values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
    if status == "cancelled":
        values["cancelled_at"] = values["updated_at"]
    if status == "shipped":
        values["carrier"] = (carrier or "").strip()[:100] or None
        values["tracking_number"] = (tracking_number or "").strip()[:100] or None
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == previous)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    db.session.refresh(order)
    if moved != 1:
        return  # someone else moved it first; their move counts, once
    # A sale when paid; cash on delivery, shipped unpaid, is paid when delivered.
    if status in ("paid", "delivered"):
        aggregates.count_sale(order)
    if status == "cancelled":
        aggregates.count_cancellation(order, values["cancelled_at"])
    if status in RESTOCKING:
        restock_once(order)
    if status == "cancelled":  # what gift cards paid goes back to them, once
        giftcards.release_for_order(order)
    if status in ("cancelled", "refunded"):  # cards it bought are the buyer's no more
        giftcards.revoke_for_order(order)
    if status in ("paid", "shipped", "delivered", "cancelled", "refunded"):
        emit(f"order.{status}", webhook_data(order))
    if notify and status in ("paid", "shipped", "cancelled"):
        send_order_mail(order, status)
    if status == "paid":
        order_paid.send(order)
    db.session.flush()


def refund(
    order: Order,
    amount: int,
    reason: str,
    *,
    key: str,
    restock: bool = False,
    fingerprint: str | None = None,
    to_gift_card: bool = False,
    actor: str = "",
) -> Refund:
    """Refund ``amount`` (minor units) of ``order`` with a reason; restock when asked
    (once per order, whatever else restocked it); refunding what is left moves the order
    to refunded. The shopper is mailed the refund with what stays paid. The same ``key``
    again answers its refund (``KeyReused`` when asked with another request's
    ``fingerprint``). ``to_gift_card``: the amount goes onto a gift card (the one the
    order was paid with, else a new one mailed to the shopper), not back through the
    payment method; what a gift card paid can only go back so. Flushes; the caller
    commits."""
    earlier = refund_for_key(key, fingerprint)
    if earlier is not None:
        return earlier
    if not to_gift_card and order.gift_card_amount:
        # The payment method gives back at most what it took; the rest was a card's.
        through_method = refunded_total(order) - giftcards.refunded_to_cards(order)
        left = order.amount_due - through_method
        if amount > left:
            raise RefundError(
                _(
                    "A gift card paid part of this order: refund at most %(left)s through "
                    "the payment method, and the rest onto the gift card.",
                    left=shop_money(max(left, 0), order.currency),
                ),
                Conflict.REFUND_EXCEEDS_PAID,
            )
    row, new = record_refund(order, amount, reason, key, fingerprint, to_gift_card=to_gift_card)
    if not new:
        return row
    if to_gift_card:
        giftcards.refund_to_card(order, row.id, amount, actor=actor)
    aggregates.count_refund(order, amount, row.created_at)
    if restock:
        row.restocked = restock_once(order)
    if refunded_total(order) >= order.total and "refunded" in allowed_moves(order):
        set_status(order, "refunded")
    db.session.flush()
    db.session.refresh(order)  # the refunded amount, for the shopper's mail
    send_order_mail(order, "refund", refund_id=row.id)
    return row


def claim_guest_orders(user_id: int, email: str) -> int:
    """Give an account the guest orders placed with its (now confirmed) email; returns how
    many joined. Only call once the address is proven: orders carry addresses."""
    joined = int(
        db.session.execute(
            update(Order)
            .where(Order.user_id.is_(None), func.lower(Order.email) == email.strip().lower())
            .values(user_id=user_id)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        or 0
    )
    if joined:
        aggregates.count_claim(user_id, email)
    return joined


def release_unpaid(now: datetime | None = None) -> int:
    """Cancel the bound shop's orders still awaiting payment after its
    ``payment.release_unpaid_hours``: their units go back on sale (once, like any
    cancel) and the shopper is told. Returns how many were released."""
    settings = current_tenant().settings
    hours = settings.payment.release_unpaid_hours if settings else 0
    if not hours:
        return 0
    cutoff = (now or utcnow()) - timedelta(hours=hours)
    stale = db.session.scalars(
        select(Order)
        .where(Order.status == "pending", Order.created_at < cutoff)
        .order_by(Order.id)
        .limit(500)
    ).all()
    released = 0
    for order in stale:
        set_status(order, "cancelled", notify=False)
        if order.status == "cancelled":
            released += 1
            send_order_mail(order, "released")
    return released


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
