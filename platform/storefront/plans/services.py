"""Plan limits where a thing is made: ``check`` before it is written, in its transaction.

The layers that own each counted thing (products, staff accounts, webhook endpoints)
sit above this one, so they register how to count it (``counter``); this module never
imports them. Every count is bounded by the limit (``bounded_count``: at most
``limit + 1`` index entries read), so a shop of 200,000 products costs no more than a
small one; what cannot be counted by rows (mails a day, stored bytes) is a
``PlanCounter`` moved by a conditional UPDATE.

Two writers racing for the last unit: ``check`` locks the shop's registry row first
(``SELECT … FOR UPDATE``) when the plan limits what is asked, so on MariaDB the
second waits for the first to commit and then counts its row. Shops without a limit
take no lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import Select, case, func, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..problems import Refused
from ..tenancy.context import TenantContext, current_tenant
from ..tenancy.models import Domain, Tenant
from ..tenancy.registry import bump_generation, shop_by_slug
from .definitions import FEATURES, LIMITS, Plan, all_plans, plan_named
from .models import PlanCounter

log = logging.getLogger(__name__)

PLAN_LIMIT_REACHED = "plan_limit_reached"
# The feature that must be on before any of a limit's things is made.
FEATURE_OF = {"webhook_endpoints": "webhooks", "custom_domains": "custom_domains"}
# Counted as a running total or per UTC day, not by rows.
TOTALS = ("storage_bytes",)
DAILY = ("mails_per_day",)
# What the usage page counts up to for a plan with no limit (shown as "10,000+").
DISPLAY_CAP = 10_000

LABELS = {
    "products": lazy_gettext("Products"),
    "staff": lazy_gettext("Staff accounts"),
    "storage_bytes": lazy_gettext("Storage"),
    "api_requests_per_minute": lazy_gettext("API requests per minute"),
    "webhook_endpoints": lazy_gettext("Webhook endpoints"),
    "mails_per_day": lazy_gettext("Mails per day"),
    "custom_domains": lazy_gettext("Custom domains"),
    "languages": lazy_gettext("Languages"),
}
FEATURE_LABELS = {
    "api": lazy_gettext("the API"),
    "webhooks": lazy_gettext("webhooks"),
    "custom_domains": lazy_gettext("custom domains"),
}

Counter = Callable[[int | None], int]
COUNTERS: dict[str, Counter] = {}


def counter(limit: str) -> Callable[[Counter], Counter]:
    """Register how to count ``limit`` in the bound shop: a function of the bound (None:
    count everything) returning the count, at most ``bound`` + 1."""

    def register(fn: Counter) -> Counter:
        COUNTERS[limit] = fn
        return fn

    return register


def bounded_count(ids: Select[Any], bound: int | None) -> int:
    """``SELECT COUNT(*) FROM (ids LIMIT bound + 1)``: an index range read no further than
    the limit needs."""
    if bound is not None:
        ids = ids.limit(bound + 1)
    return int(db.session.scalar(select(func.count()).select_from(ids.subquery())) or 0)


class PlanLimitReached(Refused):
    """A change the shop's plan does not allow; ``str()`` names the limit (or feature),
    the plan, the numbers and the plan that lifts it, for a person; ``problem()`` the
    same for a program."""

    code = PLAN_LIMIT_REACHED  # type: ignore[assignment]

    def __init__(
        self,
        limit: str,
        plan: Plan,
        *,
        allowed: int | None = None,
        used: int | None = None,
        adding: int = 1,
        upgrade: Plan | None = None,
        feature: str | None = None,
    ) -> None:
        self.limit, self.plan, self.allowed, self.used = limit, plan, allowed, used
        self.adding, self.upgrade, self.feature = adding, upgrade, feature
        super().__init__(self._message())

    def _message(self) -> str:
        if self.feature is not None:
            text = _(
                "The plan “%(plan)s” does not include %(feature)s.",
                plan=self.plan.title,
                feature=FEATURE_LABELS[self.feature],
            )
        else:
            text = _(
                "Plan limit reached: %(limit)s. The plan “%(plan)s” allows %(allowed)s; "
                "%(used)s in use, %(adding)s more asked.",
                limit=LABELS[self.limit],
                plan=self.plan.title,
                allowed=number(self.limit, self.allowed),
                used=number(self.limit, self.used),
                adding=number(self.limit, self.adding),
            )
        if self.upgrade is not None:
            return text + " " + _("The plan “%(plan)s” lifts it.", plan=self.upgrade.title)
        return text + " " + _("No plan lifts it: ask the platform's operator.")

    def problem(self) -> dict[str, Any]:
        """The numbers, for an API answer's body."""
        found: dict[str, Any] = {"limit": self.feature or self.limit, "plan": self.plan.name}
        if self.feature is None:
            found.update(allowed=self.allowed, used=self.used, requested=self.adding)
        found["upgrade"] = self.upgrade.name if self.upgrade else None
        return found


