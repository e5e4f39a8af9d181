"""Per-shop figures: what each shop costs the platform, by day and by minute.

Never metric labels (one series per shop per label set would grow without bound with
the fleet; docs/decisions.md): counters per shop per day instead, in Redis when
``REDIS_URL`` is set (hash ``usage:{shop_id}:{YYYYMMDD}``, kept ``USAGE_RETENTION_DAYS``),
in a dict of the process in the embedded default. Per-minute buckets of the last few
minutes tell the busiest shops (``busiest``), the only ones a scrape shows by name.

Recording costs a dict update under a lock: nothing leaves the process on the request's
way. With Redis a thread of each process sends what it gathered once a second, in one
pipeline (``USAGE_FLUSH_SECONDS``; 0 sends at each ``record``). A Redis outage loses at
most those figures, logged once in a while, and never fails or slows a request: the
thread is the one waiting for the timeout. Readers (``today``, ``days``, ``busiest``)
send this process's pending figures first, so a process reads its own writes.

Days are UTC days.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Flask, current_app, has_app_context

log = logging.getLogger(__name__)

# Whole numbers, and the one float: worker seconds.
COUNTS = (
    "requests",
    "errors",
    "sql_statements",
    "rate_limited",
    "orders",
    "webhook_failed",
    "mail_failed",
)
SECONDS = ("request_seconds",)
FIELDS = ("requests", "errors", "request_seconds", *COUNTS[2:])
# What the per-minute buckets keep (the busiest shops' gauges).
MINUTE_FIELDS = ("requests", "errors", "request_seconds")
_KNOWN = frozenset(FIELDS)
WINDOW_MINUTES = 5
MINUTE_TTL = 15 * 60
OUTAGE_LOG_INTERVAL = 60.0


def empty() -> dict[str, Any]:
    figures: dict[str, Any] = dict.fromkeys(COUNTS, 0)
    figures["request_seconds"] = 0.0
    return {name: figures[name] for name in FIELDS}


def _clean(raw: Mapping[Any, Any]) -> dict[str, Any]:
    figures = empty()
    for key, value in raw.items():
        name = key.decode() if isinstance(key, bytes) else str(key)
        if name not in figures:
            continue
        try:
            figures[name] = round(float(value), 3) if name in SECONDS else int(float(value))
        except (TypeError, ValueError):
            continue
    return figures


def day_of(moment: float) -> str:
    return time.strftime("%Y%m%d", time.gmtime(moment))


_stamp: tuple[int, str] = (-1, "")


def _minute_and_day(moment: float) -> tuple[int, str]:
    """(minute number, UTC day) of a moment; the day worked out once a minute."""
    global _stamp
    minute = int(moment // 60)
    known = _stamp
    if known[0] != minute:
        known = _stamp = (minute, day_of(minute * 60))
    return known


@dataclass(frozen=True)
class ShopLoad:
    """One shop's share of the last ``WINDOW_MINUTES`` minutes (per-minute averages)."""

    shop_id: int
    requests_per_minute: float
    busy_seconds_per_minute: float
    errors_per_minute: float
    busy_share: float  # of every shop's worker seconds in the window, 0..1


class Store(Protocol):
    def add(self, shop_id: int, counts: Mapping[str, float], moment: float) -> None: ...
    def day(self, shop_id: int, day: str) -> dict[str, Any]: ...
    def days(self, shop_id: int, days: list[str]) -> list[dict[str, Any]]: ...
    def minutes(self, minutes: list[int]) -> dict[int, dict[str, float]]: ...
    def flush(self) -> None: ...


class MemoryStore:
    """The embedded default: this process's own figures (each web process keeps its own)."""

    def __init__(self, retention_days: int) -> None:
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self._days: dict[tuple[int, str], dict[str, float]] = {}
        self._minutes: dict[int, dict[int, dict[str, float]]] = {}

    def add(self, shop_id: int, counts: Mapping[str, float], moment: float) -> None:
        minute, day = _minute_and_day(moment)
        with self._lock:
            figures = self._days.get((shop_id, day))
            if figures is None:
                figures = self._days[(shop_id, day)] = defaultdict(float)
                self._prune(moment)
            for name, value in counts.items():
                figures[name] += value
            bucket = self._minutes.get(minute)
            if bucket is None:
                bucket = self._minutes[minute] = {}
                for old in [m for m in self._minutes if m < minute - WINDOW_MINUTES * 2]:
                    del self._minutes[old]
            shop = bucket.get(shop_id)
            if shop is None:
                shop = bucket[shop_id] = defaultdict(float)
            for name in MINUTE_FIELDS:
                if name in counts:
                    shop[name] += counts[name]

    def _prune(self, moment: float) -> None:
        oldest = day_of(moment - self.retention_days * 86400)
        for key in [k for k in self._days if k[1] < oldest]:
            del self._days[key]

    def day(self, shop_id: int, day: str) -> dict[str, Any]:
        with self._lock:
            return _clean(self._days.get((shop_id, day), {}))

    def days(self, shop_id: int, days: list[str]) -> list[dict[str, Any]]:
        return [self.day(shop_id, day) for day in days]

    def minutes(self, minutes: list[int]) -> dict[int, dict[str, float]]:
        total: dict[int, dict[str, float]] = {}
        with self._lock:
            for minute in minutes:
                for shop_id, figures in self._minutes.get(minute, {}).items():
                    into = total.setdefault(shop_id, defaultdict(float))
                    for name, value in figures.items():
                        into[name] += value
        return total

    def flush(self) -> None:
        return None


