"""Billing of shops: a Stripe subscription per shop, its plan, and where dunning stands.

Stripe is the truth of what was paid; ``Tenant.billing_state`` is what the platform does
about it (``billing_until``: the end of the trial or of the grace period). Every change
of state goes through ``set_state``, which the registry carries to every worker. The
owner's actions (upgrade, card, invoices) call Stripe and apply its answer with the same
function its webhook events go through (``apply_subscription``), so a page and a
late event cannot disagree. Services flush; the request, the job or ``tenantctl``
commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from .. import clock
from ..audit.recorder import record_event
from ..extensions import db
from ..plans import Plan, all_plans
from ..tenancy.models import Tenant
from ..tenancy.registry import bump_generation
from . import stripe_api
from .models import ShopBilling

log = logging.getLogger(__name__)

STATES = ("", "trialing", "active", "past_due", "closed", "suspended", "comped")
# Stripe's subscription status -> the platform's state (past_due is dunning's business).
FROM_STRIPE = {"trialing": "trialing", "active": "active", "past_due": "past_due"}
UNPAID = ("past_due", "closed", "suspended")


class BillingError(ValueError):
    """What an owner or operator asked cannot be done; ``str()`` is one line."""


@dataclass(frozen=True)
class Invoice:
    number: str
    created: datetime
    amount: int  # the smallest unit of ``currency``
    currency: str
    status: str
    url: str | None  # Stripe's hosted page
    pdf: str | None


def grace_days() -> int:
    return max(0, int(current_app.config.get("BILLING_GRACE_DAYS", 7)))


def account(tenant: Tenant) -> ShopBilling | None:
    return db.session.scalar(select(ShopBilling).where(ShopBilling.tenant_id == tenant.id))


def _account_or_new(tenant: Tenant) -> ShopBilling:
    row = account(tenant)
    if row is None:
        row = ShopBilling(tenant_id=tenant.id)
        db.session.add(row)
    return row


def set_state(tenant: Tenant, state: str, until: datetime | None = None, why: str = "") -> None:
    """Move the shop's billing state (recorded in its trail, seen by every worker)."""
    old, old_until = tenant.billing_state or "", tenant.billing_until
    if (old, old_until) == (state, until):
        return
    tenant.billing_state, tenant.billing_until = state, until
    record_event(
        "billing_state",
        tenant.slug,
        {"state": (old, state), "until": (_iso(old_until), _iso(until))},
        tenant_id=tenant.id,
        why=why,
    )
    bump_generation()
    db.session.flush()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def set_plan(tenant: Tenant, plan: str | None, why: str = "") -> None:
    if tenant.plan == plan:
        return
    record_event("plan", tenant.slug, {"plan": (tenant.plan, plan)}, tenant_id=tenant.id, why=why)
    tenant.plan = plan
    bump_generation()


def plan_for_price(price: str | None) -> Plan | None:
    """The plan sold at Stripe price ``price`` (None: no plan has it)."""
    if not price:
        return None
    return next((p for p in all_plans().plans.values() if p.stripe_price == price), None)


# Subscriptions ------------------------------------------------------------------------


def _stamp(value: Any) -> datetime | None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return None
    return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)


def _price_of(subscription: dict[str, Any]) -> str | None:
    items = (subscription.get("items") or {}).get("data") or []
    price = items[0].get("price") if items and isinstance(items[0], dict) else None
    if isinstance(price, dict):
        return price.get("id") if isinstance(price.get("id"), str) else None
    return price if isinstance(price, str) else None


def apply_subscription(tenant: Tenant, subscription: dict[str, Any], why: str) -> str:
    """Make the shop's plan and state what Stripe says of its subscription; the outcome."""
    row = _account_or_new(tenant)
    row.subscription_id = str(subscription["id"])
    status = str(subscription.get("status") or "")
    row.status = status
    row.trial_end = _stamp(subscription.get("trial_end"))
    price = _price_of(subscription)
    if tenant.billing_state == "comped":
        return "comped"  # the operator's word stands over Stripe's
    if status in ("canceled", "incomplete_expired"):
        row.subscription_id, row.price_id = None, None
        set_plan(tenant, None, why)  # back to the default plan
        set_state(tenant, "", None, why)
        return "canceled"
    plan = plan_for_price(price)
    if plan is not None:
        row.price_id = price
        set_plan(tenant, plan.name, why)
    state = FROM_STRIPE.get(status)
    if state == "past_due" or status == "unpaid":
        return past_due(tenant, why)
    if state == "trialing":
        set_state(tenant, "trialing", row.trial_end, why)
    elif state == "active" and tenant.billing_state != "suspended":
        set_state(tenant, "active", None, why)
    return state or status


