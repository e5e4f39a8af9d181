"""``plans.toml``: the plans an operator sells, read from the instance folder.

A plan names limits (a whole number each; left out: no limit) and the features it
switches on. The file is validated like ``tenant.toml``: each problem is one line naming
the file, the key and what was expected. Without a file every shop is on ``UNLIMITED``,
so an installation that sells nothing behaves as before.

Plans are listed from the smallest to the largest: "the plan that lifts a limit" is the
first one after the shop's own (in the file's order) that allows what was asked.

The file is read once and again only when it changes (its modification time and size,
looked at no more than once a second): a ``tenantctl plan`` edit reaches every worker
within about a second. A file broken by hand after a good read keeps the last good
plans (logged); a file broken from the start stops the app from starting
(``init_plans``) and ``tenantctl plan`` refuses to write one.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import tomllib
from pathlib import Path
from typing import Annotated, Any

from flask import current_app, has_app_context
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

log = logging.getLogger(__name__)

PLANS_FILE = "plans.toml"
# The limits a plan may set, in the order pages and tables show them.
LIMITS = (
    "products",
    "staff",
    "storage_bytes",
    "api_requests_per_minute",
    "webhook_endpoints",
    "mails_per_day",
    "custom_domains",
    "languages",
)
# Parts of the platform a plan switches on; a plan without ``features`` has them all.
FEATURES = ("api", "webhooks", "custom_domains")
PLAN_NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
MAX_LIMIT = 10**15  # far past any shop; keeps the numbers in a BIGINT
MAX_PLANS = 100
CHECK_INTERVAL = 1.0

Limit = Annotated[int, Field(ge=0, le=MAX_LIMIT)]


class PlansError(ValueError):
    """The plans file (or a change to it) is not valid; ``str()`` is one line a problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Plan(BaseModel):
    """One plan: its label, its limits (None: none) and its features."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str = ""  # filled from the table's key
    label: str = Field("", max_length=100)
    products: Limit | None = None
    staff: Annotated[int, Field(ge=1, le=MAX_LIMIT)] | None = None  # the owner is one
    storage_bytes: Limit | None = None
    api_requests_per_minute: Annotated[int, Field(ge=1, le=MAX_LIMIT)] | None = None
    webhook_endpoints: Limit | None = None
    mails_per_day: Limit | None = None
    custom_domains: Limit | None = None
    languages: Annotated[int, Field(ge=1, le=MAX_LIMIT)] | None = None
    features: tuple[str, ...] = FEATURES
    # Billing (storefront.billing): the platform's Stripe price of the plan (none: the
    # plan is free, no subscription) and the days of trial a new subscription starts with.
    stripe_price: str | None = Field(None, pattern=r"^[A-Za-z0-9_]{1,100}$")
    trial_days: Annotated[int, Field(ge=0, le=730)] = 0

    @field_validator("features", mode="before")
    @classmethod
    def _known_features(cls, value: Any) -> Any:
        if isinstance(value, list):
            unknown = [f for f in value if f not in FEATURES]
            if unknown:
                raise ValueError(
                    f"unknown feature {unknown[0]!r} (expected some of: {', '.join(FEATURES)})"
                )
            return tuple(dict.fromkeys(value))
        return value

    def limit(self, name: str) -> int | None:
        """The plan's allowance of ``name`` (None: no limit)."""
        return getattr(self, name)  # type: ignore[no-any-return]

    def allows(self, feature: str) -> bool:
        return feature in self.features

    @property
    def title(self) -> str:
        return self.label or self.name


UNLIMITED = Plan(name="unlimited", label="Unlimited")


