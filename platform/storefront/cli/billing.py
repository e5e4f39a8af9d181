"""``tenantctl billing``: shops by plan, status and billing state; comp, extend a trial,
suspend for non-payment, reinstate. Each act is written to the shop's audit trail with
the operator as its actor (the trail names ``tenantctl``'s command)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy import select

from ..billing import services as billing
from ..billing import stripe_api
from ..billing.models import ShopBilling
from ..db import unit_of_work
from ..extensions import db
from ..plans import all_plans, plan_named
from ..tenancy.models import Tenant
from ..tenancy.services import get_shop
from .common import JSON_OPTION, app_context, emit, fail, ok

app = typer.Typer(
    help="Billing of shops: states, comp, trials, suspension for non-payment.",
    no_args_is_help=True,
)
Slug = Annotated[str, typer.Argument(help="The shop.")]
STATE_NAMES = ", ".join(s or "none" for s in billing.STATES)
PAGE = 500  # rows a listing prints at most; filter or page with --after


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="billing")


def _act(slug: str, act: Any) -> Any:
    """Run one act on a shop as a unit of work; the operator's error as one line."""
    with app_context():
        try:
            return unit_of_work(lambda: act(get_shop(slug)))
        except billing.BillingError as exc:
            fail(str(exc))
        except (stripe_api.BillingUnavailable, stripe_api.BillingNotConfigured) as exc:
            fail(f"stripe: {exc}")
    return None


@app.command("list")
def list_(
    plan: Annotated[str | None, typer.Option("--plan", help="Only shops on this plan.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only shops with this status (active, …).")
    ] = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            help=f"Only this billing state: {', '.join(s or 'none' for s in billing.STATES)}.",
        ),
    ] = None,
    after: Annotated[str, typer.Option("--after", help="Shops after this slug (paging).")] = "",
    as_json: bool = JSON_OPTION,
) -> None:
    """Shops with their plan, status and billing state (at most 500 a call, by slug)."""
    if state is not None and (state if state != "none" else "") not in billing.STATES:
        fail(f"unknown billing state {state!r} (one of: {STATE_NAMES})")
    with app_context():
        default = all_plans().default
        stmt = (
            select(Tenant, ShopBilling)
            .outerjoin(ShopBilling, ShopBilling.tenant_id == Tenant.id)
            .where(Tenant.slug > after)
            .order_by(Tenant.slug)
            .limit(PAGE)
        )
        if plan is not None:
            if plan == default or plan == "default":
                stmt = stmt.where((Tenant.plan == plan_named(None).name) | Tenant.plan.is_(None))
            else:
                stmt = stmt.where(Tenant.plan == plan)
        if status is not None:
            stmt = stmt.where(Tenant.status == status)
        if state is not None:
            stmt = stmt.where(Tenant.billing_state == ("" if state == "none" else state))
        rows = [
            {
                "shop": t.slug,
                "plan": plan_named(t.plan).name,
                "status": t.status,
                "billing": t.billing_state or "none",
                "until": t.billing_until.strftime("%Y-%m-%d %H:%M") if t.billing_until else "",
                "subscription": b.subscription_id if b else "",
            }
            for t, b in db.session.execute(stmt).all()
        ]
    emit(rows, as_json, ["shop", "plan", "status", "billing", "until", "subscription"], "Billing")


@app.command("subscribe")
def subscribe(
    slug: Slug,
    plan: Annotated[str, typer.Option("--plan", help="A plan with a stripe_price.")],
    email: Annotated[str | None, typer.Option("--email", help="The bill's address.")] = None,
) -> None:
    """Start the shop's Stripe subscription on a plan, with the plan's trial."""

    def act(tenant: Tenant) -> str:
        found = all_plans().plans.get(plan)
        if found is None:
            raise billing.BillingError(f"no plan {plan!r}")
        return billing.start_subscription(tenant, found, email)

    state = _act(slug, act)
    ok(f"{slug} subscribed to {plan}: {state}")


@app.command("comp")
def comp(
    slug: Slug,
    plan: Annotated[str | None, typer.Option("--plan", help="Put it on this plan too.")] = None,
) -> None:
    """Bill the shop nothing (no Stripe): it is never closed for non-payment."""

    def act(tenant: Tenant) -> None:
        found = None
        if plan is not None:
            found = all_plans().plans.get(plan)
            if found is None:
                raise billing.BillingError(f"no plan {plan!r}")
        billing.comp(tenant, found)

    _act(slug, act)
    ok(f"{slug} is comped" + (f" on plan {plan}" if plan else ""))


@app.command("uncomp")
def uncomp(slug: Slug) -> None:
    """End a comp: the shop's Stripe subscription (if any) bills it again."""
    _act(slug, billing.uncomp)
    ok(f"{slug} is no longer comped")


@app.command("extend-trial")
def extend_trial(
    slug: Slug,
    days: Annotated[int, typer.Option("--days", help="Days added to the trial (1-365).")],
) -> None:
    """Push the shop's trial end later (at Stripe too)."""
    until = _act(slug, lambda tenant: billing.extend_trial(tenant, days))
    ok(f"{slug}'s trial ends {until:%Y-%m-%d %H:%M} UTC")


@app.command("suspend")
def suspend(slug: Slug) -> None:
    """Close the shop to shoppers for non-payment now (its owner can still sign in and pay)."""
    _act(slug, billing.suspend)
    ok(f"{slug} is suspended for non-payment: shoppers see its closed page")


@app.command("reinstate")
def reinstate(slug: Slug) -> None:
    """Open a shop closed or suspended for non-payment."""
    _act(slug, billing.reinstate)
    ok(f"{slug} is open again")