def number(limit: str, value: int | None) -> str:
    """A figure as people read it: bytes in KB/MB/GB, the rest with separators."""
    if value is None:
        return "∞"
    if limit == "storage_bytes":
        size = float(value)
        for unit in ("B", "KB", "MB", "GB"):
            if size < 1000 or unit == "GB":
                return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
            size /= 1000
    return f"{value:,}"


def plan_of(shop: TenantContext | Tenant) -> Plan:
    """The plan a shop is on."""
    return plan_named(shop.plan)


def current_plan() -> Plan:
    """The bound shop's plan."""
    return plan_of(current_tenant())


def require(feature: str) -> None:
    """Refuse (PlanLimitReached) when the bound shop's plan leaves ``feature`` off."""
    if feature not in FEATURES:
        raise ValueError(f"unknown feature {feature!r}")
    plan = current_plan()
    if not plan.allows(feature):
        upgrade = all_plans().enabling(plan, feature)
        raise PlanLimitReached(feature, plan, upgrade=upgrade, feature=feature)


def check(limit: str, adding: int = 1, *, used: int | None = None) -> None:
    """Refuse (PlanLimitReached) when ``adding`` more of ``limit`` would pass the bound
    shop's plan; call it in the transaction that writes them, before writing. ``used``:
    the count when the caller has it (a shop's languages), else the registered counter
    counts. A plan that switches the limit's feature off allows none."""
    if limit not in LIMITS:
        raise ValueError(f"unknown limit {limit!r}")
    if adding <= 0:
        return
    plan = current_plan()
    feature = FEATURE_OF.get(limit)
    if feature is not None and not plan.allows(feature):
        upgrade = all_plans().enabling(plan, feature)
        raise PlanLimitReached(limit, plan, upgrade=upgrade, feature=feature)
    allowed = plan.limit(limit)
    if allowed is None:
        return
    _lock_shop()
    if used is None:
        used = count(limit, allowed)
    if used + adding > allowed:
        raise PlanLimitReached(
            limit,
            plan,
            allowed=allowed,
            used=used,
            adding=adding,
            upgrade=all_plans().lifting(plan, limit, used + adding),
        )


def _lock_shop() -> None:
    """Hold the shop's registry row until commit: the next writer counts after us."""
    db.session.execute(
        select(Tenant.id).where(Tenant.id == current_tenant().id).with_for_update()
    ).first()


def count(limit: str, bound: int | None = None) -> int:
    """How much of ``limit`` the bound shop uses now (at most ``bound`` + 1)."""
    if limit in TOTALS:
        return _counter_value(limit, "")
    if limit in DAILY:
        return _counter_value(limit, today())
    if limit == "languages":
        settings = current_tenant().settings
        return len(settings.all_locales) if settings else 1
    if limit == "custom_domains":
        return _custom_domains(bound)
    found = COUNTERS.get(limit)
    if found is None:
        raise LookupError(f"nothing counts {limit!r} (is its package imported?)")
    return found(bound)


def _custom_domains(bound: int | None) -> int:
    """Every domain of the shop but its first (the one it was made with)."""
    shop = current_tenant().id
    first = select(func.min(Domain.id)).where(Domain.tenant_id == shop).scalar_subquery()
    ids = select(Domain.id).where(Domain.tenant_id == shop, Domain.id != first)
    return bounded_count(ids, bound)


def today() -> str:
    return time.strftime("%Y%m%d", time.gmtime())


def _counter_value(name: str, day: str) -> int:
    value = db.session.scalar(
        select(PlanCounter.value).where(PlanCounter.name == name, PlanCounter.day == day)
    )
    return int(value or 0)


