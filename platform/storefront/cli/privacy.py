"""``tenantctl privacy``: a person's data in one shop, exported or erased."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..extensions import db
from ..privacy import services
from .common import fail, ok, shop_context

app = typer.Typer(help="Export or erase a person's data in one shop.", no_args_is_help=True)


@app.command("export")
def export(
    slug: str,
    email: str,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Everything the shop holds about EMAIL (account, addresses, orders), as JSON."""
    with shop_context(slug):
        pieces = services.person_data(email)
        if output is None:
            for piece in pieces:
                sys.stdout.write(piece)
            return
        with output.open("w", encoding="utf-8") as out:
            for piece in pieces:
                out.write(piece)
        ok(f"{email} at {slug}: written to {output}")


@app.command("erase")
def erase(
    slug: str,
    email: str,
    yes: Annotated[bool, typer.Option("--yes", help="Erase without asking.")] = False,
) -> None:
    """Erase EMAIL from the shop: the account goes, orders stay without personal data."""
    if not yes and not typer.confirm(f"Erase {email} from {slug}? This cannot be undone"):
        fail("nothing erased")
    with shop_context(slug):
        done = services.erase(email)
        db.session.commit()
    if not done.account and not done.orders:
        ok(f"{email} at {slug}: nothing held about them")
        return
    ok(
        f"{email} erased from {slug}: account {'deleted' if done.account else 'none'}, "
        f"{done.orders} order(s) anonymised, {done.outbox} outbox row(s) scrubbed, "
        f"{done.exports} export file(s) deleted"
    )
