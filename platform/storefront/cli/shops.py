"""Shop lifecycle commands: create, list, show, rename, suspend, resume, demo, shell."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy import func, select

from ..accounts import models as account_models
from ..accounts.models import User
from ..catalog.models import Product
from ..demo import provision_demo
from ..extensions import db
from ..extensions import db as _db
from ..orders.models import Order
from ..plans import plan_named
from ..tenancy import services
from ..tenancy.config_edit import set_value
from ..tenancy.context import all_tenants, tenant_context
from ..tenancy.models import Tenant
from ..tenancy.settings import SettingsError, load_settings
from .common import JSON_OPTION, app_context, emit, get_app, ok


def register(app: typer.Typer) -> None:
    for command in (create, list_, show, rename, suspend, resume, place, demo, shell):
        name = command.__name__.rstrip("_")
        app.command(name)(command)


def create(
    slug: Annotated[str, typer.Argument(help="Short name: lower-case letters, digits, hyphens.")],
    name: Annotated[str, typer.Option("--name", help="Display name shown to shoppers.")],
    domain: Annotated[
        list[str],
        typer.Option("--domain", help="Host name; repeat for aliases; the first is primary."),
    ],
    theme: Annotated[
        str, typer.Option(help="A shipped theme (see `tenantctl theme list`).")
    ] = "classic",
    owner: Annotated[
        str | None, typer.Option("--owner", help="Email of the shop owner's account.")
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a shop: its folder, its domains, its roles and optionally its owner."""
    with app_context():
        tenant = services.create_shop(
            services.NewShop(
                slug=slug, name=name, domains=tuple(domain), theme=theme, owner_email=owner
            )
        )
        row = _row(tenant)
    if as_json:
        emit([row], True, [])
        return
    ok(f"created shop [bold]{slug}[/bold] at {', '.join(row['domains'])}")
    if owner:
        ok(f"owner {owner}: set a password with `tenantctl user set-password {slug} {owner}`")


def list_(
    status: Annotated[
        str | None, typer.Option(help="Only shops with this status (active, suspended).")
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """List shops with their status, domains, theme and counts."""
    with app_context():
        rows = [_row(t, counts=True) for t in services.list_shops(status)]
    emit(
        rows,
        as_json,
        ["slug", "name", "status", "plan", "domains", "theme", "users", "products", "orders"],
        title="Shops",
    )


def show(slug: str, as_json: bool = JSON_OPTION) -> None:
    """Show one shop in detail."""
    with app_context():
        row = _row(services.get_shop(slug), counts=True)
    if as_json:
        emit([row], True, [])
        return
    for key, value in row.items():
        ok(f"[bold]{key:>16}[/bold]  {', '.join(value) if isinstance(value, list) else value}")


def rename(slug: str, name: Annotated[str, typer.Argument(help="The new display name.")]) -> None:
    """Change a shop's display name (in the database and its tenant.toml)."""
    with app_context():
        set_value(slug, "name", name)
    ok(f"{slug} is now called {name!r}")


def suspend(
    slug: str,
    reason: Annotated[str | None, typer.Option(help="Shown to shoppers on the 503 page.")] = None,
) -> None:
    """Suspend a shop: its pages answer 503 with the reason."""
    with app_context():
        before = services.get_shop(slug)
        was, old_reason = before.status, before.suspended_reason
        services.suspend_shop(slug, reason)
    if was == "suspended":
        ok(
            f"{slug} was suspended already (reason: {old_reason or 'none'}); "
            f"the reason is now: {reason or 'none'}"
        )
    else:
        ok(f"{slug} suspended")


def place(
    slug: str,
    database: Annotated[str, typer.Argument(help="The database name, e.g. main or eu-2.")],
) -> None:
    """Name the database holding a shop's rows; installations serve only their own
    (STOREFRONT_DATABASE_NAME, default main). See docs/deploy.md for moving a shop."""
    with app_context():
        before = services.get_shop(slug).database
        services.place_shop(slug, database)
        here = get_app().config["DATABASE_NAME"]
    served = "served here" if database == here else f"not served here (this is {here!r})"
    ok(f"{slug} is placed on {database!r} (was {before!r}): {served}")


def resume(slug: str) -> None:
    """Resume a suspended shop."""
    with app_context():
        services.resume_shop(slug)
    ok(f"{slug} resumed")


def demo() -> None:
    """Provision the demo shops from tenants/ (idempotent; used by `make demo`)."""
    with app_context():
        for line in provision_demo():
            ok(line)


def shell(
    slug: Annotated[str | None, typer.Argument(help="Bind this shop in the shell.")] = None,
) -> None:
    """An interactive shell with the app (and, when named, the shop) bound."""
    with app_context() as app, app.test_request_context():
        namespace: dict[str, Any] = {"app": app, "db": _db, "select": select}
        namespace.update(User=account_models.User, Role=account_models.Role, Tenant=Tenant)
        banner = "storefront shell: app, db, select, Tenant, User, Role"
        if slug:
            with tenant_context(services.get_shop(slug)) as ctx:
                namespace["shop"] = ctx
                _interact(namespace, banner + f"; shop {slug} is bound")
        else:
            _interact(namespace, banner + "; no shop bound (use tenant_context(...))")


def _interact(namespace: dict[str, Any], banner: str) -> None:
    try:
        from IPython import start_ipython
    except ImportError:
        import code  # only for the interactive shell

        code.interact(banner=banner, local=namespace)
        return
    print(banner)  # noqa: T201 - CLI output
    start_ipython(argv=[], user_ns=namespace)


def _row(tenant: Tenant, counts: bool = False) -> dict[str, Any]:
    try:
        theme = load_settings(get_app().config["TENANTS_DIR"], tenant.slug).theme
    except SettingsError:
        theme = "(invalid tenant.toml)"
    primary = tenant.primary_domain
    row: dict[str, Any] = {
        "slug": tenant.slug,
        "name": tenant.name,
        "status": tenant.status,
        "primary_domain": primary.hostname if primary else None,
        "domains": [d.hostname for d in tenant.domains],
        "theme": theme,
        "suspended_reason": tenant.suspended_reason,
        "database": tenant.database,
        "plan": plan_named(tenant.plan).name,
        "created_at": tenant.created_at.isoformat(timespec="seconds")
        if tenant.created_at
        else None,
    }
    if counts:
        with all_tenants():
            for key, model in (("users", User), ("products", Product), ("orders", Order)):
                row[key] = db.session.scalar(
                    select(func.count()).select_from(model).where(model.tenant_id == tenant.id)
                )
    return row
