"""``tenantctl signup``: shops that signed themselves up; approve or reject pending ones."""

from __future__ import annotations

from typing import Annotated

import typer

from ..audit.actor import current_actor
from ..signup import services
from ..signup.models import LIVE, PENDING, REJECTED, WAITING
from .common import JSON_OPTION, app_context, emit, fail, ok

app = typer.Typer(
    help="Sign-ups: list them, approve or reject pending shops.", no_args_is_help=True
)

STATUSES = (WAITING, PENDING, LIVE, REJECTED)


def _operator() -> str:
    actor = current_actor()
    return f"{actor.kind}:{actor.id or 'unknown'}"


@app.command("list")
def list_(
    status: Annotated[
        str | None, typer.Option("--status", help=f"Only these: {', '.join(STATUSES)}.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 50,
    as_json: bool = JSON_OPTION,
) -> None:
    """The newest sign-ups: address, shop, status, network, when."""
    if status is not None and status not in STATUSES:
        fail(f"unknown status {status!r}: one of {', '.join(STATUSES)}")
    with app_context():
        rows = [
            {
                "id": s.id,
                "slug": s.slug,
                "shop": s.shop_name,
                "email": s.email,
                "status": s.status,
                "network": s.network,
                "created": f"{s.created_at:%Y-%m-%d %H:%M}",
                "decided_by": s.decided_by,
            }
            for s in services.list_signups(status, limit)
        ]
    if not rows and not as_json:
        ok("no sign-ups")
        return
    emit(
        rows,
        as_json,
        ["id", "slug", "shop", "email", "status", "network", "created", "decided_by"],
        "Sign-ups",
    )


@app.command("approve")
def approve(slug: str) -> None:
    """Open a shop waiting for approval (recorded in its audit trail; the owner is mailed)."""
    with app_context():
        services.approve(slug, _operator())
    ok(f"approved {slug}: the shop is open")


@app.command("reject")
def reject(
    slug: str,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the sign-up).")] = "",
) -> None:
    """Refuse a shop waiting for approval: it is deleted; the sign-up keeps who and why."""
    with app_context():
        services.reject(slug, _operator(), reason)
    ok(f"rejected {slug}: the shop is deleted")
