"""``tenantctl user``: accounts inside one shop."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..accounts import services, tokens
from ..extensions import db
from ..permissions import SHOP_ROLES
from .common import JSON_OPTION, emit, fail, ok, shop_context

app = typer.Typer(help="Manage the accounts of one shop.", no_args_is_help=True)
# The roles (what each may do: storefront.permissions); "staff" is still read as "manager".
ROLE_CHOICES = ", ".join(SHOP_ROLES)


def _read_password(from_stdin: bool) -> str | None:
    if not from_stdin:
        return None
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        fail("a password needs at least 8 characters")
    return password


@app.command("add")
def add(
    slug: str,
    email: str,
    role: Annotated[
        list[str] | None, typer.Option("--role", help=f"{ROLE_CHOICES}; repeatable.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create an account; without --password-stdin, print a one-time set-password link."""
    password = _read_password(password_stdin)
    with shop_context(slug):
        user = services.create_user(email, password, roles=role or ["customer"])
        db.session.commit()
        ok(f"created {user.email} at {slug} ({', '.join(user.role_names)})")
        if password is None:
            ok(f"set-password link (valid once): {services.set_password_link(user)}")


@app.command("list")
def list_(
    slug: str,
    role: Annotated[str | None, typer.Option(help="Only accounts with this role.")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """List a shop's accounts."""
    with shop_context(slug):
        rows = [
            {
                "email": u.email,
                "roles": u.role_names,
                "active": u.active,
                "confirmed": u.confirmed_at is not None,
                "created_at": u.created_at,
            }
            for u in services.list_users(role)
        ]
    emit(
        rows,
        as_json,
        ["email", "roles", "active", "confirmed", "created_at"],
        title=f"Accounts of {slug}",
    )


@app.command("set-password")
def set_password(
    slug: str,
    email: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set a password (from stdin), or print a one-time set-password link."""
    password = _read_password(password_stdin)
    with shop_context(slug):
        if password is None:
            user = services.get_user(email)
            ok(f"set-password link (valid once): {services.set_password_link(user)}")
            return
        services.set_password(email, password)
        db.session.commit()
    ok(f"password of {email} at {slug} changed")


@app.command("grant")
def grant(
    slug: str, email: str, role: Annotated[str, typer.Argument(help=f"One of {ROLE_CHOICES}.")]
) -> None:
    """Give an account a role."""
    with shop_context(slug):
        services.grant(email, role)
        db.session.commit()
    ok(f"{email} at {slug} now has the role {role}")


@app.command("revoke")
def revoke(slug: str, email: str, role: str) -> None:
    """Take a role from an account (never the owner role of the shop's last owner)."""
    with shop_context(slug):
        services.revoke(email, role)
        db.session.commit()
    ok(f"{email} at {slug} no longer has the role {role}")


@app.command("deactivate")
def deactivate(slug: str, email: str) -> None:
    """Block an account and end its sessions."""
    with shop_context(slug):
        services.deactivate(email)
        db.session.commit()
    ok(f"{email} at {slug} is deactivated; its sessions and tokens are void")


@app.command("reset-second-factor")
def reset_second_factor(slug: str, email: str) -> None:
    """Take away a lost second factor (app, recovery codes, passkeys); its sessions end."""
    with shop_context(slug):
        passkeys = services.reset_second_factor(email)
        db.session.commit()
    ok(
        f"{email} at {slug}: authenticator app, recovery codes and {passkeys} passkey(s) "
        "removed; signs in with the password alone until a new second factor is set up"
    )


SCOPE_HELP = (
    f"What the key may do; repeat for several: {', '.join(tokens.SCOPES)} "
    f"(default: {', '.join(tokens.STAFF_SCOPES)})."
)


@app.command("token")
def token(
    slug: str,
    email: str,
    name: str = typer.Option("integration", help="What the key is for (shown in lists)."),
    days: int | None = typer.Option(None, min=1, max=3650, help="Expire after this many days."),
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help=SCOPE_HELP, metavar="SCOPE")
    ] = None,
) -> None:
    """Print a new API key acting as a staff account (send it as
    ``Authorization: Bearer <key>``). List and revoke keys with ``tenantctl user keys`` and
    ``tenantctl user revoke-key``, or in the dashboard."""
    with shop_context(slug):
        try:
            new = tokens.create_key(services.get_user(email), name, days, scopes=scope or None)
        except tokens.TokenError as exc:
            fail(f"{exc} at {slug}")
        db.session.commit()
        print(new.secret)  # noqa: T201 - bare, for scripts


@app.command("keys")
def keys(slug: str, as_json: bool = JSON_OPTION) -> None:
    """List a shop's API keys (never the keys themselves)."""
    with shop_context(slug):
        rows = [
            {
                "id": key.id,
                "name": key.name,
                "prefix": key.prefix,
                "user": key.user.email,
                "status": tokens.key_status(key),
                "scopes": " ".join(tokens.key_scopes(key)),
                "created": key.created_at.isoformat(timespec="minutes"),
                "last_used": key.last_used_at.isoformat(timespec="minutes")
                if key.last_used_at
                else "",
            }
            for key in tokens.list_keys()
        ]
    columns = ["id", "name", "prefix", "user", "status", "scopes", "created", "last_used"]
    emit(rows, as_json, columns, title=f"API keys of {slug}")


@app.command("revoke-key")
def revoke_key(slug: str, key_id: int) -> None:
    """Revoke one API key: integrations using it stop at once."""
    with shop_context(slug):
        try:
            key = tokens.revoke_key(key_id)
        except tokens.TokenError as exc:
            fail(str(exc))
        label = f"{key.prefix}… ({key.name})"
        db.session.commit()
    ok(f"key {label} at {slug} is revoked")
