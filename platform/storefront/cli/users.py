"""``tenantctl user``: accounts inside one shop."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..accounts import services
from ..extensions import db
from .common import JSON_OPTION, emit, fail, ok, shop_context

app = typer.Typer(help="Manage the accounts of one shop.", no_args_is_help=True)


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
        list[str] | None, typer.Option("--role", help="owner, staff or customer; repeatable.")
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
def grant(slug: str, email: str, role: str) -> None:
    """Give an account a role."""
    with shop_context(slug):
        services.grant(email, role)
        db.session.commit()
    ok(f"{email} at {slug} now has the role {role}")


@app.command("revoke")
def revoke(slug: str, email: str, role: str) -> None:
    """Take a role from an account."""
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


@app.command("token")
def token(slug: str, email: str) -> None:
    """Print an API token for a staff account (send it as the Authentication-Token header).

    Tokens stop working when the password changes or the account is deactivated.
    """
    with shop_context(slug):
        user = services.get_user(email)
        if not {"owner", "staff"} & set(user.role_names):
            fail(f"{email} is not staff at {slug}: grant it the staff role first")
        print(user.get_auth_token())  # noqa: T201 - bare, for scripts
