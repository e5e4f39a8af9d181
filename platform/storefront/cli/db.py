"""``tenantctl db``: the shared schema's migrations (Alembic via Flask-Migrate)."""

from __future__ import annotations

from typing import Annotated

import flask_migrate
import typer

from ..ops import database_revisions
from .common import app_context, ok

app = typer.Typer(help="Upgrade, downgrade and inspect the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    with app_context():
        flask_migrate.upgrade(revision=revision)
    ok(f"database at {revision}")


@app.command("downgrade")
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1.")] = "-1",
) -> None:
    """Revert migrations down to REVISION."""
    with app_context():
        flask_migrate.downgrade(revision=revision)
    ok(f"database downgraded to {revision}")


@app.command("current")
def current() -> None:
    """Show the database's revision, and whether it is the code's newest (head)."""
    with app_context():
        current, heads = database_revisions()
    state = "head" if current == heads else f"behind: the code is at {', '.join(heads)}"
    ok(f"{', '.join(current) or '(empty database)'} ({state})")


@app.command("check")
def check() -> None:
    """Fail if the models and the migrations disagree."""
    with app_context():
        flask_migrate.check()
