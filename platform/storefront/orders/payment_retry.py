"""Paying again for an order that still awaits its payment.

A shopper who cancelled on Stripe's page, or whose card payment could not be started
(the provider was unreachable), may start a new card payment or switch to another method
the shop offers; the order, its total and its stock stay as they are.

One live session at a time, and never a second settlement:

* the request first *claims* the order with one conditional UPDATE on the payment state
  it read (status pending, the same method and ``payment_ref``): of two clicks at once,
  one claims and the other waits for and answers what the first made; a later request
  replaces the session (the one before is closed: still one live session);
* while claimed, ``payment_ref`` names no session, so no event of the old session can
  settle or cancel the order (``stripe_events``: only the order's own session counts);
* the old session is expired at Stripe, so the shopper can no longer pay it; one that
  was paid meanwhile is not replaced (``PaymentInProgress``) and its event settles;
* the new session (or the new method) is written only over the claim.

The claim and the result are committed here, not by the caller: the claim must be seen
by a concurrent request before anything is asked of Stripe (as ``StripePayment.start``
commits the session it made).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import stripe
from flask_babel import gettext as _
from sqlalchemy import update

from ..db import unit_of_work
from ..extensions import db
from ..problems import Conflict
from ..tenancy.models import utcnow
from .checkout import CheckoutError
from .models import Order
from .payments import PROVIDERS, enabled_methods
from .stripe_payment import StripeNotConfigured, StripePayment

log = logging.getLogger(__name__)
CLAIM = "starting:"  # payment_ref while a request starts the order's payment
T = TypeVar("T")
TWIN_WAIT = 5  # seconds a double click waits for its twin's session
CLAIM_LIFETIME = 120  # seconds after which a claim left by a crashed request is taken over


class PaymentRetryError(CheckoutError):
    """Why the payment cannot start again; ``code`` is the API's stable error code."""

    code: str = Conflict.ORDER_NOT_AWAITING_PAYMENT
    status = 409


class NotAwaitingPayment(PaymentRetryError):
    code = Conflict.ORDER_NOT_AWAITING_PAYMENT


class MethodNotOffered(PaymentRetryError):
    code = Conflict.PAYMENT_METHOD_NOT_OFFERED


class PaymentInProgress(PaymentRetryError):
    """The current session was paid (or is being started by another request)."""

    code = Conflict.PAYMENT_IN_PROGRESS


class ProviderUnavailable(PaymentRetryError):
    """The provider could not be reached; the order stands, unchanged but for no session."""

    code = "payment_unavailable"
    status = 502


@dataclass(frozen=True)
class Restarted:
    order: Order
    redirect_url: str | None  # where to send the shopper (a card payment), else None


def can_pay_again(order: Order) -> bool:
    """Whether the order's page offers to pay (again): it still awaits its payment."""
    return order.status == "pending"


