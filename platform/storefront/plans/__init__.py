"""Plans: what each shop may make and use (``plans.toml``), checked where it is made.

``check(limit)`` (before writing, in the same transaction) and ``require(feature)``
raise ``PlanLimitReached``; the dashboard flashes its message, the API answers 403
``plan_limit_reached`` (429 for the request rate) with the numbers, ``tenantctl`` prints
one line. See docs/operators.md ("Plans") and docs/decisions.md.
"""

from __future__ import annotations

from flask import Flask

from ..config import ConfigError
from . import receivers as _receivers  # noqa: F401 - connects to the tenancy signals
from .definitions import (
    FEATURES,
    LIMITS,
    UNLIMITED,
    Plan,
    PlansError,
    PlansFile,
    all_plans,
    plan_named,
    plans_path,
    read_plans,
)
from .services import (
    PLAN_LIMIT_REACHED,
    PlanLimitReached,
    Usage,
    bounded_count,
    charge_storage,
    check,
    count,
    counter,
    current_plan,
    plan_of,
    release_storage,
    require,
    take_mail,
    usage,
)

__all__ = [
    "FEATURES",
    "LIMITS",
    "PLAN_LIMIT_REACHED",
    "UNLIMITED",
    "Plan",
    "PlanLimitReached",
    "PlansError",
    "PlansFile",
    "Usage",
    "all_plans",
    "bounded_count",
    "charge_storage",
    "check",
    "count",
    "counter",
    "current_plan",
    "init_plans",
    "plan_named",
    "plan_of",
    "plans_path",
    "release_storage",
    "require",
    "take_mail",
    "usage",
]


def init_plans(app: Flask) -> None:
    """Refuse to start on a plans file that is not valid (each problem on its line)."""
    with app.app_context():
        try:
            read_plans(plans_path())
        except PlansError as exc:
            raise ConfigError(f"plans: {exc}") from None
