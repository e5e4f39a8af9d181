"""Refunds: full or partial, with a reason, through the payment provider when it can,
recorded either way; restocking when asked, once per order.

A refund form carries a key rendered with it (unique per shop): submitting the same form
twice records one refund. The units go back by one conditional UPDATE on the order's
``restocked_at``: two refunds asking to restock, racing or not, restock once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Index, Integer, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from ..caching import invalidate_shop_cache
from ..catalog.money import shop_money
from ..catalog.variants import put_back
from ..db import Timestamp
from ..extensions import Model, db
from ..idempotency import check_same_request
from ..problems import Conflict, Refused
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped, scoped_fk
from .models import Order
from .payments import PROVIDERS

REFUNDABLE = ("paid", "shipped", "delivered")


class RefundError(Refused):
    """A refund that cannot be made; the message says why."""

    code = Conflict.NOT_REFUNDABLE


class Refund(Model, TenantScoped):
    __tablename__ = "refunds"
    __scoped_args__ = (
        Index("uq_refunds_tenant_id_refund_key", "tenant_id", "refund_key", unique=True),
        Index("ix_refunds_tenant_id_order_id", "tenant_id", "order_id"),
        scoped_fk("order_id", "orders"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(Integer)  # minor units
    reason: Mapped[str] = mapped_column(String(500), default="")
    refund_key: Mapped[str] = mapped_column(String(64))
    # What an API refund's Idempotency-Key was first sent with (storefront.idempotency).
    request_fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
    provider_ref: Mapped[str | None] = mapped_column(String(100))  # the provider's refund id
    restocked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


def refunded_total(order: Order) -> int:
    """What has been refunded of ``order`` so far (read fresh: refunds race)."""
    return int(db.session.scalar(select(Order.refunded).where(Order.id == order.id)) or 0)


def refunds_of(order: Order) -> list[Refund]:
    return list(
        db.session.scalars(select(Refund).where(Refund.order_id == order.id).order_by(Refund.id))
    )


def refund_for_key(key: str, fingerprint: str | None = None) -> Refund | None:
    """The refund made with ``key``, if any; ``KeyReused`` when it was asked with another
    request (``fingerprint``, see ``storefront.idempotency``)."""
    earlier = db.session.scalar(select(Refund).where(Refund.refund_key == key))
    if earlier is not None:
        check_same_request(earlier.request_fingerprint, fingerprint)
    return earlier


def record_refund(
    order: Order,
    amount: int,
    reason: str,
    key: str,
    fingerprint: str | None = None,
    *,
    to_gift_card: bool = False,
) -> tuple[Refund, bool]:
    """Record (and pass to the provider, when it refunds) ``amount`` of ``order``.
    Returns the refund and whether it is new: the same ``key`` again answers the refund
    it made (``KeyReused`` if asked with another request). ``to_gift_card``: the
    provider is not asked (the amount goes onto a card, ``orders.giftcards``). Flushes
    (a racing duplicate key fails the flush; the caller rolls back)."""
    earlier = refund_for_key(key, fingerprint)
    if earlier is not None:
        return earlier, False
    if order.status not in REFUNDABLE:
        raise RefundError(_("Only paid, shipped or delivered orders can be refunded."))
    # The amount is taken from what is left by one conditional UPDATE, before any money
    # moves: two refunds racing (two forms, two owners) can never add up to more than the
    # order's total. A failure below rolls the reservation back with the transaction.
    reserved = 0
    if amount >= 1:
        reserved = db.session.execute(
            update(Order)
            .where(Order.id == order.id, Order.refunded + amount <= Order.total)
            .values(refunded=Order.refunded + amount)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    if reserved != 1:
        left = order.total - refunded_total(order)
        raise RefundError(
            _(
                "Refund more than nothing and at most what is left to refund (%(left)s).",
                left=shop_money(left, order.currency),
            ),
            Conflict.REFUND_EXCEEDS_PAID,
        )
    provider: Any = PROVIDERS.get(order.payment_method)
    provider_ref = None
    if provider is not None and hasattr(provider, "refund") and not to_gift_card:
        # The form's key goes to the provider too: a double submission refunds once there.
        provider_ref = provider.refund(order, amount, reason, key=key)
    row = Refund(
        order_id=order.id,
        amount=amount,
        reason=(reason or "").strip()[:500],
        refund_key=key[:64],
        request_fingerprint=fingerprint,
        provider_ref=provider_ref,
    )
    db.session.add(row)
    db.session.flush()
    return row, True


def restock_once(order: Order) -> bool:
    """Put the order's units back on sale unless that happened already; True if now."""
    taken = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.restocked_at.is_(None))
        .values(restocked_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if taken != 1:
        return False
    # The same lock order as checkout: by product, then variant (catalog.variants).
    for line in sorted(order.lines, key=lambda li: (li.product_id or 0, li.variant_id or 0)):
        if line.product_id is not None:
            put_back(line.product_id, line.variant_id, line.quantity)
    invalidate_shop_cache()
    return True