class RedisStore:
    """Figures of every process in Redis; this process's pending ones in a buffer."""

    def __init__(self, client: Any, prefix: str, retention_days: int, interval: float) -> None:
        self.client, self.prefix = client, prefix
        self.ttl = retention_days * 86400
        self.interval = interval
        self._lock = threading.Lock()
        self._days: dict[tuple[int, str], dict[str, float]] = {}
        self._minutes: dict[tuple[int, int], dict[str, float]] = {}
        self._logged_at = float("-inf")

    def day_key(self, shop_id: int, day: str) -> str:
        return f"{self.prefix}usage:{shop_id}:{day}"

    def minute_key(self, minute: int) -> str:
        return f"{self.prefix}usage:m:{minute}"

    def add(self, shop_id: int, counts: Mapping[str, float], moment: float) -> None:
        minute, day = _minute_and_day(moment)
        with self._lock:
            figures = self._days.get((shop_id, day))
            if figures is None:
                figures = self._days[(shop_id, day)] = defaultdict(float)
            for name, value in counts.items():
                figures[name] += value
            per_minute = self._minutes.get((minute, shop_id))
            if per_minute is None:
                per_minute = self._minutes[(minute, shop_id)] = defaultdict(float)
            for name in MINUTE_FIELDS:
                if name in counts:
                    per_minute[name] += counts[name]
        if self.interval <= 0:
            self.flush()
        else:
            _flusher.watch(self)

    def flush(self) -> None:
        """Send the pending figures in one pipeline; on failure they are dropped (and
        the failure logged at most once a minute): a count lost, never a request."""
        with self._lock:
            days, minutes = self._days, self._minutes
            self._days, self._minutes = {}, {}
        if not days and not minutes:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            for (shop_id, day), figures in days.items():
                key = self.day_key(shop_id, day)
                for name, value in figures.items():
                    if name in SECONDS:
                        pipe.hincrbyfloat(key, name, round(value, 6))
                    else:
                        pipe.hincrby(key, name, int(value))
                pipe.expire(key, self.ttl)
            touched = set()
            for (minute, shop_id), figures in minutes.items():
                key = self.minute_key(minute)
                touched.add(key)
                for name, value in figures.items():
                    pipe.hincrbyfloat(key, f"{shop_id}:{name}", round(value, 6))
            for key in touched:
                pipe.expire(key, MINUTE_TTL)
            pipe.execute()
        except Exception as exc:  # noqa: BLE001 - Redis down: figures lost, requests fine
            now = time.monotonic()
            if now - self._logged_at >= OUTAGE_LOG_INTERVAL:
                self._logged_at = now
                log.warning("shop usage figures not recorded (Redis: %s)", exc)

    def day(self, shop_id: int, day: str) -> dict[str, Any]:
        return self.days(shop_id, [day])[0]

    def days(self, shop_id: int, days: list[str]) -> list[dict[str, Any]]:
        self.flush()
        try:
            pipe = self.client.pipeline(transaction=False)
            for day in days:
                pipe.hgetall(self.day_key(shop_id, day))
            return [_clean(raw) for raw in pipe.execute()]
        except Exception as exc:  # noqa: BLE001 - unknown, shown as nothing
            log.warning("shop usage figures unavailable (Redis: %s)", exc)
            return [empty() for _ in days]

    def minutes(self, minutes: list[int]) -> dict[int, dict[str, float]]:
        self.flush()
        pipe = self.client.pipeline(transaction=False)
        for minute in minutes:
            pipe.hgetall(self.minute_key(minute))
        total: dict[int, dict[str, float]] = {}
        for raw in pipe.execute():  # the caller decides what an outage means
            for field, value in raw.items():
                shop, _, name = field.decode().partition(":")
                if not shop.isdigit():
                    continue
                into = total.setdefault(int(shop), defaultdict(float))
                into[name] += float(value)
        return total


