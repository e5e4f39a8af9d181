"""Traces by OpenTelemetry, off unless configured.

On when ``TRACING_ENABLED`` is true, or (unset) when the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set and
``OTEL_SDK_DISABLED`` is not ``true``. Off, nothing of OpenTelemetry is imported and
nothing is wrapped: the helpers below answer from one dict lookup. On, ``otel`` wraps
the whole WSGI app (the page cache included) in a server span per request, traces SQL
and Redis, and gives every span the shop (id and slug) and the request id.

The lower layers (the outbox, webhooks) call only this module: ``traceparent()`` for the
row a request queues, ``job_span()`` for the job that runs it, ``client_span()`` for a
call to another server. Each is a no-op when tracing is off.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from flask import Flask, current_app, has_app_context

from ..config import ConfigError

EXTENSION = "storefront.tracing"

# Attribute names every span carries (with the request's or the job's values).
SHOP_ID = "storefront.shop.id"
SHOP_SLUG = "storefront.shop.slug"
REQUEST_ID = "storefront.request_id"


class SpanLike(Protocol):
    def set_attribute(self, key: str, value: Any) -> None: ...


class _NoSpan:
    def set_attribute(self, key: str, value: Any) -> None:
        return None


NO_SPAN = _NoSpan()


def enabled_in(config: Mapping[str, Any]) -> bool:
    """Whether an app with this config traces (see the module's docstring)."""
    setting = config.get("TRACING_ENABLED")
    if setting is not None:
        return bool(setting)
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def init_tracing(app: Flask) -> None:
    """Trace this app when configured to; must run last in ``create_app``: its middleware
    wraps every other (the page cache answers before Flask, and those answers count)."""
    if not enabled_in(app.config):
        return
    try:
        from . import otel  # the only import of OpenTelemetry: never when tracing is off
    except ImportError as exc:
        raise ConfigError(
            f"tracing is on but OpenTelemetry is missing ({exc.name}): install "
            "'storefront[tracing]', or set STOREFRONT_TRACING_ENABLED=false"
        ) from exc
    otel.instrument(app)
    app.extensions[EXTENSION] = True


def active() -> bool:
    """Whether the current app traces (False outside an app context)."""
    return has_app_context() and EXTENSION in current_app.extensions


def traceparent() -> str:
    """The W3C ``traceparent`` of the current span, for work queued now; "" when off."""
    if not active():
        return ""
    from . import otel

    return otel.traceparent()


@contextmanager
def job_span(
    kind: str, row_id: int, *, request_id: str, traceparent: str, attempt: int
) -> Iterator[SpanLike]:
    """A span for one run of an outbox job, in the trace of the request that queued it
    (``traceparent``), carrying that request's id; the bound shop is added as on every
    span. A plain ``yield`` when tracing is off."""
    if not active():
        yield NO_SPAN
        return
    from . import otel

    with otel.job_span(kind, row_id, request_id, traceparent, attempt) as span:
        yield span


@contextmanager
def client_span(name: str, attributes: Mapping[str, Any]) -> Iterator[SpanLike]:
    """A client span (a call to another server) around the block; the caller sets what
    the answer says with ``set_attribute``. A plain ``yield`` when tracing is off."""
    if not active():
        yield NO_SPAN
        return
    from . import otel

    with otel.client_span(name, attributes) as span:
        yield span