class PlansFile(BaseModel):
    """The whole file: the plan of shops that name none, and the plans in order."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    default: str | None = None
    plans: dict[Annotated[str, Field(pattern=PLAN_NAME)], Plan] = Field({}, max_length=MAX_PLANS)

    @field_validator("plans", mode="before")
    @classmethod
    def _named(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: {**table, "name": key} if isinstance(table, dict) else table
                for key, table in value.items()
            }
        return value

    @model_validator(mode="after")
    def _known_default(self) -> PlansFile:
        if self.default is not None and self.default not in self.plans:
            raise ValueError(f"default: no plan named {self.default!r}")
        return self

    def named(self, name: str | None) -> Plan | None:
        """The plan called ``name``; None (or a name not in the file): the default plan,
        else ``UNLIMITED``. Unknown names are logged: a plan taken out of the file by hand
        must not lift every limit silently, nor lock its shops out."""
        if name and name in self.plans:
            return self.plans[name]
        if name:
            log.error("plan %r is not in the plans file: its shops get the default plan", name)
        if self.default:
            return self.plans[self.default]
        return None

    def lifting(self, current: Plan, limit: str, needed: int) -> Plan | None:
        """The first plan after ``current`` that allows ``needed`` of ``limit``."""
        order = list(self.plans.values())
        after = order[order.index(current) + 1 :] if current in order else order
        for plan in after:
            allowed = plan.limit(limit)
            if allowed is None or allowed >= needed:
                return plan
        return None

    def enabling(self, current: Plan, feature: str) -> Plan | None:
        """The first plan after ``current`` with ``feature`` on."""
        order = list(self.plans.values())
        after = order[order.index(current) + 1 :] if current in order else order
        return next((plan for plan in after if plan.allows(feature)), None)


def parse_plans(text: str, source: str) -> PlansFile:
    """Parse and validate the plans file's text; ``source`` names the file in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlansError([f"{source}: invalid TOML: {exc}"]) from None
    try:
        return PlansFile.model_validate(data)
    except ValidationError as exc:
        raise PlansError([_describe(source, err) for err in exc.errors()]) from None


def _describe(source: str, err: Any) -> str:
    key = ".".join(str(part) for part in err["loc"] if part != "[key]") or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{source}: {key}: unknown key"
    message = str(err["msg"]).removeprefix("Value error, ")
    message = message.replace("Input should be", "expected")
    if kind not in ("value_error",):
        message += f", got {err.get('input')!r}"
    return f"{source}: {key}: {message}"


def plans_path() -> Path:
    """Where the plans file is: ``PLANS_FILE`` if set, else the instance folder's."""
    configured = current_app.config.get("PLANS_FILE")
    return Path(configured) if configured else Path(current_app.instance_path) / PLANS_FILE


def read_plans(path: Path) -> PlansFile:
    """The plans in ``path`` (no file: none); PlansError when it is not valid."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return PlansFile()
    except (OSError, UnicodeDecodeError) as exc:
        raise PlansError([f"{path}: unreadable ({exc})"]) from None
    return parse_plans(text, str(path))


class _Cache:
    """The last good plans of each file this process read, re-read when it changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[Path, tuple[tuple[int, int] | None, PlansFile, float]] = {}

    def get(self, path: Path) -> PlansFile:
        now = time.monotonic()
        known = self._known.get(path)
        if known is not None and now - known[2] < CHECK_INTERVAL:
            return known[1]
        try:
            stat = os.stat(path)
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = None
        if known is not None and known[0] == stamp:
            with self._lock:
                self._known[path] = (stamp, known[1], now)
            return known[1]
        try:
            plans = read_plans(path)
        except PlansError as exc:
            if known is None:
                raise
            log.error("plans file not reloaded, the last good one stays: %s", exc)
            plans, stamp = known[1], known[0]
        with self._lock:
            self._known[path] = (stamp, plans, now)
        return plans

    def forget(self) -> None:
        with self._lock:
            self._known.clear()


_cache = _Cache()


def all_plans() -> PlansFile:
    """The installation's plans (re-read when the file changed)."""
    if not has_app_context():
        return PlansFile()
    return _cache.get(plans_path())


def forget_cached() -> None:
    """Read the file again at the next look (after ``tenantctl plan`` wrote it)."""
    _cache.forget()


def plan_named(name: str | None) -> Plan:
    """The plan a shop recording ``name`` is on (see ``PlansFile.named``)."""
    return all_plans().named(name) or UNLIMITED
