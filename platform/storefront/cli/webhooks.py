"""``tenantctl webhooks``: a shop's endpoints and their deliveries."""

from __future__ import annotations

from typing import Annotated

import typer

from ..extensions import db
from ..webhooks import services as webhooks
from ..webhooks.models import EVENTS
from .common import JSON_OPTION, emit, fail, ok, shop_context

app = typer.Typer(help="Webhook endpoints of a shop: add, list, remove, deliveries.")


@app.command("add")
def add(
    slug: str,
    url: str,
    event: Annotated[
        list[str], typer.Option("--event", "-e", help=f"Repeat: {', '.join(EVENTS)}.")
    ],
) -> None:
    """Add an endpoint for some events; prints its signing secret."""
    with shop_context(slug):
        try:
            endpoint = webhooks.add_endpoint(url, event)
        except webhooks.WebhookError as exc:
            fail(str(exc))
        db.session.commit()
        ok(f"endpoint {endpoint.id} added; signing secret: {endpoint.secret}")


@app.command("list")
def list_(slug: str, as_json: bool = JSON_OPTION) -> None:
    """The shop's endpoints."""
    with shop_context(slug):
        rows = [
            {
                "id": e.id,
                "url": e.url,
                "events": e.events,
                "active": e.active,
                "failures": e.failures,
            }
            for e in webhooks.list_endpoints()
        ]
    emit(rows, as_json, ["id", "url", "events", "active", "failures"], title=f"Webhooks of {slug}")


@app.command("remove")
def remove(slug: str, endpoint_id: int) -> None:
    """Remove an endpoint."""
    with shop_context(slug):
        try:
            webhooks.remove_endpoint(endpoint_id)
        except webhooks.WebhookError as exc:
            fail(str(exc))
        db.session.commit()
    ok(f"endpoint {endpoint_id} removed")


@app.command("deliveries")
def deliveries(
    slug: str,
    limit: int = typer.Option(50, min=1, max=1000),
    as_json: bool = JSON_OPTION,
) -> None:
    """The latest deliveries, newest first."""
    with shop_context(slug):
        rows = [
            {**row, "created_at": row["created_at"].isoformat(timespec="seconds")}
            for row in webhooks.deliveries(limit)
        ]
    columns = ["id", "event", "endpoint_id", "status", "attempts", "last_error", "created_at"]
    emit(rows, as_json, columns, title=f"Webhook deliveries of {slug}")


@app.command("redeliver")
def redeliver(slug: str, delivery_id: int) -> None:
    """Queue a delivery again (same event id)."""
    with shop_context(slug):
        try:
            webhooks.redeliver(delivery_id)
        except webhooks.WebhookError as exc:
            fail(str(exc))
        db.session.commit()
    ok(f"delivery {delivery_id} queued again")