def past_due(tenant: Tenant, why: str) -> str:
    """A payment failed: the grace period starts (once; a second failure keeps its end)."""
    row = _account_or_new(tenant)
    if tenant.billing_state in (*UNPAID, "comped"):
        return tenant.billing_state
    row.past_due_since = clock.now()
    set_state(tenant, "past_due", clock.now() + timedelta(days=grace_days()), why)
    return "past_due"


def paid(tenant: Tenant, why: str) -> str:
    """An invoice was paid: an unpaid shop is open again."""
    row = _account_or_new(tenant)
    if tenant.billing_state in UNPAID:
        row.past_due_since = None
        set_state(tenant, "active", None, why)
        return "reopened"
    return "unchanged"


def start_subscription(tenant: Tenant, plan: Plan, email: str | None) -> str:
    """A new shop on a paid plan: its Stripe customer and a subscription with the plan's
    trial (no card needed until it ends). Returns the state."""
    if not plan.stripe_price:
        raise BillingError(f"plan {plan.name} has no stripe_price")
    row = ensure_customer(tenant, email)
    if row.subscription_id:
        raise BillingError(f"{tenant.slug} has a subscription already")
    params: dict[str, Any] = {
        "customer": row.customer_id,
        "items": [{"price": plan.stripe_price}],
        "metadata": {"shop": tenant.uid},
    }
    if plan.trial_days:
        params["trial_period_days"] = plan.trial_days
    sub = stripe_api.call(
        stripe_api.client().v1.subscriptions.create,
        params=params,
        options={"idempotency_key": f"billing-sub-{tenant.uid}-{plan.name}"},
    )
    return apply_subscription(tenant, _plain(sub), "subscribed")


def ensure_customer(tenant: Tenant, email: str | None) -> ShopBilling:
    row = _account_or_new(tenant)
    if not row.customer_id:
        params: dict[str, Any] = {"name": tenant.name[:200], "metadata": {"shop": tenant.uid}}
        if email:
            params["email"] = email
        customer = stripe_api.call(
            stripe_api.client().v1.customers.create,
            params=params,
            options={"idempotency_key": f"billing-customer-{tenant.uid}"},
        )
        row.customer_id = str(customer.id)
        db.session.flush()
    return row


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def change_plan(tenant: Tenant, plan: Plan, return_url: str) -> str | None:
    """Move the shop to ``plan``. With a subscription: Stripe moves it now, prorated, and
    its answer is applied (None). Without one: the URL of Stripe's hosted Checkout, where
    the owner gives a card; the webhook applies the plan when it is paid."""
    if not stripe_api.configured():
        raise BillingError("billing is not set up on this platform")
    if tenant.billing_state == "comped":
        raise BillingError("comped")
    if not plan.stripe_price:
        raise BillingError(f"plan {plan.name} is not sold")
    row = account(tenant)
    if row is not None and row.subscription_id:
        api = stripe_api.client().v1.subscriptions
        current = stripe_api.call(api.retrieve, row.subscription_id)
        item = _plain(current)["items"]["data"][0]["id"]
        sub = stripe_api.call(
            api.update,
            row.subscription_id,
            params={
                "items": [{"id": item, "price": plan.stripe_price}],
                "proration_behavior": "create_prorations",
                "metadata": {"shop": tenant.uid},
            },
        )
        apply_subscription(tenant, _plain(sub), f"plan changed to {plan.name}")
        return None
    row = ensure_customer(tenant, None)
    session = stripe_api.call(
        stripe_api.client().v1.checkout.sessions.create,
        params={
            "mode": "subscription",
            "customer": row.customer_id,
            "line_items": [{"price": plan.stripe_price, "quantity": 1}],
            "subscription_data": {"metadata": {"shop": tenant.uid}},
            "metadata": {"shop": tenant.uid, "plan": plan.name},
            "success_url": return_url,
            "cancel_url": return_url,
        },
    )
    return str(session.url)


