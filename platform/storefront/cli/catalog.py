"""``tenantctl catalog`` and ``tenantctl orders``: bulk CSV in and out of one shop."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.progress import Progress

from ..catalog import csv_io
from ..extensions import db
from ..orders import services as orders
from .common import err_console, fail, ok, shop_context

app = typer.Typer(help="Import and export a shop's catalog as CSV.", no_args_is_help=True)
orders_app = typer.Typer(
    help="A shop's orders: export as CSV, move along their statuses.", no_args_is_help=True
)

OUTPUT = typer.Option("-o", "--output", help="Write here instead of standard output.")


def _open(path: Path | None) -> Any:
    if path is None:
        return nullcontext(sys.stdout)
    return path.open("w", encoding="utf-8", newline="")


@app.command("import")
def import_(
    slug: str,
    csv_file: Annotated[Path, typer.Argument(help=f"Columns: {', '.join(csv_io.COLUMNS)}.")],
) -> None:
    """Create or update products from a CSV; every row is checked first, all or nothing."""
    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        fail(f"{csv_file}: no such file")
    except UnicodeDecodeError:
        fail(f"{csv_file}: not UTF-8 text (save the CSV as UTF-8)")
    with shop_context(slug):
        try:
            rows = csv_io.parse_rows(text.splitlines(keepends=True))
        except csv_io.ImportError_ as exc:
            fail(f"{csv_file}: {exc}")
        with Progress(console=err_console, transient=True) as bar:
            task = bar.add_task("importing", total=len(rows))
            created, updated = csv_io.import_rows(
                rows, lambda done, total: bar.update(task, completed=done)
            )
        db.session.commit()  # all rows or none: an exception above leaves nothing written
    ok(f"{slug}: {created} products created, {updated} updated")


@app.command("export")
def export(slug: str, output: Annotated[Path | None, OUTPUT] = None) -> None:
    """Write every product in the import format."""
    with shop_context(slug), _open(output) as out:
        count = csv_io.export_csv(out)
    if output is not None:
        ok(f"{count} products -> {output}")


@orders_app.command("export")
def export_orders(
    slug: str,
    since: Annotated[
        str | None, typer.Option(help="Only orders from this date (YYYY-MM-DD).")
    ] = None,
    status: Annotated[str | None, typer.Option(help="Only orders with this status.")] = None,
    output: Annotated[Path | None, OUTPUT] = None,
) -> None:
    """Write the shop's orders as CSV, newest first."""
    start = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            fail(f"--since {since!r} is not a date (use YYYY-MM-DD)")
    with shop_context(slug):
        try:
            query = orders.order_query(status, start)
        except orders.CheckoutError as exc:
            fail(str(exc))
        out: IO[str]
        with _open(output) as out:
            count = orders.write_orders_csv(db.session.scalars(query), out)
    if output is not None:
        ok(f"{count} orders -> {output}")


@orders_app.command("set-status")
def set_order_status(
    slug: str,
    number: str,
    status: Annotated[str, typer.Argument(help="paid, shipped, delivered, cancelled, refunded")],
    carrier: Annotated[str | None, typer.Option(help="When shipping.")] = None,
    tracking: Annotated[str | None, typer.Option(help="Tracking number, when shipping.")] = None,
) -> None:
    """Move an order to another status; a move its state machine refuses says why."""
    with shop_context(slug):
        order = orders.get_order(number)
        if order is None:
            fail(f"no order {number!r} at {slug}")
        assert order is not None  # noqa: S101 - fail() exits
        try:
            orders.set_status(order, status, carrier=carrier, tracking_number=tracking)
        except orders.CheckoutError as exc:
            db.session.rollback()
            fail(str(exc))
        db.session.commit()
        ok(f"{number}: {order.status}")
