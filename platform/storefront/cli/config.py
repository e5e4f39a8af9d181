"""``tenantctl config``: read and edit a shop's tenant.toml, keeping its comments."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..tenancy import config_edit
from .common import app_context, ok

app = typer.Typer(
    help="Read and edit a shop's tenant.toml (validated, comments kept).", no_args_is_help=True
)

KEY_HELP = "Dotted key, e.g. name, branding.primary_color, features.registration."


@app.command("get")
def get(slug: str, key: Annotated[str, typer.Argument(help=KEY_HELP)]) -> None:
    """Print one value (as JSON for tables and lists)."""
    with app_context():
        value = config_edit.get_value(slug, key)
    print(value if isinstance(value, str) else json.dumps(value))  # noqa: T201


@app.command("set")
def set_(
    slug: str,
    key: Annotated[str, typer.Argument(help=KEY_HELP)],
    value: Annotated[str, typer.Argument(help='A TOML value: true, 12, "text", [1, 2].')],
) -> None:
    """Set a value; the file is validated before it is replaced, so a typo changes nothing."""
    with app_context():
        config_edit.set_value(slug, key, config_edit.parse_value(value))
    ok(f"{slug}: {key} set")


@app.command("unset")
def unset(slug: str, key: Annotated[str, typer.Argument(help=KEY_HELP)]) -> None:
    """Remove a key so its default applies again."""
    with app_context():
        config_edit.unset_value(slug, key)
    ok(f"{slug}: {key} removed (default applies)")
