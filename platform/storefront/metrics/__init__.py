"""The platform's metrics, in the Prometheus format (``prometheus_client``).

Process-wide counters and histograms with bounded labels only (a route, a method, a
status class, an outcome: never a shop). Under gunicorn every worker writes its values
to files in ``PROMETHEUS_MULTIPROC_DIR`` (set by gunicorn.conf.py before the app is
loaded) and a scrape of any worker sums them; without it (``flask run``, the tests) the
default registry of the process holds them. Per-shop figures live in ``usage``.

The names are a contract with the dashboards and alerts (docs/operators.md, "Metrics").
Every helper here is cheap and never raises: counting must not fail what it counts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # named, perhaps not made yet (a worker's)
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

# Web requests take milliseconds to a few seconds (the worker timeout is 30 s).
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_STATEMENTS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500)
_SQL_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
_JOB_SECONDS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


def _once(kind: Any, name: str, documentation: str, *args: Any, **kwargs: Any) -> Any:
    """The metric ``name``, made once per process: a module imported again (a reload, a
    test that forgets modules) finds the one the registry holds instead of failing."""
    from prometheus_client import REGISTRY

    existing = REGISTRY._names_to_collectors.get(name)  # the registry has no public lookup
    if existing is not None:
        return existing
    return kind(name, documentation, *args, **kwargs)


HTTP_REQUESTS = _once(
    Counter,
    "storefront_http_requests_total",
    "Requests answered, by route, method and status class (page-cache answers included).",
    ["route", "method", "status"],
)
HTTP_DURATION = _once(
    Histogram,
    "storefront_http_request_duration_seconds",
    "Time from the request reaching the app to its body's end, by route and method.",
    ["route", "method"],
    buckets=_SECONDS,
)
HTTP_SQL_STATEMENTS = _once(
    Histogram,
    "storefront_http_request_sql_statements",
    "SQL statements run by one request.",
    buckets=_STATEMENTS,
)
HTTP_SQL_SECONDS = _once(
    Histogram,
    "storefront_http_request_sql_seconds",
    "Time one request spent in SQL statements (driver calls).",
    buckets=_SQL_SECONDS,
)
PAGE_CACHE = _once(
    Counter,
    "storefront_page_cache_total",
    "Shop pages looked up in the page cache: hit, miss (Flask rendered it), bypass (not "
    "cacheable: not a GET, a personal cookie, no shop, the cache down or off).",
    ["result"],
)
RATE_LIMIT_REFUSALS = _once(
    Counter,
    "storefront_rate_limit_refusals_total",
    "Requests refused with 429, by the limit (its route when it has no name of its own).",
    ["limit"],
)
JOB_RUNS = _once(
    Counter,
    "storefront_job_runs_total",
    "Jobs run (outbox and periodic tasks), by kind and outcome (ok, failed, dead).",
    ["kind", "outcome"],
)
JOB_DURATION = _once(
    Histogram,
    "storefront_job_duration_seconds",
    "Time one job ran, by kind.",
    ["kind"],
    buckets=_JOB_SECONDS,
)
WEBHOOK_DELIVERIES = _once(
    Counter,
    "storefront_webhook_deliveries_total",
    "Webhook delivery attempts, by outcome (ok, failed).",
    ["outcome"],
)
MAILS = _once(Counter, "storefront_mails_total", "Mails handed to the mail backend.", ["outcome"])
SANDBOX_REFUSALS = _once(
    Counter,
    "storefront_sandbox_refusals_total",
    "Shop template renders stopped by a sandbox budget, by budget.",
    ["budget"],
)
PAYMENT_EVENTS = _once(
    Counter,
    "storefront_payment_events_total",
    "Payment provider events received, by provider and outcome (applied, ignored, refused).",
    ["provider", "outcome"],
)


def _safe_inc(counter: Counter, *labels: str, amount: float = 1.0) -> None:
    try:
        counter.labels(*labels).inc(amount)
    except Exception:
        log.debug("metric %s not counted", counter, exc_info=True)


def job_ran(kind: str, outcome: str, seconds: float) -> None:
    """A job (outbox row or periodic task) finished: ``outcome`` ok, failed or dead."""
    _safe_inc(JOB_RUNS, kind, outcome)
    try:
        JOB_DURATION.labels(kind).observe(seconds)
    except Exception:
        log.debug("job duration not observed", exc_info=True)


def webhook_delivered(ok: bool) -> None:
    _safe_inc(WEBHOOK_DELIVERIES, "ok" if ok else "failed")


def mail_sent(ok: bool, count: int = 1) -> None:
    _safe_inc(MAILS, "sent" if ok else "failed", amount=count)


def sandbox_refused(budget: str) -> None:
    _safe_inc(SANDBOX_REFUSALS, budget)


def payment_event(provider: str, outcome: str) -> None:
    """A provider's event: ``applied`` (it changed an order), ``ignored`` (nothing to
    do: unknown type, replay) or ``refused`` (bad signature or payload)."""
    _safe_inc(PAYMENT_EVENTS, provider, outcome)


def rate_limited(limit: str) -> None:
    _safe_inc(RATE_LIMIT_REFUSALS, limit)


RATE_LIMIT_ENVIRON = "storefront.rate_limit"


def refused_by(limit: str) -> None:
    """Name the limit behind this request's 429 (``storefront_rate_limit_refusals_total``
    counts the answer under it; without a name, under the route)."""
    from flask import has_request_context, request

    if has_request_context():
        request.environ[RATE_LIMIT_ENVIRON] = limit


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition(extra: Iterable[Collector] = ()) -> bytes:
    """The text a scrape gets: every process's counters (summed over the workers in
    multiprocess mode), then ``extra`` collectors (gauges read at scrape time)."""
    from prometheus_client import REGISTRY

    directory = multiprocess_dir()
    if directory:
        base = CollectorRegistry()
        MultiProcessCollector(base, path=directory)
    else:
        base = REGISTRY
    text = generate_latest(base)
    scrape = CollectorRegistry(auto_describe=False)
    for collector in extra:
        scrape.register(collector)
    return text + generate_latest(scrape)


def init_metrics(app: Any) -> None:
    """Measure every request (around the page cache: its answers count too), count SQL
    statements per request, and keep per-shop figures (``usage``)."""
    from ..extensions import db
    from .requests import RequestMetrics, count_statements, note_route
    from .usage import init_usage

    init_usage(app)
    with app.app_context():
        count_statements(db.engine)
    app.url_value_preprocessor(note_route)
    app.wsgi_app = RequestMetrics(app.wsgi_app, app)