def _move(name: str, day: str, amount: int, allowed: int | None) -> bool:
    """Add ``amount`` to a counter unless that passes ``allowed``; whether it moved. One
    conditional UPDATE; the day's first unit inserts the row (in a savepoint: a racing
    insert loses, and the UPDATE is tried again)."""
    for _attempt in range(2):
        stmt = (
            update(PlanCounter)
            .where(PlanCounter.name == name, PlanCounter.day == day)
            .values(value=PlanCounter.value + amount)
            .execution_options(synchronize_session=False)
        )
        if allowed is not None:
            stmt = stmt.where(PlanCounter.value + amount <= allowed)
        if db.session.execute(stmt).rowcount:  # type: ignore[attr-defined]
            return True
        if _counter_exists(name, day):
            return False  # it would pass the limit
        if allowed is not None and amount > allowed:
            return False
        try:
            with db.session.begin_nested():
                db.session.add(PlanCounter(name=name, day=day, value=max(amount, 0)))
            return True
        except IntegrityError:
            continue  # another transaction made the row meanwhile: add to it
    return False


def _counter_exists(name: str, day: str) -> bool:
    return (
        db.session.scalar(
            select(PlanCounter.id).where(PlanCounter.name == name, PlanCounter.day == day)
        )
        is not None
    )


def take_mail() -> bool:
    """Count one mail against today's ``mails_per_day``; False when the day's allowance
    is spent (nothing counted). Shops whose plan has no such limit are not counted."""
    allowed = current_plan().mails_per_day
    if allowed is None:
        return True
    return _move("mails_per_day", today(), 1, allowed)


def charge_storage(size: int) -> None:
    """Count ``size`` more stored bytes, refusing (PlanLimitReached) past the plan's
    ``storage_bytes``. Kept whatever the plan, so a later plan sees what is stored."""
    plan = current_plan()
    allowed = plan.storage_bytes
    if not _move("storage_bytes", "", size, allowed):
        used = _counter_value("storage_bytes", "")
        assert allowed is not None  # noqa: S101 - an unlimited move always succeeds
        raise PlanLimitReached(
            "storage_bytes",
            plan,
            allowed=allowed,
            used=used,
            adding=size,
            upgrade=all_plans().lifting(plan, "storage_bytes", used + size),
        )


def release_storage(size: int) -> None:
    """Count ``size`` stored bytes fewer (files deleted), never below zero."""
    if size <= 0:
        return
    db.session.execute(
        update(PlanCounter)
        .where(PlanCounter.name == "storage_bytes", PlanCounter.day == "")
        .values(value=case((PlanCounter.value > size, PlanCounter.value - size), else_=0))
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Usage:
    """One limit of the bound shop: its use and its allowance (None: no limit)."""

    limit: str
    label: str
    used: int | None  # None: not counted (a rate)
    allowed: int | None
    more: bool = False  # counted only up to DISPLAY_CAP: there are more

    @property
    def share(self) -> float:
        """How full, 0..1 (0 without a limit)."""
        if self.allowed is None or self.used is None:
            return 0.0
        if self.allowed == 0:
            return 1.0 if self.used else 0.0
        return min(1.0, self.used / self.allowed)

    @property
    def shown_used(self) -> str:
        if self.used is None:
            return "—"
        return number(self.limit, self.used) + ("+" if self.more else "")

    @property
    def shown_allowed(self) -> str:
        return number(self.limit, self.allowed)


def usage() -> list[Usage]:
    """The bound shop's use of each limit of its plan, bounded counts only."""
    plan = current_plan()
    rows = []
    for limit in LIMITS:
        allowed = plan.limit(limit)
        if limit == "api_requests_per_minute":
            rows.append(Usage(limit, str(LABELS[limit]), None, allowed))
            continue
        bound = allowed if allowed is not None else DISPLAY_CAP
        try:
            used: int | None = count(limit, bound)
        except LookupError:  # its package is not loaded (a partial app in a test)
            used = None
        more = used is not None and limit in _ROWS and used > bound
        if more:
            used = bound
        rows.append(Usage(limit, str(LABELS[limit]), used, allowed, more))
    return rows


# Limits counted by rows (through COUNTERS or the domains table): bounded when shown.
_ROWS = ("products", "staff", "webhook_endpoints", "custom_domains")


def assign(slug: str, name: str | None) -> Plan:
    """Put shop ``slug`` on plan ``name`` (None: the default plan); the caller commits.
    Every worker sees it within ``REGISTRY_POLL_SECONDS``. A shop already past the new
    plan's limits keeps what it has and cannot add more."""
    tenant = shop_by_slug(slug)
    if tenant is None:
        raise LookupError(f"no shop with slug {slug!r}")
    found = all_plans()
    if name is not None and name not in found.plans:
        known = ", ".join(found.plans) or "none: make one with `tenantctl plan create`"
        raise LookupError(f"no plan {name!r} (plans: {known})")
    tenant.plan = name
    bump_generation()
    return plan_named(name)
