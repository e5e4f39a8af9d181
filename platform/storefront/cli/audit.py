"""``tenantctl audit``: read, verify and prune a shop's audit trail.

``tenantctl audit SHOP`` lists the newest entries; ``tenantctl audit verify SHOP`` checks
the hash chain and names the first broken entry (exit code 1); ``tenantctl audit prune
SHOP`` applies the shop's retention now (the daily job does it too).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated, Any

import typer

from ..audit import services
from ..db import unit_of_work
from .common import JSON_OPTION, emit, fail, ok, shop_context

ACTIONS = ("verify", "prune")
COLUMNS = ["seq", "when", "actor", "source", "request_id", "address", "changes"]


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)


def audit(
    first: Annotated[
        str,
        typer.Argument(metavar="[verify|prune] SHOP", help="The shop, or an action and the shop."),
    ],
    shop: Annotated[str | None, typer.Argument(metavar="", show_default=False)] = None,
    limit: int = typer.Option(
        50, "--limit", min=1, max=1000, help="At most this many entries, newest first."
    ),
    actor: str | None = typer.Option(
        None, "--actor", help="Only this kind: user, api_key, operator, system, payment, guest."
    ),
    resource: str | None = typer.Option(
        None, "--resource", help="Only entries touching this table (e.g. products)."
    ),
    since: str | None = typer.Option(None, "--since", help="From this day (YYYY-MM-DD, UTC)."),
    until: str | None = typer.Option(None, "--until", help="Before this day (YYYY-MM-DD, UTC)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """A shop's audit trail (who changed what, when, from where), newest first; ``audit
    verify SHOP`` checks its hash chain, ``audit prune SHOP`` applies its retention."""
    action, slug = (first, shop) if first in ACTIONS and shop else ("list", first)
    if shop and first not in ACTIONS:
        fail(f"unknown action {first!r}: expected one of {', '.join(ACTIONS)}, or only a shop")
    assert slug is not None  # noqa: S101 - set above
    if action == "verify":
        _verify(slug, as_json)
        return
    if action == "prune":
        _prune(slug)
        return
    try:
        filters = services.Filters(
            actor_kind=actor, resource=resource, since=_day(since), until=_day(until)
        )
    except ValueError as exc:
        fail(str(exc))
    with shop_context(slug):
        try:
            rows = [services.view(e) for e in services.entries(filters, limit=limit)]
        except services.AuditError as exc:
            fail(str(exc))
    if as_json:
        sys.stdout.write(
            json.dumps([r.as_dict() for r in rows], indent=2, ensure_ascii=False) + "\n"
        )
        return
    emit([_row(r) for r in rows], False, COLUMNS, f"Audit trail of {slug}")


def _day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise ValueError(f"{value!r} is not a day (YYYY-MM-DD)") from None


def _row(entry: services.EntryView) -> dict[str, Any]:
    who = entry.actor_kind + (f" {entry.actor_id}" if entry.actor_id else "")
    if entry.actor:
        who += f" ({entry.actor})"
    return {
        "seq": entry.seq,
        "when": entry.created_at.isoformat(sep=" ", timespec="seconds"),
        "actor": who,
        "source": entry.source,
        "request_id": entry.request_id,
        "address": entry.address or "",
        "changes": "; ".join(summary(c) for c in entry.changes),
    }


def summary(change: dict[str, Any]) -> str:
    """One change on one line: ``update products 12: price 1000 -> 1200``."""
    head = f"{change.get('op')} {change.get('type')}"
    if change.get("id") is not None:
        head += f" {change['id']}"
    parts = []
    for name, pair in (change.get("fields") or {}).items():
        if isinstance(pair, dict) and "old" in pair and "new" in pair:
            parts.append(f"{name} {pair['old']!s:.40} -> {pair['new']!s:.40}")
        elif isinstance(pair, dict):
            parts.append(f"{name}={next(iter(pair.values()), '')!s:.40}")
    for name, value in (change.get("where") or {}).items():
        parts.append(f"where {name}={value!s:.40}")
    for name, value in (change.get("note") or {}).items():
        parts.append(f"{name}={value!s:.70}")
    return head + (": " + ", ".join(parts) if parts else "")


def _verify(slug: str, as_json: bool) -> None:
    with shop_context(slug):
        verdict = services.verify()
        head = services.head_hash()
    if as_json:
        sys.stdout.write(json.dumps({"shop": slug, **verdict.__dict__, "head": head}) + "\n")
    else:
        line = verdict.line(slug)
        ok(f"{line}; head {head}" if verdict.ok and head else line)
    if not verdict.ok:
        raise typer.Exit(1)


def _prune(slug: str) -> None:
    with shop_context(slug):
        days = services.retention_days()
        gone = unit_of_work(services.prune)
    ok(f"{slug}: {gone} entries older than {days} days pruned")
