"""``tenantctl outbox``: the queue of mails waiting to go out."""

from __future__ import annotations

import typer

from ..jobs.periodic import run_periodic
from ..outbox import services
from .common import JSON_OPTION, app_context, emit, ok

app = typer.Typer(help="Mails waiting to go out: status, run, retry.", no_args_is_help=True)


@app.command("status")
def status(as_json: bool = JSON_OPTION) -> None:
    """Pending, failed and delivered rows, and the oldest pending row's age."""
    with app_context():
        health = services.health()
    emit([health], as_json, ["pending", "dead", "done", "oldest_pending_seconds"], "Outbox")


@app.command("run")
def run(
    limit: int = typer.Option(500, min=1, max=100_000, help="At most this many rows."),
) -> None:
    """Deliver every row whose time has come (run it from cron, or after an outage)."""
    with app_context():
        sent = services.run_due(limit)
        left = services.health()["pending"]
    ok(f"delivered {sent}; {left} still pending")


@app.command("periodic")
def periodic() -> None:
    """Run the periodic tasks that are due (the worker does this by itself; without a
    worker, run it from cron every few minutes)."""
    with app_context():
        ran = run_periodic()
    ok(f"{ran} periodic run(s)")


@app.command("retry")
def retry() -> None:
    """Queue the rows that gave up again (after fixing what made them fail)."""
    with app_context():
        moved = services.retry_dead()
    ok(f"{moved} row(s) queued again")
