"""Files a shop's people download: exports, a person's data, reports.

One place for the headers every such answer needs (an attachment with a safe name, never
sniffed, never stored by a shared cache) and for writing a download while it is sent."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from flask import Response, stream_with_context

from .tenancy.context import current_tenant, tenant_context


def safe_filename(name: str, limit: int = 120) -> str:
    """``name`` with everything but letters, digits and ``-._`` replaced: a shop's slug and
    a person's address end up in it, and it goes into a header."""
    return "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in name)[:limit] or "download"


def attachment(body: Iterable[bytes] | Iterable[str], filename: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{safe_filename(filename)}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def streamed_attachment(
    produce: Callable[[], Iterator[str] | Iterator[bytes]], filename: str, mimetype: str
) -> Response:
    """An attachment written while it is sent, so the first bytes leave at once and memory
    does not grow with the shop. ``produce`` runs after the view has returned: the shop is
    bound again around it (stream_with_context keeps the request and its session)."""
    shop = current_tenant()

    def body() -> Iterator[str] | Iterator[bytes]:
        with tenant_context(shop):
            yield from produce()

    return attachment(stream_with_context(body()), filename, mimetype)
