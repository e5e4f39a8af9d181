"""``tenantctl``: the operator's CLI. One module per command group, each command thin."""

from __future__ import annotations

import typer

from . import (
    audit,
    billing,
    cache,
    catalog,
    data,
    domains,
    ops,
    outbox,
    privacy,
    search,
    secrets,
    security,
    shops,
    signups,
    themes,
    usage,
    users,
    webhooks,
)
from . import config as config_cmds
from . import db as db_cmds
from . import plans as plans_cmds
from .common import run_app

app = typer.Typer(
    name="tenantctl",
    help="Provision and run the shops of a storefront platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
shops.register(app)
audit.register(app)
usage.register(app)
plans_cmds.register(app)
billing.register(app)
data.register(app)
ops.register(app)
app.add_typer(domains.app, name="domain")
app.add_typer(users.app, name="user")
app.add_typer(db_cmds.app, name="db")
app.add_typer(themes.app, name="theme")
app.add_typer(cache.app, name="cache")
app.add_typer(config_cmds.app, name="config")
app.add_typer(catalog.app, name="catalog")
app.add_typer(catalog.orders_app, name="orders")
app.add_typer(catalog.discounts_app, name="discounts")
app.add_typer(outbox.app, name="outbox")
app.add_typer(search.app, name="search")
app.add_typer(privacy.app, name="privacy")
app.add_typer(webhooks.app, name="webhooks", no_args_is_help=True)
app.add_typer(secrets.app, name="secrets", no_args_is_help=True)
app.add_typer(security.app, name="security")
app.add_typer(signups.app, name="signup", no_args_is_help=True)


def main() -> None:
    """Entry point of the installed ``tenantctl`` script."""
    run_app(app)


__all__ = ["app", "main"]