class _Flusher:
    """One daemon thread per process sends every live Redis store's figures each
    interval. Started on first use in the process (a gunicorn worker is forked from the
    master without the master's threads)."""

    def __init__(self) -> None:
        self._stores: weakref.WeakSet[RedisStore] = weakref.WeakSet()
        self._pid = 0
        self._lock = threading.Lock()

    def watch(self, store: RedisStore) -> None:
        if self._pid == os.getpid() and store in self._stores:
            return
        with self._lock:
            self._stores.add(store)
            if self._pid != os.getpid():
                self._pid = os.getpid()
                thread = threading.Thread(target=self._run, name="usage-flush", daemon=True)
                thread.start()

    def _run(self) -> None:
        while True:
            stores = list(self._stores)
            interval = min((s.interval for s in stores), default=1.0)
            time.sleep(max(interval, 0.1))
            for store in list(self._stores):
                store.flush()


_flusher = _Flusher()
_fallback = MemoryStore(retention_days=8)


def init_usage(app: Flask) -> None:
    retention = int(app.config.get("USAGE_RETENTION_DAYS", 8))
    url = app.config.get("REDIS_URL")
    store: Store
    if url:
        from .. import redisconn

        client = redisconn.client(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        store = RedisStore(
            client,
            str(app.config.get("CACHE_KEY_PREFIX") or ""),
            retention,
            float(app.config.get("USAGE_FLUSH_SECONDS", 1.0)),
        )
    else:
        store = MemoryStore(retention)
    app.extensions["storefront.usage"] = store


def store() -> Store:
    if has_app_context():
        found = current_app.extensions.get("storefront.usage")
        if found is not None:
            return found  # type: ignore[no-any-return]
    return _fallback


def shared() -> bool:
    """Whether every process sees the same figures (Redis), or each its own."""
    return isinstance(store(), RedisStore)


def record(shop_id: int | None, **counts: float) -> None:
    """Add to a shop's figures for today (``requests=1, request_seconds=0.04``). Never
    raises; unknown names are ignored."""
    record_in(store(), shop_id, **counts)


def record_in(into: Store, shop_id: int | None, **counts: float) -> None:
    """``record`` into a given store (the WSGI layer's, which runs outside the app
    context)."""
    if shop_id is None:
        return
    try:
        wanted = {name: value for name, value in counts.items() if value and name in _KNOWN}
        if wanted:
            into.add(shop_id, wanted, time.time())
    except Exception:
        log.debug("usage not recorded", exc_info=True)


def today(shop_id: int) -> dict[str, Any]:
    """A shop's figures so far today (UTC): ``requests``, ``errors`` (5xx),
    ``request_seconds`` (worker seconds), ``sql_statements``, ``rate_limited``,
    ``orders``, ``webhook_failed``, ``mail_failed``. Zeros when nothing is known (or
    Redis does not answer); never raises."""
    try:
        return store().day(int(shop_id), day_of(time.time()))
    except Exception:
        log.warning("shop usage figures unavailable", exc_info=True)
        return empty()


def days(shop_id: int, n: int = 7) -> list[dict[str, Any]]:
    """The last ``n`` days, today first; each with ``day`` (YYYY-MM-DD) and the fields."""
    now = time.time()
    keys = [day_of(now - i * 86400) for i in range(max(1, n))]
    try:
        rows = store().days(int(shop_id), keys)
    except Exception:
        log.warning("shop usage figures unavailable", exc_info=True)
        rows = [empty() for _ in keys]
    return [{"day": f"{k[:4]}-{k[4:6]}-{k[6:]}", **row} for k, row in zip(keys, rows, strict=True)]


def busiest(n: int = 10) -> list[ShopLoad]:
    """The ``n`` shops that took the most worker seconds in the last ``WINDOW_MINUTES``
    minutes (the current one included), per-minute averages. Raises when Redis does not
    answer (the scrape leaves the per-shop gauges out)."""
    now_minute = int(time.time() // 60)
    minutes = [now_minute - i for i in range(WINDOW_MINUTES)]
    loads = store().minutes(minutes)
    total = sum(f.get("request_seconds", 0.0) for f in loads.values())
    ranked = sorted(
        loads.items(),
        key=lambda item: (item[1].get("request_seconds", 0.0), item[1].get("requests", 0.0)),
        reverse=True,
    )[:n]
    return [
        ShopLoad(
            shop_id=shop_id,
            requests_per_minute=round(f.get("requests", 0.0) / WINDOW_MINUTES, 3),
            busy_seconds_per_minute=round(f.get("request_seconds", 0.0) / WINDOW_MINUTES, 4),
            errors_per_minute=round(f.get("errors", 0.0) / WINDOW_MINUTES, 3),
            busy_share=round(f.get("request_seconds", 0.0) / total, 4) if total else 0.0,
        )
        for shop_id, f in ranked
    ]


def totals(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The sum of several days' figures."""
    out = empty()
    for row in rows:
        for name in FIELDS:
            out[name] += row.get(name, 0)
    out["request_seconds"] = round(out["request_seconds"], 3)
    return out
