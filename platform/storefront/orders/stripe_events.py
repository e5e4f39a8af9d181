"""What Stripe's signed events may do to an order, and the record of each one.

A signature proves the event came from Stripe under this shop's endpoint secret; it does
not prove the event is about what it names. So a ``checkout.session.completed`` settles an
order only when the session is the order's own (its ``payment_ref``, and this shop in the
session's metadata), the order is paid by card through Stripe, and the amount and
currency are the order's total; ``checkout.session.expired`` cancels only the order's own
card session. Everything else is refused, never applied, and recorded in
``payment_events`` with the reason, where the owner reads it (``/admin/payments/``).
Stripe gets 200 for a refusal (retrying would not change the answer) and 400 for an
event whose shape is not what Stripe sends.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Index, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Timestamp
from ..extensions import Model, db
from ..tenancy.context import current_tenant
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped
from .models import Order

PROVIDER = "stripe"
HANDLED = ("checkout.session.completed", "checkout.session.expired")
# What the owner's list says (admin/payments.py translates the reasons).
APPLIED, UNCHANGED, REFUSED, MALFORMED = "applied", "unchanged", "refused", "malformed"


class PaymentEvent(Model, TenantScoped):
    """A provider event, handled once (its id is unique per shop), and what came of it."""

    __tablename__ = "payment_events"
    __scoped_args__ = (
        Index("uq_payment_events_event", "tenant_id", "provider", "event_id", unique=True),
        Index("ix_payment_events_tenant_id_order_number", "tenant_id", "order_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[Any] = mapped_column(Timestamp, default=utcnow)
    # What the event claimed, as sent (cut to the column), for the owner to compare.
    order_number: Mapped[str | None] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(100))  # the Checkout Session id
    amount: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16), default=APPLIED, server_default=APPLIED)
    reason: Mapped[str] = mapped_column(String(32), default="", server_default="")

    def __repr__(self) -> str:
        return f"<PaymentEvent {self.event_id} {self.outcome}>"


class MalformedEvent(ValueError):
    """Signed, but not shaped like a Stripe event of its type: answered 400."""


class _Strict(BaseModel):
    # Strict: an amount sent as "1999", a bool for an int, a list for an object are
    # malformed, never coerced into something that could match.
    model_config = ConfigDict(strict=True, extra="ignore")


class _Envelope(_Strict):
    id: str = Field(min_length=1, max_length=100)
    type: str = Field(min_length=1, max_length=64)


class CheckoutSession(_Strict):
    id: str = Field(min_length=1, max_length=100)
    metadata: dict[str, str] | None = None
    client_reference_id: str | None = Field(default=None, max_length=100)
    amount_total: int | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, max_length=16)
    payment_status: str | None = Field(default=None, max_length=32)
    payment_intent: str | None = Field(default=None, max_length=100)


class _Data(_Strict):
    object: CheckoutSession


class SessionEvent(_Envelope):
    data: _Data


@dataclass(frozen=True)
class Outcome:
    """What happened to one event: ``status`` is the HTTP answer to Stripe."""

    outcome: str
    reason: str = ""
    status: int = 200

    def __str__(self) -> str:
        return f"{self.outcome}: {self.reason}" if self.reason else self.outcome


def handle_event(
    payload: Any, set_status: Callable[[Order, str], None], body: bytes = b""
) -> Outcome:
    """Apply a verified event (``payload``, parsed from ``body``) at most once, if it
    settles the order it names; record it either way. Flushes; the caller commits (also
    when the event was refused)."""
    try:
        envelope = _Envelope.model_validate(payload)
    except ValidationError:
        return _record_malformed(payload, kind="", event_id=_digest_id(body) if body else "")
    if envelope.type not in HANDLED:
        return Outcome("ignored")
    try:
        session = SessionEvent.model_validate(payload).data.object
    except ValidationError:
        return _record_malformed(payload, kind=envelope.type, event_id=envelope.id)
    metadata = session.metadata or {}
    number = metadata.get("order_number") or session.client_reference_id or ""
    row = PaymentEvent(
        provider=PROVIDER,
        event_id=envelope.id,
        kind=envelope.type,
        order_number=number[:32] or None,
        reference=session.id,
        amount=session.amount_total,
        currency=session.currency,
    )
    if not _first_time(row):
        return Outcome("replayed")
    order = db.session.scalar(select(Order).where(Order.number == number)) if number else None
    result = _decide(envelope.type, session, metadata, order, set_status)
    row.outcome, row.reason = result.outcome, result.reason
    db.session.flush()
    return result


def _decide(
    kind: str,
    session: CheckoutSession,
    metadata: dict[str, str],
    order: Order | None,
    set_status: Callable[[Order, str], None],
) -> Outcome:
    """Whether the event is the order's own and pays exactly its total; then apply it."""
    if order is None:
        return Outcome(REFUSED, "unknown_order")
    if metadata.get("shop") != current_tenant().uid:
        return Outcome(REFUSED, "other_shop")
    if order.payment_method != PROVIDER:
        return Outcome(REFUSED, "not_card")
    if not order.payment_ref or order.payment_ref != session.id:
        return Outcome(REFUSED, "other_session")
    if kind == "checkout.session.expired":
        if order.status != "pending":
            return Outcome(UNCHANGED, f"already_{order.status}")
        set_status(order, "cancelled")
        return Outcome(APPLIED, "cancelled")
    if (session.currency or "").lower() != order.currency.lower():
        return Outcome(REFUSED, "currency")
    if session.amount_total != order.amount_due:  # the total less what gift cards paid
        return Outcome(REFUSED, "amount")
    if session.payment_status != "paid":
        return Outcome(UNCHANGED, "unpaid")  # e.g. a bank debit still on its way
    if order.status != "pending":
        return Outcome(UNCHANGED, f"already_{order.status}")
    order.payment_intent = session.payment_intent
    set_status(order, "paid")
    return Outcome(APPLIED, "paid")


def _first_time(row: PaymentEvent) -> bool:
    """Add ``row``; False when the shop has recorded this event id already (a replay).

    The row is the first thing the transaction writes, so rolling back loses nothing.
    """
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def record_unreadable(body: bytes) -> Outcome:
    """A signed body that is not JSON at all: recorded by its digest, answered 400."""
    return _record_malformed(None, kind="", event_id=_digest_id(body))


def _digest_id(content: bytes) -> str:
    return f"unreadable:{hashlib.sha256(content).hexdigest()[:40]}"


def _record_malformed(payload: Any, kind: str, event_id: str = "") -> Outcome:
    """Keep a trace of a signed event we cannot read; Stripe is told 400 (every time)."""
    if not event_id:  # no usable id: name it by its content, so a retry is one row
        event_id = _digest_id(json.dumps(payload, sort_keys=True, default=str).encode())
    kind = kind or (str(payload.get("type"))[:64] if isinstance(payload, dict) else "")
    row = PaymentEvent(provider=PROVIDER, event_id=event_id, kind=kind or "?", outcome=MALFORMED)
    _first_time(row)
    return Outcome(MALFORMED, status=400)


def recent_events(order_number: str | None = None, limit: int = 100) -> list[PaymentEvent]:
    """The shop's latest recorded payment events (or those naming one order), newest first."""
    stmt = select(PaymentEvent).order_by(PaymentEvent.id.desc()).limit(limit)
    if order_number:
        stmt = stmt.where(PaymentEvent.order_number == order_number)
    return list(db.session.scalars(stmt))
