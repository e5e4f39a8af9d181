"""What every command shares: the app context, one-line errors, tables and --json."""

from __future__ import annotations

import json
import logging
import secrets
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from flask import Flask, g
from rich.console import Console
from rich.table import Table

from ..accounts.services import AccountError
from ..app import create_app
from ..config import ConfigError
from ..extensions import db
from ..logs import log_context
from ..outbox import deliver_committed
from ..plans import PlanLimitReached, PlansError
from ..tenancy.context import tenant_context
from ..tenancy.services import ShopError, get_shop

# Piped or redirected (no terminal to measure): wide enough that no cell is cut or folded.
console = Console(width=None if sys.stdout.isatty() else 240)
err_console = Console(stderr=True)

# Errors an operator can fix: a one-line message and exit code 1, never a traceback.
USER_ERRORS = (ShopError, AccountError, LookupError, PlanLimitReached, PlansError)

try:  # Typer runs its own copy of Click (typer._click) since 0.2x; before, Click itself
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover - an older Typer
    from click import get_current_context  # type: ignore[no-redef]

_app: Flask | None = None
log = logging.getLogger("storefront.cli")


def get_app() -> Flask:
    """The platform app, built once per process from the environment and instance folder."""
    global _app
    if _app is None:
        try:
            _app = create_app({"WEB_PROCESSES": 0})  # serves no pages: no rate limits
        except ConfigError as exc:
            fail(f"configuration: {exc}", code=2)
    assert _app is not None  # noqa: S101 - fail() exits
    return _app


def set_app(app: Flask | None) -> None:
    """Use this app for the next commands (tests build theirs with a temporary database)."""
    global _app
    _app = app


@contextmanager
def app_context() -> Iterator[Flask]:
    """The app's context for one command: its log lines say the command and the shop it
    acts on, under an id of its own that the outbox rows it queues keep (as a request's)."""
    app = get_app()
    command, slug = _invocation()
    with app.app_context(), log_context(command=command, shop=slug):
        if "request_id" not in g:
            g.request_id = f"cli-{secrets.token_hex(8)}"
        with log_context(request_id=g.request_id):
            log.info("tenantctl %s", command)
            try:
                yield app
            except USER_ERRORS as exc:
                db.session.rollback()
                log.warning("tenantctl %s failed: %s", command, exc)
                fail(str(exc))
        # Mails the command's commits queued go out now (failures wait in the outbox).
        deliver_committed()


@contextmanager
def shop_context(slug: str) -> Iterator[Flask]:
    """An app context with the shop bound, for commands that act inside one shop."""
    with app_context() as app, tenant_context(get_shop(slug)):
        yield app


def _invocation() -> tuple[str, str | None]:
    """The command being run (``shops suspend``) and the shop it names, if any."""
    ctx = get_current_context(silent=True)
    if ctx is None:
        return "", None
    names, slug = [], ctx.params.get("slug")
    while ctx is not None and ctx.parent is not None:  # the root's name is the program's
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names)), str(slug) if slug else None


def fail(message: str, code: int = 1) -> None:
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def ok(message: str) -> None:
    console.print(message, highlight=False, soft_wrap=True)


def emit(
    rows: Sequence[dict[str, Any]], as_json: bool, columns: Sequence[str], title: str | None = None
) -> None:
    """Print rows as a rich table, or as JSON for scripts."""
    if as_json:
        sys.stdout.write(json.dumps(list(rows), indent=2, default=str) + "\n")
        return
    if not rows:
        console.print("(none)")
        return
    table = Table(title=title, show_lines=False)
    for column in columns:
        # Wrap long cells (domains, emails) rather than cut them: an operator copies them.
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    console.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def run_app(app: typer.Typer) -> None:
    try:
        app()
    except ConfigError as exc:  # raised before any command ran
        err_console.print(f"error: configuration: {exc}")
        raise SystemExit(2) from None


JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")
