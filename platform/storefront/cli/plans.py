"""``tenantctl plan``: the plans shops can be on (the plans file), and a shop's plan."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy import func, select

from ..extensions import db
from ..plans import FEATURES, LIMITS, Plan, PlansError, all_plans, plans_path
from ..plans import services as plans
from ..plans.edit import parse_features, parse_limit, write_plan
from ..tenancy.context import tenant_context
from ..tenancy.models import Tenant
from .common import JSON_OPTION, app_context, emit, fail, ok

app = typer.Typer(help="Plans: their limits and features (the plans file).", no_args_is_help=True)

LIMIT_HELP = "A whole number, or 'none' for no limit."
Products = Annotated[str | None, typer.Option("--products", help=LIMIT_HELP)]
Staff = Annotated[str | None, typer.Option("--staff", help="Staff accounts (the owner is one).")]
Storage = Annotated[
    str | None, typer.Option("--storage-bytes", help="Bytes of media uploads (5GB, 500MB).")
]
ApiRate = Annotated[str | None, typer.Option("--api-requests-per-minute", help=LIMIT_HELP)]
Webhooks = Annotated[str | None, typer.Option("--webhook-endpoints", help=LIMIT_HELP)]
Mails = Annotated[str | None, typer.Option("--mails-per-day", help=LIMIT_HELP)]
Domains = Annotated[
    str | None, typer.Option("--custom-domains", help="Domains beyond the shop's first.")
]
Languages = Annotated[str | None, typer.Option("--languages", help=LIMIT_HELP)]
Features = Annotated[
    str | None,
    typer.Option("--features", help=f"Comma-separated, some of {', '.join(FEATURES)}; or none."),
]
Label = Annotated[str | None, typer.Option("--label", help="The name owners see.")]
Default = Annotated[bool, typer.Option("--default", help="The plan of every shop that names none.")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="plan")
    root.command("set-plan")(set_plan)


def _row(plan: Plan, default: str | None, shops: dict[str | None, int]) -> dict[str, Any]:
    row: dict[str, Any] = {"plan": plan.name, "label": plan.title}
    for limit in LIMITS:
        value = plan.limit(limit)
        row[limit] = "none" if value is None else value
    row["features"] = list(plan.features)
    row["default"] = plan.name == default
    row["shops"] = shops.get(plan.name, 0) + (shops.get(None, 0) if plan.name == default else 0)
    return row


def _shops_per_plan() -> dict[str | None, int]:
    return dict(db.session.execute(select(Tenant.plan, func.count()).group_by(Tenant.plan)).all())  # type: ignore[arg-type]


@app.command("list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """Every plan, smallest first, with its limits, features and how many shops are on it."""
    with app_context():
        found = all_plans()
        rows = [_row(p, found.default, _shops_per_plan()) for p in found.plans.values()]
        where = plans_path()
    if not rows and not as_json:
        ok(f"no plans ({where} does not exist): every shop has no limits")
        return
    emit(rows, as_json, ["plan", "label", *LIMITS, "features", "default", "shops"], "Plans")


@app.command("show")
def show(name: str, as_json: bool = JSON_OPTION) -> None:
    """One plan's limits and features."""
    with app_context():
        found = all_plans()
        plan = found.plans.get(name)
        if plan is None:
            fail(f"no plan {name!r} (plans: {', '.join(found.plans) or 'none'})")
        assert plan is not None  # noqa: S101 - fail() exits
        row = _row(plan, found.default, _shops_per_plan())
    if as_json:
        emit([row], True, [])
        return
    emit([{"key": k, "value": v} for k, v in row.items()], False, ["key", "value"], name)


def _limits(values: dict[str, str | None]) -> dict[str, int | None]:
    return {name: parse_limit(name, raw) for name, raw in values.items() if raw is not None}


def _write(
    name: str,
    create: bool,
    label: str | None,
    raw: dict[str, str | None],
    features: str | None,
    default: bool,
) -> None:
    with app_context():
        try:
            plan = write_plan(
                name,
                create=create,
                label=label,
                limits=_limits(raw),
                features=parse_features(features) if features is not None else None,
                default=default,
            ).plans[name]
        except PlansError as exc:
            fail(str(exc).replace("\n", "; "))
            return
        where = plans_path()
    limits = ", ".join(
        f"{limit}={plan.limit(limit)}" for limit in LIMITS if plan.limit(limit) is not None
    )
    ok(
        f"plan {name} {'created' if create else 'changed'} in {where}: "
        f"{limits or 'no limits'}; features: {', '.join(plan.features) or 'none'}"
    )


@app.command("create")
def create(
    name: str,
    label: Label = None,
    products: Products = None,
    staff: Staff = None,
    storage_bytes: Storage = None,
    api_requests_per_minute: ApiRate = None,
    webhook_endpoints: Webhooks = None,
    mails_per_day: Mails = None,
    custom_domains: Domains = None,
    languages: Languages = None,
    features: Features = None,
    default: Default = False,
) -> None:
    """Add a plan at the end of the file (plans go smallest first). A limit left out is
    no limit; without --features the plan has them all."""
    raw = locals().copy()
    _write(name, True, label, {k: raw[k] for k in LIMITS}, features, default)


@app.command("set")
def set_(
    name: str,
    label: Label = None,
    products: Products = None,
    staff: Staff = None,
    storage_bytes: Storage = None,
    api_requests_per_minute: ApiRate = None,
    webhook_endpoints: Webhooks = None,
    mails_per_day: Mails = None,
    custom_domains: Domains = None,
    languages: Languages = None,
    features: Features = None,
    default: Default = False,
) -> None:
    """Change a plan: only what is given changes ('none' lifts a limit). Shops on it see
    the change within a second; one past a lowered limit keeps what it has."""
    raw = locals().copy()
    _write(name, False, label, {k: raw[k] for k in LIMITS}, features, default)


def set_plan(
    slug: Annotated[str, typer.Argument(help="The shop.")],
    plan: Annotated[str, typer.Argument(help="A plan's name, or 'default'.")],
) -> None:
    """Put a shop on a plan ('default': the plans file's default plan)."""
    with app_context():
        chosen = plans.assign(slug, None if plan == "default" else plan)
        db.session.commit()
        over = [
            f"{u.limit} {u.shown_used}/{u.shown_allowed}"
            for u in _usage_of(slug)
            if u.allowed is not None and u.used is not None and (u.more or u.used > u.allowed)
        ]
    ok(f"{slug} is on plan {chosen.name}")
    if over:
        ok(f"note: {slug} is past this plan's {', '.join(over)}: it keeps them, adds none")


def _usage_of(slug: str) -> list[plans.Usage]:
    with tenant_context(slug):
        return plans.usage()
