"""``tenantctl secrets``: a shop's payment keys, kept in its secrets.toml, shown masked."""

from __future__ import annotations

from typing import Annotated

import typer

from ..tenancy.secrets import SecretsError, load_secrets, mask, set_secret
from ..tenancy.services import get_shop, tenants_dir
from .common import app_context, fail, ok

app = typer.Typer(help="A shop's secrets (payment keys): set, unset, show masked.")


@app.command("set")
def set_(
    slug: str,
    key: Annotated[str, typer.Argument(help="e.g. stripe.secret_key, stripe.webhook_secret")],
    value: Annotated[str | None, typer.Argument(help="Read from stdin when left out.")] = None,
) -> None:
    """Set a secret (validated; the file is owner-only). The value is never printed."""
    if value is None:
        value = typer.prompt(key, hide_input=True)
    with app_context():
        get_shop(slug)
        try:
            set_secret(tenants_dir(), slug, key, value.strip())
        except SecretsError as exc:
            fail(str(exc))
    ok(f"{slug}: {key} set")


@app.command("unset")
def unset(slug: str, key: str) -> None:
    with app_context():
        get_shop(slug)
        try:
            set_secret(tenants_dir(), slug, key, None)
        except SecretsError as exc:
            fail(str(exc))
    ok(f"{slug}: {key} removed")


@app.command("show")
def show(slug: str) -> None:
    """The shop's secrets, masked."""
    with app_context():
        get_shop(slug)
        try:
            secrets = load_secrets(tenants_dir(), slug)
        except SecretsError as exc:
            fail(str(exc))
            return
    for name, value in secrets.stripe.model_dump().items():
        ok(f"stripe.{name}: {mask(value) or '(not set)'}")
