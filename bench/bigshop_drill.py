"""Fairness drill: a big shop searched as fast as one client can does not slow a small
shop down. ``python -m bench bigshop --drill [--quick] [--db sqlite|mariadb]``.

The platform runs as shipped: ``gunicorn -c gunicorn.conf.py wsgi:application`` in
production mode (its worker count, rate limits counted in Redis, the page cache on), on
the kept big-shop build (``bigshop_data``). First the small shop's product page is read
alone (its quiet p99); then for the drill's seconds one client (a process of its own)
sends distinct searches to the big shop from four connections at once while another
reads that product page again. Goals: the small shop's p99 under the load at most twice
its quiet p99, and no 5xx (a 429 from a rate limit is an answer the platform chose, and
is counted apart). Loopback only; every loop ends at its deadline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from .bigshop_data import Built, Sizes, ensure
from .net import free_port, wait_port
from .stats import goal, percentile

P99_GOAL = 2.0
REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def start_platform(built: Built) -> tuple[subprocess.Popen[bytes], int, Path]:
    """gunicorn with the repository's gunicorn.conf.py and wsgi.py, production settings
    from the environment as docs/deploy.md sets them; returns it, its port, its log."""
    port = free_port()
    root = Path(built.root)
    log = root / "drill-gunicorn.log"
    run = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "STOREFRONT_ENVIRONMENT": "production",
        "STOREFRONT_SECRET_KEY": "bench-bigshop-drill-" + "k" * 32,
        "STOREFRONT_DATABASE_URL": built.url,
        "STOREFRONT_TENANTS_DIR": str(root / "tenants"),
        "STOREFRONT_INSTANCE_PATH": str(root / "instance"),
        "STOREFRONT_REDIS_URL": REDIS_URL,
        "STOREFRONT_CACHE_KEY_PREFIX": f"bench-bigshop-{run}:",
        "STOREFRONT_RATELIMIT_KEY_PREFIX": f"bench-bigshop-{run}",
        "STOREFRONT_MAIL_BACKEND": "locmem",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "PYTHONPATH": str(REPO),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:application"],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    wait_port(port, timeout=60)
    return server, port, log


class Load:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.lock = threading.Lock()
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.stop = threading.Event()

    def count(self, who: str, status: int) -> None:
        with self.lock:
            self.statuses[(who, status)] += 1

    def read(self, host: str, path: str, seconds: float) -> list[float]:
        """One client reading ``path`` one request after another for ``seconds``."""
        latencies = []
        deadline = time.monotonic() + seconds
        with httpx.Client(timeout=30, headers={"Host": host}) as client:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    status = client.get(self.base + path).status_code
                except httpx.HTTPError:
                    status = 599
                latencies.append(time.perf_counter() - started)
                self.count("reader", status)
        return latencies

    def search(self, host: str, queries: list[str], offset: int, step: int) -> None:
        """One of the searching client's connections: distinct queries until stopped."""
        n = offset
        with httpx.Client(timeout=30, headers={"Host": host}) as client:
            while not self.stop.is_set():
                query = f"{queries[n % len(queries)]} {n // len(queries)}".strip()
                try:
                    status = client.get(self.base + "/search", params={"q": query}).status_code
                except httpx.HTTPError:
                    status = 599
                self.count("searcher", status)
                n += step


def drill(built: Built, seconds: float, connections: int) -> dict[str, Any]:

    server, port, log = start_platform(built)
    try:
        load = Load(port)
        small_page = f"/p/{_first_slug(built)}"
        load.read(built.small.host, small_page, 3.0)  # every worker warm
        load.statuses.clear()
        print(f"quiet: the small shop's {small_page} alone for {seconds:.0f} s", flush=True)
        quiet = load.read(built.small.host, small_page, seconds)
        print(f"loaded: {connections} connections searching the big shop, {seconds:.0f} s",
              flush=True)  # fmt: skip
        started = time.monotonic()
        # The searching client is a process of its own: its threads do not take the
        # reader's turn at the interpreter, only the machine's cores.
        searcher = subprocess.Popen(
            [sys.executable, "-m", "bench.bigshop_drill", "search", str(port), built.big.host,
             str(seconds), str(connections)],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        loaded = load.read(built.small.host, small_page, seconds)
        said, _ = searcher.communicate(timeout=seconds + 60)
        for key, n in json.loads(said.strip().splitlines()[-1]).items():
            load.statuses[("searcher", int(key))] += n
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(60)
    by_status = {f"{who} {status}": n for (who, status), n in sorted(load.statuses.items())}
    errors = sum(n for (_who, status), n in load.statuses.items() if status >= 500)
    limited = sum(n for (_who, status), n in load.statuses.items() if status == 429)
    searches = sum(n for (who, _status), n in load.statuses.items() if who == "searcher")
    quiet_p99, loaded_p99 = percentile(quiet, 99) * 1000, percentile(loaded, 99) * 1000
    ratio = loaded_p99 / quiet_p99
    result = {
        "database": "SQLite" if built.url.startswith("sqlite") else "MariaDB",
        "big_shop": {"products": built.big.products, "orders": built.big.orders},
        "seconds": seconds,
        "search_connections": connections,
        "searches": searches,
        "searches_per_s": searches / elapsed,
        "small_quiet": {"requests": len(quiet), "p50_ms": percentile(quiet, 50) * 1000,
                        "p99_ms": quiet_p99},
        "small_loaded": {"requests": len(loaded), "p50_ms": percentile(loaded, 50) * 1000,
                         "p99_ms": loaded_p99},
        "p99_ratio": ratio,
        "responses_5xx": errors,
        "responses_429": limited,
        "by_status": by_status,
        "met_p99": goal("bigshop-drill", "small shop p99 under a searched big shop vs quiet",
                        ratio, P99_GOAL, at_most=True),
        "met_5xx": goal("bigshop-drill", "5xx during the drill", errors, 0, at_most=True),
        "server_log": str(log),
    }  # fmt: skip
    return result


def _first_slug(built: Built) -> str:
    from sqlalchemy import select

    from storefront.catalog.models import Product
    from storefront.extensions import db
    from storefront.tenancy import tenant_context
    from storefront.tenancy.registry import context_for

    from .bigshop_data import open_app

    app = open_app(Path(built.root), None if built.url.startswith("sqlite") else built.url)
    with app.app_context(), tenant_context(context_for(built.small.slug)):
        return str(db.session.scalar(select(Product.slug).order_by(Product.id).limit(1)))


def run(url: str | None, sizes: Sizes, rebuild: bool, quick: bool) -> dict[str, Any]:
    built = ensure(url, sizes, rebuild)
    seconds = 10.0 if quick else 30.0
    result = drill(built, seconds, connections=4)
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bigshop-drill.json").write_text(json.dumps(result, indent=2))
    if result["responses_5xx"]:  # a failed drill fails `make drills`
        print(f"5xx during the drill: see {result['server_log']}")
        sys.exit(1)
    return result


def search_client(port: int, host: str, seconds: float, connections: int) -> dict[str, int]:
    """The searching client: ``connections`` at once, distinct queries, for ``seconds``."""
    from .bigshop import search_queries

    load = Load(port)
    queries = search_queries(2000, seed=11)
    threads = [
        threading.Thread(target=load.search, args=(host, queries, i, connections), daemon=True)
        for i in range(connections)
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    load.stop.set()
    for thread in threads:
        thread.join(35)
    return {str(status): n for (_who, status), n in load.statuses.items()}


if __name__ == "__main__" and sys.argv[1:2] == ["search"]:
    print(json.dumps(search_client(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]),
                                   int(sys.argv[5]))))  # fmt: skip