def portal_url(tenant: Tenant, return_url: str) -> str:
    """Stripe's hosted Billing Portal for the shop's customer: card, invoices, paying."""
    row = account(tenant)
    if row is None or not row.customer_id:
        raise BillingError("no billing account yet")
    session = stripe_api.call(
        stripe_api.client().v1.billing_portal.sessions.create,
        params={"customer": row.customer_id, "return_url": return_url},
    )
    return str(session.url)


def invoices(tenant: Tenant, limit: int = 24) -> list[Invoice]:
    """The shop's latest invoices from Stripe, newest first (bounded)."""
    row = account(tenant)
    if row is None or not row.customer_id or not stripe_api.configured():
        return []
    found = stripe_api.call(
        stripe_api.client().v1.invoices.list,
        params={"customer": row.customer_id, "limit": limit},
    )
    result = []
    for inv in _plain(found).get("data", [])[:limit]:
        result.append(
            Invoice(
                number=str(inv.get("number") or inv.get("id")),
                created=_stamp(inv.get("created")) or clock.now(),
                amount=int(inv.get("amount_due") or 0),
                currency=str(inv.get("currency") or "usd").upper(),
                status=str(inv.get("status") or ""),
                url=_https_or_none(inv.get("hosted_invoice_url")),
                pdf=_https_or_none(inv.get("invoice_pdf")),
            )
        )
    return result


def _https_or_none(url: Any) -> str | None:
    """Only web addresses go into a link (an answer is data, not markup)."""
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


# Dunning ------------------------------------------------------------------------------


def dunning_step(tenant: Tenant, now: datetime | None = None) -> str | None:
    """Move a shop whose grace period is over to closed; the new state, or None."""
    now = now or clock.now()
    if tenant.billing_state == "past_due" and tenant.billing_until and tenant.billing_until <= now:
        set_state(tenant, "closed", None, "grace period over")
        return "closed"
    return None


# The operator's acts (tenantctl billing) ----------------------------------------------


def comp(tenant: Tenant, plan: Plan | None) -> None:
    """Free of charge, no Stripe: the shop keeps (or gets) ``plan`` and is never closed."""
    if plan is not None:
        set_plan(tenant, plan.name, "comped")
    set_state(tenant, "comped", None, "comped by the operator")


def uncomp(tenant: Tenant) -> None:
    if tenant.billing_state != "comped":
        raise BillingError(f"{tenant.slug} is not comped")
    row = account(tenant)
    state = FROM_STRIPE.get(row.status, "") if row and row.subscription_id else ""
    set_state(tenant, state, row.trial_end if state == "trialing" and row else None, "uncomped")


def extend_trial(tenant: Tenant, days: int) -> datetime:
    """Push the trial's end ``days`` later (at Stripe too, when the shop subscribes)."""
    if days < 1 or days > 365:
        raise BillingError("days must be between 1 and 365")
    if tenant.billing_state not in ("trialing", ""):
        raise BillingError(
            f"{tenant.slug} is not on a trial (billing state: {tenant.billing_state})"
        )
    start = max(tenant.billing_until or clock.now(), clock.now())
    until = start + timedelta(days=days)
    row = account(tenant)
    if row is not None and row.subscription_id:
        stripe_api.call(
            stripe_api.client().v1.subscriptions.update,
            row.subscription_id,
            params={
                "trial_end": int(until.replace(tzinfo=UTC).timestamp()),
                "proration_behavior": "none",
            },
        )
        row.trial_end = until
    set_state(tenant, "trialing", until, f"trial extended by {days} days")
    return until


def suspend(tenant: Tenant) -> None:
    """Closed to shoppers for non-payment now (the owner can still sign in and pay)."""
    if tenant.billing_state == "suspended":
        raise BillingError(f"{tenant.slug} is suspended for non-payment already")
    set_state(tenant, "suspended", None, "suspended for non-payment by the operator")


def reinstate(tenant: Tenant) -> None:
    """Open a shop closed or suspended for non-payment (what Stripe says next still counts)."""
    if tenant.billing_state not in UNPAID:
        raise BillingError(f"{tenant.slug} is not closed for non-payment")
    row = account(tenant)
    if row is not None:
        row.past_due_since = None
    set_state(tenant, "active", None, "reinstated by the operator")
