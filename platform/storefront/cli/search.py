"""``tenantctl search``: a shop's search index."""

from __future__ import annotations

from typing import Annotated

import typer

from ..catalog import search
from ..extensions import db
from .common import err_console, ok, shop_context

app = typer.Typer(help="A shop's search index: rebuild it.", no_args_is_help=True)


@app.command("reindex")
def reindex(
    slug: str,
    batch: Annotated[int, typer.Option(min=100, max=20_000, help="Products per batch.")] = 2000,
) -> None:
    """Rebuild the shop's search index from its products (after an upgrade, a change of
    the shop's languages, or to drop words no product uses any more). One transaction:
    searches see the old index until it commits."""
    with shop_context(slug):
        count = search.reindex_shop(
            batch, progress=lambda done: err_console.print(f"{slug}: {done} products indexed")
        )
        db.session.commit()
    ok(f"{slug}: search index rebuilt, {count} active products")
