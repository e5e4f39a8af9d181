"""The plan's word where tenancy acts: it sits below this package, so it announces what
it is about to do (``tenancy.signals``) and the receivers here refuse by raising."""

from __future__ import annotations

from typing import Any

from ..tenancy.context import tenant_context
from ..tenancy.models import Tenant
from ..tenancy.settings import ShopSettings
from ..tenancy.signals import domain_adding, settings_saving, shop_rows_imported
from .definitions import all_plans
from .services import PlanLimitReached, check, count, current_plan

# What an archive brings that its plan limits (rows; the rest is counted as it is used).
ARCHIVE_LIMITS = ("products", "staff", "webhook_endpoints")


@domain_adding.connect
def _domain(tenant: Tenant, hostname: str, **_kwargs: Any) -> None:
    with tenant_context(tenant):
        check("custom_domains")


@settings_saving.connect
def _languages(
    slug: str, settings: ShopSettings, previous: ShopSettings | None, **_kwargs: Any
) -> None:
    """More languages than before: within the plan's ``languages``. Fewer or as many pass
    (a shop over a smaller plan's limit can still edit anything else)."""
    had = len(previous.all_locales) if previous else 1
    wanted = len(settings.all_locales)
    if wanted > had:
        with tenant_context(slug):
            check("languages", wanted - had, used=had)


@shop_rows_imported.connect
def _archive(tenant: Tenant, **_kwargs: Any) -> None:
    """A shop archive's rows are in, not committed: refuse (all of it) when they pass the
    new shop's plan, naming what and how much."""
    with tenant_context(tenant):
        plan = current_plan()
        for limit in ARCHIVE_LIMITS:
            allowed = plan.limit(limit)
            if allowed is None:
                continue
            brought = count(limit, allowed)
            if brought > allowed:
                brought = count(limit)  # the whole number, for the message (an import only)
                raise PlanLimitReached(
                    limit,
                    plan,
                    allowed=allowed,
                    used=0,
                    adding=brought,
                    upgrade=all_plans().lifting(plan, limit, brought),
                )
