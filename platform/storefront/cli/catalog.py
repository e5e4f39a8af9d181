"""``tenantctl catalog`` and ``tenantctl orders``: bulk CSV in and out of one shop."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select

from ..catalog import csv_io
from ..catalog.models import Product
from ..catalog.money import parse_money, shop_currency
from ..extensions import db
from ..orders import discounts
from ..orders import services as orders
from ..orders.csv_export import batch_query, stream_orders_csv
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


@contextmanager
def _progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on standard error while a long import or export runs, on a terminal
    only: a pipe or a log gets the data and the last line alone."""
    if not err_console.is_terminal:
        yield lambda _done: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        # Drawn at each batch (a thousand rows), not only on the bar's own clock.
        yield lambda done: bar.update(task, completed=done, refresh=True)


def _lines_in(path: Path) -> int:
    """How many lines a file has (a quick pass over its bytes): a bar's length."""
    lines, last = 0, b"\n"
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            lines, last = lines + chunk.count(b"\n"), chunk[-1:]
    return lines + (last != b"\n")


@app.command("import")
def import_(
    slug: str,
    csv_file: Annotated[Path, typer.Argument(help=f"Columns: {', '.join(csv_io.COLUMNS)}.")],
) -> None:
    """Create or update products from a CSV, a batch at a time; all or nothing."""
    try:
        total = max(_lines_in(csv_file) - 1, 0)
    except FileNotFoundError:
        fail(f"{csv_file}: no such file")
    with (
        shop_context(slug),
        csv_file.open(encoding="utf-8-sig", newline="") as lines,
        _progress("rows", total) as moved,
    ):
        try:
            with csv_file.open(encoding="utf-8-sig", newline="") as again:
                csv_io.check_plan(again)  # the plan's products, before a row is written
            report = csv_io.import_csv(lines, warn=_warn, batch_done=lambda r: moved(r.rows))
        except csv_io.ImportError_ as exc:
            db.session.rollback()
            fail(f"{csv_file}: {exc}")
        except UnicodeDecodeError:
            db.session.rollback()
            fail(f"{csv_file}: not UTF-8 text (save the CSV as UTF-8)")
        if report.refused_count:  # one bad row, and nothing changes
            db.session.rollback()
            refused = csv_io.ImportError_(report.refused, more=report.refused_count)
            fail(f"{csv_file}: {refused}")
        db.session.commit()
    ok(f"{slug}: {report.created} products created, {report.updated} updated")


def _warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)


@app.command("export")
def export(slug: str, output: Annotated[Path | None, OUTPUT] = None) -> None:
    """Write every product in the import format, a batch at a time."""
    with shop_context(slug), _open(output) as out:
        total = db.session.scalar(select(func.count()).select_from(Product)) or 0
        with _progress("products", total) as moved:
            count = csv_io.export_csv(out, moved)
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
    """Write the shop's orders as CSV, newest first, a batch at a time."""
    start = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            fail(f"--since {since!r} is not a date (use YYYY-MM-DD)")
    with shop_context(slug):
        try:
            query = batch_query(status, start)
        except ValueError as exc:
            fail(str(exc))
        total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        out: IO[str]
        with _open(output) as out, _progress("orders", total) as moved:
            for chunk in stream_orders_csv(status, start, progress=moved):
                out.write(chunk)
    if output is not None:
        ok(f"{total} orders -> {output}")


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
