"""``tenantctl catalog`` and ``tenantctl orders``: bulk CSV in and out of one shop."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.progress import Progress

from ..catalog import csv_io
from ..catalog.money import parse_money, shop_currency
from ..extensions import db
from ..orders import discounts
from ..orders import services as orders
from ..tenancy.models import utcnow
from .common import JSON_OPTION, emit, err_console, fail, ok, shop_context

app = typer.Typer(help="Import and export a shop's catalog as CSV.", no_args_is_help=True)
discounts_app = typer.Typer(help="A shop's discount codes: add, list.", no_args_is_help=True)
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
            rows = csv_io.parse_rows(text.splitlines(keepends=True), warn=_warn)
        except csv_io.ImportError_ as exc:
            fail(f"{csv_file}: {exc}")
        with Progress(console=err_console, transient=True) as bar:
            task = bar.add_task("importing", total=len(rows))
            try:
                created, updated = csv_io.import_rows(
                    rows, lambda done, total: bar.update(task, completed=done)
                )
            except csv_io.ImportError_ as exc:  # a variant the shop's state refuses
                db.session.rollback()
                fail(f"{csv_file}: {exc}")
        db.session.commit()  # all rows or none: an exception above leaves nothing written
    ok(f"{slug}: {created} products created, {updated} updated")


def _warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)


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


@discounts_app.command("add")
def add_discount(
    slug: str,
    code: str,
    kind: Annotated[str, typer.Argument(help="percent, amount or free_shipping")],
    value: Annotated[
        str, typer.Argument(help="10 (percent) or 5.00 (amount); 0 for free shipping")
    ] = "0",
    min_order: Annotated[str | None, typer.Option(help="Minimum order, e.g. 50.00.")] = None,
    max_uses: Annotated[int | None, typer.Option(help="Uses in total.")] = None,
    per_customer: Annotated[int | None, typer.Option(help="Uses per customer.")] = None,
    days: Annotated[int | None, typer.Option(help="Valid for this many days from now.")] = None,
) -> None:
    """Create a discount code."""
    with shop_context(slug):
        currency = shop_currency()
        try:
            amount = int(value) if kind != "amount" else parse_money(value, currency)
            minimum = parse_money(min_order, currency) if min_order else 0
            ends = utcnow() + timedelta(days=days) if days else None
            row = discounts.create_code(
                code,
                kind,
                amount,
                min_order=minimum,
                ends_at=ends,
                max_uses=max_uses,
                max_uses_per_customer=per_customer,
            )
        except (discounts.DiscountError, ValueError) as exc:
            db.session.rollback()
            fail(str(exc))
            return
        db.session.commit()
        ok(f"{row.code}: {row.kind} {row.value}")


@discounts_app.command("list")
def list_discounts(slug: str, as_json: bool = JSON_OPTION) -> None:
    """The shop's codes with their usage counts."""
    with shop_context(slug):
        rows = [
            {
                "code": c.code,
                "kind": c.kind,
                "value": c.value,
                "min_order": c.min_order,
                "uses": c.uses,
                "max_uses": c.max_uses,
                "per_customer": c.max_uses_per_customer,
                "ends_at": c.ends_at,
                "active": c.active,
            }
            for c in discounts.list_codes()
        ]
    emit(rows, as_json, list(rows[0]) if rows else ["code"])
