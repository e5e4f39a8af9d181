"""Card payments through Stripe Checkout, per shop.

``start`` creates a Checkout Session with the shop's own secret key (from its
``secrets.toml``) and sends the shopper to Stripe's hosted page; they come back to the
order page. Only Stripe's signed webhook marks the order paid (``handle_event``): the
signature is checked with the shop's endpoint secret, each event is handled once (a
replay changes nothing), and an out-of-order event that no longer fits the order's state
is ignored. A session that expires unpaid cancels the order and releases its stock.
Refunds go through Stripe's API.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import stripe
from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, Index, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model, db
from ..tenancy.context import current_tenant
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped
from ..tenancy.secrets import StripeSecrets, load_secrets
from ..tenancy.services import tenants_dir
from .access import order_key
from .models import Order

log = logging.getLogger(__name__)
SESSION_MIN, SESSION_MAX = 30 * 60, 24 * 3600  # what Stripe allows for expires_at


class PaymentEvent(Model, TenantScoped):
    """A provider event handled once: its id is unique per shop."""

    __tablename__ = "payment_events"
    __scoped_args__ = (
        Index("uq_payment_events_event", "tenant_id", "provider", "event_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[Any] = mapped_column(DateTime, default=utcnow)


class StripeNotConfigured(RuntimeError):
    """The shop offers Stripe but has no keys: checkout says so, the order stands."""


def shop_secrets() -> StripeSecrets:
    return load_secrets(tenants_dir(), current_tenant().slug).stripe


def client(secrets: StripeSecrets | None = None) -> stripe.StripeClient:
    secrets = secrets or shop_secrets()
    if not secrets.secret_key:
        raise StripeNotConfigured("no stripe.secret_key in the shop's secrets.toml")
    base = current_app.config.get("STRIPE_API_BASE")
    options: dict[str, Any] = {"base_addresses": {"api": base}} if base else {}
    return stripe.StripeClient(secrets.secret_key, max_network_retries=2, **options)


class StripePayment:
    code = "stripe"
    label = _l("Card (Stripe)")

    def available(self) -> bool:
        """Whether the bound shop has its keys (checkout offers cards only then)."""
        try:
            return bool(shop_secrets().secret_key)
        except ValueError:  # an unreadable secrets.toml: not available, never a 500
            return False

    def instructions(self, order: Order) -> str:
        if order.status == "pending":
            return str(_l("Waiting for the card payment to be confirmed."))
        return ""

    def start(self, order: Order) -> str | None:
        """A Checkout Session for the order's total; its URL is where the shopper goes."""
        settings = current_tenant().settings
        hours = settings.payment.release_unpaid_hours if settings else 0
        lifetime = min(max(hours * 3600 or SESSION_MAX, SESSION_MIN), SESSION_MAX)
        back = url_for("orders.detail", number=order.number, key=order_key(order), _external=True)
        session = client().v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "client_reference_id": order.number,
                "customer_email": order.email,
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": order.currency.lower(),
                            "unit_amount": order.total,
                            "product_data": {"name": f"{current_tenant().name} {order.number}"},
                        },
                    }
                ],
                "metadata": {"order_number": order.number, "shop": current_tenant().uid},
                "success_url": back,
                "cancel_url": back,
                "expires_at": int(time.time()) + lifetime,
            },
            options={"idempotency_key": f"checkout-{current_tenant().uid}-{order.number}"},
        )
        order.payment_ref = session.id
        db.session.commit()
        return str(session.url)

    def refund(self, order: Order, amount: int, reason: str, key: str | None = None) -> str | None:
        if not order.payment_intent:
            raise StripeNotConfigured("the order has no Stripe payment to refund")
        options: dict[str, Any] = (
            {"idempotency_key": f"refund-{current_tenant().uid}-{key}"} if key else {}
        )
        refund = client().v1.refunds.create(
            params={
                "payment_intent": order.payment_intent,
                "amount": amount,
                "metadata": {"reason": reason[:500], "order_number": order.number},
            },
            options=options,  # type: ignore[arg-type]
        )
        return str(refund.id)


def verify(payload: bytes, signature: str) -> Any:
    """The event, if ``signature`` is Stripe's for ``payload`` under the shop's endpoint
    secret; raises ``ValueError`` otherwise (or when the shop has no secret)."""
    secret = shop_secrets().webhook_secret
    if not secret:
        raise ValueError("no stripe.webhook_secret for this shop")
    try:
        return stripe.Webhook.construct_event(payload, signature, secret)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise ValueError(str(exc)) from None


def handle_event(event: Any, set_status: Any) -> str:
    """Apply a verified event once; returns what happened (for the log and the tests)."""
    kind = str(event["type"])
    if kind not in ("checkout.session.completed", "checkout.session.expired"):
        return "ignored"
    db.session.add(PaymentEvent(provider="stripe", event_id=str(event["id"]), kind=kind))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return "replayed"
    session = event["data"]["object"]
    session = session.to_dict() if hasattr(session, "to_dict") else dict(session)
    number = (session.get("metadata") or {}).get("order_number") or session.get(
        "client_reference_id"
    )
    order = db.session.scalar(select(Order).where(Order.number == str(number or "")))
    if order is None or (order.payment_ref and order.payment_ref != session.get("id")):
        db.session.commit()
        return "unknown order"
    if kind == "checkout.session.completed" and session.get("payment_status") == "paid":
        if order.status != "pending":
            db.session.commit()
            return "already " + order.status
        order.payment_intent = session.get("payment_intent")
        set_status(order, "paid")
        db.session.commit()
        return "paid"
    if kind == "checkout.session.expired" and order.status == "pending":
        set_status(order, "cancelled")
        db.session.commit()
        return "cancelled"
    db.session.commit()
    return "no change"
