"""The platform's own Stripe account: the calls billing makes, nothing else.

The same ``stripe`` client as the shops' card payments (orders/stripe_payment.py), with
the platform's key (``BILLING_STRIPE_SECRET_KEY``) instead of a shop's; the tests change
only ``STRIPE_API_BASE`` (tests/fixtures/stripe_fake.py). Every call that creates
something carries an idempotency key, so a retried click never makes two.
"""

from __future__ import annotations

import json
from typing import Any

import stripe
from flask import current_app

TOLERANCE = 300  # seconds a signed event stays valid (Stripe's default): no old replays


class BillingNotConfigured(RuntimeError):
    """The platform has no Stripe key: no shop is billed."""


class BillingUnavailable(RuntimeError):
    """Stripe did not answer, or refused: the owner is told to try again."""


def configured() -> bool:
    """Whether the operator set the platform's Stripe key (billing is on)."""
    return bool(current_app.config.get("BILLING_STRIPE_SECRET_KEY"))


def client() -> stripe.StripeClient:
    key = current_app.config.get("BILLING_STRIPE_SECRET_KEY")
    if not key:
        raise BillingNotConfigured("no BILLING_STRIPE_SECRET_KEY: billing is off")
    base = current_app.config.get("STRIPE_API_BASE")
    options: dict[str, Any] = {"base_addresses": {"api": base}} if base else {}
    return stripe.StripeClient(str(key), max_network_retries=2, **options)


def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """One Stripe call; Stripe's errors become ``BillingUnavailable`` (one line)."""
    try:
        return fn(*args, **kwargs)
    except stripe.StripeError as exc:
        raise BillingUnavailable(str(exc.user_message or exc).splitlines()[0][:200]) from None


def verify(payload: bytes, signature: str) -> Any:
    """The event's JSON when ``signature`` is Stripe's for ``payload`` under the
    platform's endpoint secret; ``ValueError`` otherwise (also with no secret set)."""
    secret = current_app.config.get("BILLING_STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise ValueError("no BILLING_STRIPE_WEBHOOK_SECRET")
    try:
        stripe.WebhookSignature.verify_header(payload, signature, str(secret), TOLERANCE)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    try:
        return json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"not JSON ({type(exc).__name__})") from None
