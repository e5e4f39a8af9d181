"""The OpenTelemetry side of ``storefront.tracing``: imported only when tracing is on.

- One server span per request, from the outermost WSGI layer (the WSGI middleware the
  Flask instrumentation is built on, not that instrumentation: it starts its span in a
  ``before_request`` hook, so the page cache's answers, the shop's resolution and the
  resolver's own 404/301/503 answers would have none). Flask names it after the route.
- SQL per engine (the SQLAlchemy instrumentation's engine tracer, bound to this app's
  engines only), Redis (the process's clients), outbox jobs and webhook calls.
- ``ShopAttributes`` gives every span the bound shop and the request id when it starts.
- The TracerProvider is made per process on first use, never at import or in
  ``create_app``: gunicorn preloads the app in the master and forks, and a
  BatchSpanProcessor's thread does not survive a fork; the first request or job of each
  process sets it up (``gunicorn.conf.py`` needs no hook).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import Flask, g, has_app_context, has_request_context, request
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from opentelemetry.metrics import get_meter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import Attributes

from ..extensions import db
from ..tenancy.context import current_tenant_or_none
from ..tenancy.request_hooks import ENVIRON_KEY
from . import REQUEST_ID, SHOP_ID, SHOP_SLUG

log = logging.getLogger(__name__)

TRACER = "storefront"
PAGE_CACHE = "storefront.page_cache"  # environ: "hit" when the page cache answered
_REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # the rule of tenancy and the page cache
# Probes and scrapes, every few seconds from every balancer and Prometheus: no traces.
UNTRACED_PATHS = frozenset({"/_health", "/_ready", "/_metrics"})

# The WSGI environ of the request this context serves (set by ``TracedApp``): spans that
# start before Flask's request context exists (the page cache's Redis read, the session)
# or outside it read the shop and the request id from there.
_environ: ContextVar[dict[str, Any] | None] = ContextVar("storefront_trace_environ", default=None)


# What every span carries -------------------------------------------------------------


def current_attributes() -> dict[str, Any]:
    """The shop and request id of what runs now: the bound shop first (a request's, a
    job's, a ``tenant_context`` block's), else the one the request resolved to."""
    found: dict[str, Any] = {}
    environ = _environ.get()
    shop = current_tenant_or_none()
    if shop is None and environ is not None:
        resolution = environ.get(ENVIRON_KEY)
        shop = resolution.tenant if resolution is not None else None
    if shop is not None:
        found[SHOP_ID], found[SHOP_SLUG] = shop.id, shop.slug
    elif environ is not None and environ.get("storefront.shop_id") is not None:
        found[SHOP_ID] = environ["storefront.shop_id"]
        found[SHOP_SLUG] = environ.get("storefront.shop", "")
    request_id = environ.get("storefront.request_id") if environ is not None else None
    if not request_id and has_request_context():
        request_id = request.environ.get("storefront.request_id")
    if not request_id and has_app_context():
        request_id = g.get("request_id")
    if request_id:
        found[REQUEST_ID] = str(request_id)
    return found


class ShopAttributes(SpanProcessor):
    """Stamp each span, as it starts, with the shop and request id (``current_attributes``);
    what is missing there comes from the parent span of this process (a job's request
    id, set on the job's span, reaches its SQL and webhook spans)."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        given = span.attributes or {}
        found = {k: v for k, v in current_attributes().items() if k not in given}
        missing = [k for k in (SHOP_ID, SHOP_SLUG, REQUEST_ID) if k not in found and k not in given]
        if missing:
            parent = trace.get_current_span(parent_context)
            inherited = getattr(parent, "attributes", None) or {}
            found.update((k, inherited[k]) for k in missing if k in inherited)
        if found:
            span.set_attributes(found)

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class RequestsAndJobs(Sampler):
    """A trace starts with a request (server span) or a job (consumer span) only; a
    statement outside both (a worker's sweep, a registry poll) is not a trace of its own.
    Inside a trace, the parent's decision holds (``ParentBased``)."""

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[trace.Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        if kind in (SpanKind.SERVER, SpanKind.CONSUMER):
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, trace_state)
        return SamplingResult(Decision.DROP, None, trace_state)

    def get_description(self) -> str:
        return "RequestsAndJobs"


def make_provider(
    exporter: SpanExporter | None = None, processor: type[SpanProcessor] | None = None
) -> TracerProvider:
    """A TracerProvider for this platform: the sampler (``OTEL_TRACES_SAMPLER`` when set,
    else requests and jobs), the shop attributes, and ``exporter`` (OTLP over HTTP, set
    by the standard ``OTEL_EXPORTER_OTLP_*`` variables) behind a ``processor``
    (``BatchSpanProcessor``)."""
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "storefront"}
    options: dict[str, Any] = {"resource": Resource.create(attributes)}
    if not os.environ.get("OTEL_TRACES_SAMPLER"):
        options["sampler"] = ParentBased(RequestsAndJobs())
    provider = TracerProvider(**options)
    provider.add_span_processor(ShopAttributes())
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    provider.add_span_processor((processor or BatchSpanProcessor)(exporter))  # type: ignore[call-arg]
    return provider


