"""``tenantctl cache``: the shared cache, per shop."""

from __future__ import annotations

from typing import Annotated

import typer

from ..tenancy import services
from .common import app_context, ok

app = typer.Typer(help="Clear cached pages and lookups, per shop.", no_args_is_help=True)


@app.command("clear")
def clear(
    slug: Annotated[str | None, typer.Argument(help="The shop; every shop when left out.")] = None,
) -> None:
    """Clear one shop's cache (O(1): bumps its cache generation; other shops keep theirs)."""
    with app_context():
        moved = services.clear_cache(slug)
    ok(f"cache cleared for {slug}" if slug else f"cache cleared for all {moved} shops")
