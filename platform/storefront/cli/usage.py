"""``tenantctl usage SHOP``: what one shop cost the platform, day by day, and what it
uses of its plan."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from ..metrics import usage as figures
from ..plans import services as plans
from ..tenancy.context import tenant_context
from ..tenancy.services import get_shop
from .common import JSON_OPTION, app_context, emit, err_console

COLUMNS = ["day", *figures.FIELDS]


def register(app: typer.Typer) -> None:
    app.command("usage")(usage)


def usage(
    slug: Annotated[str, typer.Argument(help="The shop.")],
    days: int = typer.Option(7, "--days", min=1, max=31, help="This many days, today first."),
    as_json: bool = JSON_OPTION,
) -> None:
    """A shop's requests, 5xx errors, worker seconds, SQL statements, rate-limit
    refusals, orders and failed webhooks and mails, per day (UTC), today first; then
    what it uses of each limit of its plan."""
    with app_context() as app:
        shop = get_shop(slug)
        slug = shop.slug
        rows = figures.days(shop.id, days)
        shared = figures.shared()
        with tenant_context(shop):
            plan = plans.current_plan()
            limits = plans.usage()
    kept = int(app.config.get("USAGE_RETENTION_DAYS", 8))
    total = figures.totals(rows)
    if as_json:
        document = {
            "shop": slug,
            "days": rows,
            "total": total,
            "shared": shared,
            "plan": {
                "name": plan.name,
                "label": plan.title,
                "limits": [
                    {"limit": u.limit, "used": u.used, "allowed": u.allowed, "more": u.more}
                    for u in limits
                ],
            },
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        emit([*rows, {"day": "total", **total}], False, COLUMNS, f"Usage of {slug}")
        emit(
            [{"limit": u.limit, "used": u.shown_used, "allowed": u.shown_allowed} for u in limits],
            False,
            ["limit", "used", "allowed"],
            f"Plan {plan.name} ({plan.title}) of {slug}",
        )
    if as_json:
        return  # "shared" says it
    if not shared:
        err_console.print(
            "note: without REDIS_URL each web process keeps its own figures, which this "
            "command cannot read (set STOREFRONT_REDIS_URL to gather them)",
            highlight=False,
        )
    elif days > kept:
        err_console.print(f"note: figures are kept {kept} days (USAGE_RETENTION_DAYS)")
