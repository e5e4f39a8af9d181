"""Card payments through Stripe Checkout, per shop.

``start`` creates a Checkout Session with the shop's own secret key (from its
``secrets.toml``) and sends the shopper to Stripe's hosted page; they come back to the
order page. Only Stripe's signed webhook marks the order paid: the signature is checked
here with the shop's endpoint secret (``verify``), and ``stripe_events.handle_event``
decides what the event may do: each is handled once, settles only its own order's
session for exactly its total, and anything else is recorded for the owner, never
applied. A session that expires unpaid cancels the order and releases its stock.
Refunds go through Stripe's API.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC
from typing import Any

import stripe
from flask import current_app, url_for
from flask_babel import lazy_gettext as _l

from ..tenancy.context import current_tenant
from ..tenancy.secrets import StripeSecrets, load_secrets
from ..tenancy.services import tenants_dir
from .access import order_key
from .models import Order
from .stripe_events import MalformedEvent

log = logging.getLogger(__name__)
SESSION_MIN, SESSION_MAX = 30 * 60, 24 * 3600  # what Stripe allows for expires_at
TOLERANCE = 300  # seconds a signed event stays valid (Stripe's default): no old replays


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
        key = f"checkout-{current_tenant().uid}-{order.number}"
        session_id, url = self.create_session(order, idempotency_key=key)
        order.payment_ref = session_id  # the caller's unit of work commits it
        return url

    def create_session(self, order: Order, idempotency_key: str) -> tuple[str, str]:
        """A new Checkout Session for exactly the order's total: its id and its URL. The
        caller records the id as the order's ``payment_ref`` (the only session that
        settles it)."""
        settings = current_tenant().settings
        hours = settings.payment.release_unpaid_hours if settings else 0
        lifetime = min(max(hours * 3600 or SESSION_MAX, SESSION_MIN), SESSION_MAX)
        now = int(time.time())
        expires_at = now + lifetime
        if hours and order.created_at is not None:
            # A session made later (paying again) ends when the unpaid order is released,
            # not a full lifetime after: no payment for an order whose stock went back.
            released = int(order.created_at.replace(tzinfo=UTC).timestamp()) + hours * 3600
            expires_at = max(min(expires_at, released), now + SESSION_MIN)
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
                            "unit_amount": order.amount_due,  # the total less gift cards
                            "product_data": {"name": f"{current_tenant().name} {order.number}"},
                        },
                    }
                ],
                "metadata": {"order_number": order.number, "shop": current_tenant().uid},
                "success_url": back,
                "cancel_url": back,
                "expires_at": expires_at,
            },
            options={"idempotency_key": idempotency_key},
        )
        return str(session.id), str(session.url)

    def session_status(self, session_id: str) -> str:
        """Stripe's status of a session: ``open``, ``complete`` or ``expired``."""
        return str(client().v1.checkout.sessions.retrieve(session_id).status)

    def session_url(self, session_id: str) -> str | None:
        """Where to pay an open session (None once it is complete or expired)."""
        session = client().v1.checkout.sessions.retrieve(session_id)
        return str(session.url) if session.status == "open" and session.url else None

    def expire(self, session_id: str) -> bool:
        """Close a session so it can no longer be paid; False when it was paid already
        (an expired one stays expired: True)."""
        try:
            client().v1.checkout.sessions.expire(session_id)
        except stripe.InvalidRequestError:  # not open: paid, or expired already
            return self.session_status(session_id) != "complete"
        return True

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
    """The event's JSON, if ``signature`` is Stripe's for ``payload`` under the shop's
    endpoint secret; raises ``ValueError`` otherwise (or when the shop has no secret),
    ``MalformedEvent`` when a signed body is not JSON."""
    secret = shop_secrets().webhook_secret
    if not secret:
        raise ValueError("no stripe.webhook_secret for this shop")
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, TOLERANCE)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    try:
        # Plain JSON, not stripe.Event: handle_event validates its shape strictly.
        return json.loads(payload)
    except (ValueError, RecursionError) as exc:  # not JSON, or nested past the parser
        raise MalformedEvent(type(exc).__name__) from None