def pay_again(order: Order, method: str | None = None) -> Restarted:
    """Start ``order``'s payment again with ``method`` (default: its own), once.

    Raises a ``PaymentRetryError`` (with the shopper's reason) when the order no longer
    awaits payment, the method is not offered, the current session was paid, or the
    provider cannot be reached. Each step is its own unit of work (``db.unit_of_work``):
    the claim is committed before Stripe is called, and each outcome after; so the caller
    must not run this inside a unit of work of its own.
    """
    method = method or order.payment_method
    if not can_pay_again(order):
        raise NotAwaitingPayment(_("This order is no longer awaiting payment."))
    if method not in {p.code for p in enabled_methods()}:
        raise MethodNotOffered(_("This payment method is not offered here."))
    card = StripePayment.code
    old_method, old_ref = order.payment_method, order.payment_ref
    if old_ref and old_ref.startswith(CLAIM) and not _stale(old_ref):
        return _answer_twin(order, method)
    stripe_session = old_ref if old_method == card and _is_session(old_ref) else None
    if stripe_session and _reach(lambda: _stripe().session_status(stripe_session)) == "complete":
        raise PaymentInProgress(_("This order's card payment went through: it is being confirmed."))
    # The claim: one conditional UPDATE on the state read above.
    claim = f"{CLAIM}{int(time.time())}:{secrets.token_hex(6)}"
    if not unit_of_work(lambda: _swap(order, old_method, old_ref, {"payment_ref": claim})):
        return _answer_twin(order, method)
    if stripe_session:
        try:
            closed = _reach(lambda: _stripe().expire(stripe_session))
        except ProviderUnavailable:
            closed = None
        if not closed:
            # Paid between our look and the expiry (that payment settles, nothing replaces
            # it), or Stripe unreachable: the order keeps its session.
            unit_of_work(lambda: _swap(order, old_method, claim, {"payment_ref": old_ref}))
            if closed is None:
                raise ProviderUnavailable(_unreachable())
            raise PaymentInProgress(
                _("This order's card payment went through: it is being confirmed.")
            )
    if method != card:
        unit_of_work(
            lambda: _swap(order, old_method, claim, {"payment_method": method, "payment_ref": None})
        )
        return Restarted(order, None)
    try:
        session_id, url = _reach(lambda: _stripe().create_session(order, idempotency_key=claim))
    except ProviderUnavailable:
        # the old one is closed
        unit_of_work(lambda: _swap(order, old_method, claim, {"payment_ref": None}))
        raise
    unit_of_work(
        lambda: _swap(order, old_method, claim, {"payment_method": card, "payment_ref": session_id})
    )
    return Restarted(order, url)


def _unreachable() -> str:
    return _("The card payment could not be started. Please try again in a moment.")


def _reach(call: Callable[[], T]) -> T:
    """Stripe's answer, or ``ProviderUnavailable`` when it cannot be had."""
    try:
        return call()
    except (stripe.StripeError, StripeNotConfigured) as exc:
        log.warning("stripe could not be reached: %s", exc)
        raise ProviderUnavailable(_unreachable()) from None


def _stripe() -> StripePayment:
    return PROVIDERS[StripePayment.code]  # type: ignore[return-value]


def _is_session(ref: str | None) -> bool:
    return bool(ref) and not (ref or "").startswith(CLAIM)


def _stale(claim: str) -> bool:
    try:
        stamp = int(claim[len(CLAIM) :].split(":", 1)[0])
    except ValueError:
        return True
    return time.time() - stamp > CLAIM_LIFETIME


def _swap(order: Order, method: str, ref: str | None, values: dict[str, Any]) -> bool:
    """Write ``values`` if the order still awaits payment with ``method`` and ``ref``."""
    same_ref = Order.payment_ref.is_(None) if ref is None else Order.payment_ref == ref
    changed = db.session.execute(
        update(Order)
        .where(
            Order.id == order.id,
            Order.status == "pending",
            Order.payment_method == method,
            same_ref,
        )
        .values(**values, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    db.session.refresh(order)
    return bool(changed == 1)


def _answer_twin(order: Order, method: str) -> Restarted:
    """Another request changed the payment first (a double click): answer what it made,
    once it has made it (a few seconds at most)."""
    deadline = time.monotonic() + TWIN_WAIT
    while (order.payment_ref or "").startswith(CLAIM) and time.monotonic() < deadline:
        db.session.rollback()  # a fresh read: the claim's outcome is another transaction's
        time.sleep(0.1)
        db.session.refresh(order)
    if not can_pay_again(order):
        raise NotAwaitingPayment(_("This order is no longer awaiting payment."))
    ref = order.payment_ref
    if order.payment_method != method or (ref or "").startswith(CLAIM):
        raise PaymentInProgress(_("The payment is being started: reload the page in a moment."))
    if method != StripePayment.code:
        return Restarted(order, None)
    url = _reach(lambda: _stripe().session_url(ref)) if ref else None
    if url is None:  # the twin could not start one, or its session was paid meanwhile
        raise PaymentInProgress(_("The payment is being started: reload the page in a moment."))
    return Restarted(order, url)
