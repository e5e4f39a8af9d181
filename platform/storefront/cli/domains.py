"""``tenantctl domain``: the hosts a shop answers on, and the proof that they are its own."""

from __future__ import annotations

from typing import Annotated

import typer

from ..tenancy import services
from ..tenancy.verification import expected_records
from .common import JSON_OPTION, app_context, emit, ok

app = typer.Typer(help="Add, verify, remove and choose a shop's domains.", no_args_is_help=True)
TRUST = typer.Option("--trust", help="Serve it without the DNS proof (you vouch for it; logged).")


@app.command("add")
def add(
    slug: str,
    host: str,
    primary: Annotated[bool, typer.Option("--primary", help="Make it the primary domain.")] = False,
    trust: Annotated[bool, TRUST] = False,
) -> None:
    """Attach a host to a shop: pending until its DNS records prove it (see the records
    printed), unless --trust. Refused if another shop claims it."""
    with app_context():
        domain = services.add_domain(slug, host, primary, trust=trust)
        hostname, serves = domain.hostname, domain.serves
        records = expected_records(domain) if not serves else []
    if serves:
        ok(f"{hostname} now serves {slug}{' (primary)' if primary else ''}")
        return
    ok(f"{hostname} added to {slug}, pending. Create these records, then run")
    ok(f"  tenantctl domain verify {slug} {hostname}")
    for record in records:
        ok(f"  {record.kind:5} {record.name}  {record.value}")


@app.command("verify")
def verify(slug: str, host: str, trust: Annotated[bool, TRUST] = False) -> None:
    """Check a domain's DNS records now (or vouch for it with --trust)."""
    with app_context():
        domain = services.verify_domain(slug, host, trust=trust)
        status, result = domain.status, domain.last_check
    ok(f"{host}: {status} ({result})")
    if status not in ("verified", "failing"):
        raise typer.Exit(1)


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
    """List a shop's domains with their status and the last check."""
    with app_context():
        rows = [
            {
                "hostname": d.hostname,
                "primary": d.is_primary,
                "status": d.status,
                "trusted": d.trusted,
                "last_check": d.last_check,
            }
            for d in services.get_shop(slug).domains
        ]
    emit(
        rows,
        as_json,
        ["hostname", "primary", "status", "trusted", "last_check"],
        title=f"Domains of {slug}",
    )
