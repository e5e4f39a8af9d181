"""The app servers' ``/_metrics`` sampled while a drill runs: what the metrics said, phase
by phase, next to what the shoppers saw.

A thread scrapes every server every few seconds (and once more at each phase change, so
a phase's figures end where it ends). Counters and histograms become the increase over
the phase, summed over the servers, the way Prometheus's ``increase()`` reads them: a
value that went down means the server started again, and counts from zero. Gauges (the
outbox, read from the database at each scrape) keep their highest value of the phase. A
scrape that fails counts as failed for its phase: a killed server shows as missing.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

Key = tuple[str, tuple[tuple[str, str], ...]]  # sample name, sorted labels
CUMULATIVE = {"counter", "histogram", "summary"}
SCRAPE_ROUTE = "/_metrics"  # the scrapes' own requests, left out of the requests figure


def parse(text: str) -> tuple[dict[Key, float], dict[Key, float]]:
    """An exposition as (cumulative samples, gauges); ``_created`` samples left out."""
    cumulative: dict[Key, float] = {}
    gauges: dict[Key, float] = {}
    for family in text_string_to_metric_families(text):
        into = cumulative if family.type in CUMULATIVE else gauges
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            into[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return cumulative, gauges


@dataclass
class Phase:
    """One phase's figures, summed over the servers."""

    name: str
    scrapes: int = 0
    failed: int = 0
    increase: dict[Key, float] = field(default_factory=lambda: defaultdict(float))
    highest: dict[Key, float] = field(default_factory=dict)

    def total(self, name: str, **labels: str) -> float:
        """The increase of every series of ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.increase.items() if n == name and wanted <= set(ls))

    def peak(self, name: str, **labels: str) -> float | None:
        wanted = set(labels.items())
        values = [v for (n, ls), v in self.highest.items() if n == name and wanted <= set(ls)]
        return max(values) if values else None

    def quantile(self, q: float, name: str) -> float | None:
        """``histogram_quantile(q, sum by (le) (increase(name_bucket)))`` over the phase
        (the scrapes' own requests left out)."""
        buckets: dict[float, float] = defaultdict(float)
        for (n, labels), value in self.increase.items():
            found = dict(labels)
            if n == f"{name}_bucket" and found.get("route") != SCRAPE_ROUTE:
                buckets[float(found["le"])] += value
        return histogram_quantile(q, buckets)

    def figures(self) -> dict[str, Any]:
        scrapes = self.total("storefront_http_requests_total", route=SCRAPE_ROUTE)
        requests = self.total("storefront_http_requests_total") - scrapes
        statements = self.total("storefront_http_request_sql_statements_count")
        p95 = self.quantile(0.95, "storefront_http_request_duration_seconds")
        return {
            "scrapes": self.scrapes,
            "scrapes_failed": self.failed,
            "requests": round(requests),
            "5xx": round(self.total("storefront_http_requests_total", status="5xx")),
            "4xx": round(
                self.total("storefront_http_requests_total", status="4xx")
                - self.total("storefront_http_requests_total", route=SCRAPE_ROUTE, status="4xx")
            ),
            "rate_limited": round(self.total("storefront_rate_limit_refusals_total")),
            "p95_ms": None if p95 is None else round(p95 * 1000, 1),
            "sql_per_request": (
                round(self.total("storefront_http_request_sql_statements_sum") / statements, 1)
                if statements
                else None
            ),
            "page_cache_hits": round(self.total("storefront_page_cache_total", result="hit")),
            "outbox_pending_max": self.peak("storefront_outbox_depth", status="pending"),
            "outbox_oldest_s_max": _rounded(self.peak("storefront_outbox_oldest_age_seconds")),
            "outbox_dead_max": self.peak("storefront_outbox_depth", status="dead"),
            "jobs_ok": round(self.total("storefront_job_runs_total", outcome="ok")),
            "jobs_failed": round(
                self.total("storefront_job_runs_total", outcome="failed")
                + self.total("storefront_job_runs_total", outcome="dead")
            ),
            "mails_sent": round(self.total("storefront_mails_total", outcome="sent")),
            "mails_failed": round(self.total("storefront_mails_total", outcome="failed")),
            "webhooks_ok": round(self.total("storefront_webhook_deliveries_total", outcome="ok")),
            "webhooks_failed": round(
                self.total("storefront_webhook_deliveries_total", outcome="failed")
            ),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def histogram_quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """Prometheus's estimate from cumulative bucket counts (upper bound -> count): linear
    within the bucket the rank falls in; the highest finite bound if it falls past it."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    rank = q * buckets[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


class MetricsScraper:
    """Scrapes ``urls`` every ``interval`` seconds into the phase named by ``mark``."""

    def __init__(
        self,
        urls: Iterable[str],
        interval: float = 3.0,
        token: str | None = None,
        timeout: float = 2.0,
        get: Callable[[str], str] | None = None,
    ) -> None:
        self.urls = list(urls)
        self.interval = interval
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._get = get or (lambda url: _get(url, headers, timeout))
        self.phases: dict[str, Phase] = {}
        self.errors: dict[str, str] = {}  # each server's last failed scrape, why
        self._phase = self._open("start")
        self._last: dict[str, dict[Key, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _open(self, name: str) -> Phase:
        return self.phases.setdefault(name, Phase(name))

    def start(self, phase: str = "start") -> None:
        """A first scrape (the baseline: nothing before it counts), then the thread; what
        follows counts for ``phase``."""
        self.sample()
        self._phase = self._open(phase)
        self._thread = threading.Thread(target=self._run, name="metrics-scraper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def mark(self, phase: str) -> None:
        """The phase before ends with a scrape; what follows counts for ``phase``."""
        with self._lock:
            self._sample_all()
            self._phase = self._open(phase)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        self.sample()

    def sample(self) -> None:
        with self._lock:
            self._sample_all()

    def _sample_all(self) -> None:
        phase = self._phase
        for url in self.urls:
            phase.scrapes += 1
            try:
                cumulative, gauges = parse(self._get(url))
            except Exception as exc:  # noqa: BLE001 - a server down, a timeout: counted
                phase.failed += 1
                self.errors[url] = f"{phase.name}: {type(exc).__name__}: {exc}"[:200]
                continue
            self._add(phase, url, cumulative, gauges)

    def _add(
        self, phase: Phase, url: str, cumulative: dict[Key, float], gauges: dict[Key, float]
    ) -> None:
        for key, value in gauges.items():
            phase.highest[key] = max(value, phase.highest.get(key, value))
        before = self._last.get(url)
        self._last[url] = cumulative
        if before is None:  # this server's baseline
            return
        restarted = any(value < before.get(key, 0.0) for key, value in cumulative.items())
        for key, value in cumulative.items():
            previous = 0.0 if restarted else before.get(key, 0.0)
            if value > previous:
                phase.increase[key] += value - previous

    def report(self) -> list[dict[str, Any]]:
        """Each phase's figures, in the order the phases came ("start", before the first
        ``mark``, left out when nothing happened in it)."""
        with self._lock:
            phases = list(self.phases.values())
        return [
            {"phase": p.name, **p.figures()}
            for p in phases
            if not (p.name == "start" and not p.increase and not p.failed)
        ]


def _get(url: str, headers: dict[str, str], timeout: float) -> str:
    answer = httpx.get(url, headers=headers, timeout=timeout)
    answer.raise_for_status()
    return answer.text


COLUMNS = (
    ("phase", "phase", 26),
    ("scrapes", "scrapes", 7),
    ("scrapes_failed", "failed", 6),
    ("requests", "requests", 8),
    ("5xx", "5xx", 5),
    ("rate_limited", "429", 5),
    ("p95_ms", "p95 ms", 7),
    ("sql_per_request", "sql/req", 7),
    ("outbox_pending_max", "outbox", 6),
    ("outbox_oldest_s_max", "oldest s", 8),
    ("jobs_failed", "jobs x", 6),
    ("mails_sent", "mails", 5),
    ("webhooks_ok", "hooks", 5),
    ("webhooks_failed", "hooks x", 7),
)


def table(rows: Iterable[Mapping[str, Any]]) -> str:
    """The report as a fixed-width table, one line per phase."""
    lines = [" ".join(f"{title:>{width}}" if key != "phase" else f"{title:<{width}}"
                      for key, title, width in COLUMNS)]  # fmt: skip
    for row in rows:
        cells = []
        for key, _title, width in COLUMNS:
            value = row.get(key)
            text = "-" if value is None else str(value)
            if isinstance(value, float):
                text = format(value, "g")
            cells.append(f"{text[:width]:<{width}}" if key == "phase" else f"{text:>{width}}")
        lines.append(" ".join(cells))
    return "\n".join(lines)
