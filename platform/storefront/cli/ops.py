"""Platform-wide commands: check, doctor, report (and rebuilding a shop's figures)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from .. import ops
from ..catalog.money import format_money
from ..extensions import db
from ..jobs.worker import run_worker
from ..orders import aggregates
from .common import JSON_OPTION, app_context, emit, fail, get_app, ok, shop_context


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.command("doctor")(doctor)
    report_app = typer.Typer(invoke_without_command=True, help=report.__doc__)
    report_app.callback()(report)
    report_app.command("rebuild")(rebuild)
    app.add_typer(report_app, name="report")
    app.command("worker")(worker)


def check(
    slug: Annotated[str | None, typer.Argument(help="One shop; every shop when left out.")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Validate shop folders, templates and domains; report folder/database drift."""
    with app_context():
        results = ops.check(slug)
    if as_json:
        emit([{"shop": k, "problems": v} for k, v in results.items()], True, [])
    else:
        for shop, problems in results.items():
            ok(f"[green]ok[/green]       {shop}" if not problems else f"[red]problem[/red]  {shop}")
            for problem in problems:
                ok(f"         - {problem}")
    if any(results.values()):
        raise typer.Exit(1)


def doctor(
    as_json: bool = JSON_OPTION,
    purge_orphan_files: Annotated[
        bool,
        typer.Option(
            "--purge-orphan-files", help="Delete stored files of shops that no longer exist."
        ),
    ] = False,
) -> None:
    """Check the database, migrations, cache, mail, folders, file storage and secret key;
    say the fix."""
    with app_context():
        if purge_orphan_files:
            ok(f"deleted {ops.purge_orphan_files()} files of deleted shops")
        findings = ops.doctor()
    if as_json:
        emit([f.__dict__ for f in findings], True, [])
    else:
        for f in findings:
            mark = "[green]ok[/green]     " if f.ok else "[red]problem[/red]"
            ok(
                f"{mark}  {f.name:<16} {f.detail}"
                + (f"\n           fix: {f.fix}" if not f.ok else "")
            )
    if not all(f.ok for f in findings):
        raise typer.Exit(1)


def _date(value: str | None, default: datetime) -> datetime:
    if value is None:
        return default
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        fail(f"{value!r} is not a date (use YYYY-MM-DD)")
        raise  # unreachable: fail() exits


def report(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="Start date, YYYY-MM-DD (default: 30 days ago).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="End date, exclusive (default: today included).")
    ] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Net orders, revenue and new customers per shop in a period, by each shop's days
    (reads across shops)."""
    if ctx.invoked_subcommand is not None:
        return
    now = datetime.now(UTC).replace(tzinfo=None)
    start, end = _date(since, now - timedelta(days=30)), _date(until, now + timedelta(days=1))
    if start >= end:
        fail("--since must be before --until")
    with app_context():
        rows = ops.report(start, end)
    if as_json:
        emit(rows, True, [])
        return
    for row in rows:
        row["revenue"] = (
            ", ".join(
                format_money(amount, currency, "en_US")
                for currency, amount in row["revenue"].items()
            )
            or "-"
        )
    emit(
        rows,
        False,
        ["slug", "name", "orders", "revenue", "new_customers"],
        title=f"{start:%Y-%m-%d} to {end:%Y-%m-%d}",
    )


def rebuild(
    slug: Annotated[str, typer.Argument(help="The shop whose figures to recompute.")],
    batch: int = typer.Option(5000, min=100, max=100_000, help="Orders per statement."),
) -> None:
    """Recompute a shop's daily sales and customer figures from its orders (after an
    upgrade or an import, or to check them); the dashboard keeps working meanwhile."""
    with shop_context(slug):
        counted = aggregates.rebuild(batch)
        db.session.commit()
    ok(f"rebuilt {slug}'s figures from {counted} orders")


def worker(
    threads: int = typer.Option(4, min=1, max=64, help="Worker threads."),
    sweep: float = typer.Option(5.0, min=0.5, max=300, help="Seconds between sweeps."),
) -> None:
    """Run the jobs worker (STOREFRONT_JOBS_BACKEND=redis): outbox mails and webhooks."""
    app = get_app()
    try:
        run_worker(app, threads=threads, sweep_seconds=sweep)
    except RuntimeError as exc:
        fail(str(exc))
