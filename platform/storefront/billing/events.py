"""The platform's Stripe events: each handled once, and only for its own shop.

A signature proves an event came from the platform's Stripe account; it does not prove
which shop it is about. The shop is the one whose stored customer (or subscription) the
event names, and when the event carries our ``metadata.shop`` it must be that same shop:
an event whose ids and metadata disagree is refused, never applied. Each event id is
recorded in ``billing_events`` in the transaction that applies it, so a replay (or
Stripe's retry of a delivered event) changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..tenancy.models import Tenant
from . import services
from .models import BillingEvent, ShopBilling

log = logging.getLogger(__name__)

HANDLED = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.trial_will_end",
    "invoice.paid",
    "invoice.payment_failed",
    "checkout.session.completed",
)


class MalformedEvent(ValueError):
    """Signed, but not shaped like a Stripe event: answered 400."""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 100 else None


def handle(payload: Any) -> str:
    """Apply a verified event at most once; what came of it. Flushes; the caller commits."""
    if not isinstance(payload, dict):
        raise MalformedEvent("not an object")
    event_id, kind = _text(payload.get("id")), _text(payload.get("type"))
    obj = (
        (payload.get("data") or {}).get("object") if isinstance(payload.get("data"), dict) else None
    )
    if not event_id or not kind or not isinstance(obj, dict):
        raise MalformedEvent("no id, type or object")
    if kind not in HANDLED:
        return "ignored"
    row = BillingEvent(event_id=event_id, kind=kind)
    try:
        with db.session.begin_nested():  # a replay rolls back this row alone
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return "replayed"
    tenant, why = _shop_of(kind, obj)
    if tenant is None:
        row.outcome = f"refused:{why}"
        log.warning("billing event %s (%s) refused: %s", event_id, kind, why)
        return row.outcome
    row.tenant_id = tenant.id
    row.outcome = _apply(tenant, kind, obj, f"stripe {kind} {event_id}")
    db.session.flush()
    return row.outcome


def _shop_of(kind: str, obj: dict[str, Any]) -> tuple[Tenant | None, str]:
    """The shop the event's object belongs to, by our stored ids; and its metadata agrees."""
    customer = _text(obj.get("customer"))
    if kind.startswith("customer.subscription."):
        subscription = _text(obj.get("id"))
    else:
        subscription = _text(obj.get("subscription"))
    conditions = []
    if subscription:
        conditions.append(ShopBilling.subscription_id == subscription)
    if customer:
        conditions.append(ShopBilling.customer_id == customer)
    if not conditions:
        return None, "no_customer"
    rows = list(db.session.scalars(select(ShopBilling).where(or_(*conditions)).limit(3)))
    if len({r.tenant_id for r in rows}) != 1:
        return None, "unknown_customer" if not rows else "ambiguous"
    account = rows[0]
    if customer and account.customer_id != customer:
        return None, "other_customer"  # a known subscription under someone else's customer
    if (
        subscription
        and account.subscription_id
        and account.subscription_id != subscription
        and kind != "checkout.session.completed"
        and kind != "customer.subscription.created"
    ):
        return None, "other_subscription"
    tenant = db.session.get(Tenant, account.tenant_id)
    if tenant is None:
        return None, "unknown_shop"
    metadata = obj.get("metadata")
    claimed = metadata.get("shop") if isinstance(metadata, dict) else None
    if claimed is not None and claimed != tenant.uid:
        return None, "other_shop"
    return tenant, ""


def _apply(tenant: Tenant, kind: str, obj: dict[str, Any], why: str) -> str:
    if kind.startswith("customer.subscription."):
        if kind.endswith("trial_will_end"):
            return "noted"
        if kind.endswith("deleted"):
            obj = {**obj, "status": "canceled"}
        return services.apply_subscription(tenant, obj, why)
    if kind == "invoice.paid":
        return services.paid(tenant, why)
    if kind == "invoice.payment_failed":
        return services.past_due(tenant, why)
    # checkout.session.completed: the subscription the owner just paid for is the shop's.
    subscription = _text(obj.get("subscription"))
    if obj.get("mode") != "subscription" or not subscription:
        return "ignored"
    account = services.account(tenant)
    if account is not None:
        account.subscription_id = subscription
    return "linked"
