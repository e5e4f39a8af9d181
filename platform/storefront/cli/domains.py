"""``tenantctl domain``: the hosts a shop answers on."""

from __future__ import annotations

from typing import Annotated

import typer

from ..tenancy import services
from .common import JSON_OPTION, app_context, emit, ok

app = typer.Typer(help="Add, remove and choose a shop's domains.", no_args_is_help=True)


@app.command("add")
def add(
    slug: str,
    host: str,
    primary: Annotated[bool, typer.Option("--primary", help="Make it the primary domain.")] = False,
) -> None:
    """Attach a host to a shop (refused if another shop claims it)."""
    with app_context():
        domain = services.add_domain(slug, host, primary)
        hostname = domain.hostname
    ok(f"{hostname} now serves {slug}{' (primary)' if primary else ''}")


@app.command("remove")
def remove(slug: str, host: str) -> None:
    """Detach a host from a shop (not its primary domain)."""
    with app_context():
        services.remove_domain(slug, host)
    ok(f"{host} removed from {slug}")


@app.command("primary")
def primary(slug: str, host: str) -> None:
    """Make a host the shop's primary domain; the others redirect to it."""
    with app_context():
        services.set_primary(slug, host)
    ok(f"{host} is now {slug}'s primary domain")


@app.command("list")
def list_(slug: str, as_json: bool = JSON_OPTION) -> None:
    """List a shop's domains."""
    with app_context():
        rows = [
            {"hostname": d.hostname, "primary": d.is_primary}
            for d in services.get_shop(slug).domains
        ]
    emit(rows, as_json, ["hostname", "primary"], title=f"Domains of {slug}")