_ready_in: int | None = None  # the process whose provider is set up
_lock = threading.Lock()


def ensure_provider() -> None:
    """Set up this process's TracerProvider, once (cheap after the first call). One set
    already (by the tests, or by ``opentelemetry-instrument``) is kept, with the shop
    attributes added; a process forked after it keeps its parent's (the SDK restarts the
    batch thread in the child)."""
    global _ready_in
    if _ready_in == os.getpid():
        return
    with _lock:
        if _ready_in == os.getpid():
            return
        provider = trace.get_tracer_provider()
        if isinstance(provider, TracerProvider):
            # The SDK has no public list of a provider's processors.
            processors = provider._active_span_processor._span_processors
            if not any(isinstance(p, ShopAttributes) for p in processors):
                provider.add_span_processor(ShopAttributes())
        elif type(provider).__name__ == "ProxyTracerProvider":  # none set yet
            trace.set_tracer_provider(make_provider())
        else:
            log.warning("tracing: a %s is set; spans go there as they are", type(provider))
        _ready_in = os.getpid()


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER)


# The request --------------------------------------------------------------------------


class TracedApp:
    """The outermost WSGI layer: the process's provider, the request id fixed before
    anything runs (every span of the request carries it: the layers inside read it as
    the given ``X-Request-ID``), then the server span (``OpenTelemetryMiddleware``)."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app
        self.traced = OpenTelemetryMiddleware(wsgi_app, response_hook=_on_response)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") in UNTRACED_PATHS:
            return self.wsgi_app(environ, start_response)
        ensure_provider()
        given = environ.get(_REQUEST_ID_HEADER, "")
        if not _REQUEST_ID.match(given):
            environ[_REQUEST_ID_HEADER] = given = secrets.token_hex(16)
        environ["storefront.request_id"] = given
        token = _environ.set(environ)
        try:
            return self.traced(environ, start_response)
        finally:
            _environ.reset(token)


def _on_response(span: trace.Span, environ: dict[str, Any], status: str, headers: Any) -> None:
    """The server span learns, when the answer starts, what the request turned out to be:
    its route (Flask's rule), or that the page cache answered it; its shop and id."""
    if not span.is_recording():
        return
    method = environ.get("REQUEST_METHOD", "GET")
    rule = request.url_rule if has_request_context() else None
    if rule is not None:
        span.update_name(f"{method} {rule.rule}")
        span.set_attribute("http.route", rule.rule)
    elif environ.get(PAGE_CACHE) == "hit":
        span.update_name(f"{method} (page cache)")
        span.set_attribute(PAGE_CACHE, "hit")
    token = _environ.set(environ)
    try:
        found = current_attributes()
    finally:
        _environ.reset(token)
    if found:
        span.set_attributes(found)


# What requests and jobs call ----------------------------------------------------------


def instrument(app: Flask) -> None:
    """Trace ``app``: its requests, its engines' SQL, the process's Redis clients."""
    app.wsgi_app = TracedApp(app.wsgi_app)  # type: ignore[method-assign]
    counter = get_meter(TRACER).create_up_down_counter("db.client.connections.usage")
    sql_tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    with app.app_context():
        for engine in db.engines.values():
            if not getattr(engine, "_storefront_traced", False):
                EngineTracer(sql_tracer, engine, counter)
                engine._storefront_traced = True  # type: ignore[attr-defined]
    instrumentor = RedisInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def traceparent() -> str:
    """The current span's W3C ``traceparent`` ("" outside a span)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent", "")[:64]


@contextmanager
def job_span(
    kind: str, row_id: int, request_id: str, traceparent: str, attempt: int
) -> Iterator[trace.Span]:
    """A consumer span for an outbox job, a child of the request that queued it."""
    ensure_provider()
    parent = propagate.extract({"traceparent": traceparent}) if traceparent else None
    attributes: dict[str, Any] = {
        "storefront.outbox.kind": kind,
        "storefront.outbox.id": row_id,
        "storefront.outbox.attempt": attempt,
    }
    if request_id:
        attributes[REQUEST_ID] = request_id
    with tracer().start_as_current_span(
        f"outbox {kind}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    ) as span:
        yield span


@contextmanager
def client_span(name: str, attributes: Mapping[str, Any]) -> Iterator[trace.Span]:
    """A client span; an exception passing through marks it failed (and is recorded)."""
    with tracer().start_as_current_span(
        name, kind=SpanKind.CLIENT, attributes=dict(attributes)
    ) as span:
        yield span
