"""Scaling in shops: 10, 1,000 and 10,000 shops, the same request mix spread over all.

Each size runs in its own process, so resident memory is that size's alone. Reports
latency (and its ratio to 10 shops), resident memory, compiled templates kept, and SQL
queries per request. Every shop overrides its footer, so every shop compiles a template
of its own: the template cache (an LRU of TEMPLATE_CACHE_SIZE) is what bounds memory.
The page cache is off: this measures resolution and rendering.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from typing import Any

from .platform_setup import QueryCounter, build_app, migrate, provision, temp_root
from .stats import rss_mb, summary, table

SIZES = (10, 1_000, 10_000)
PATHS = ("/", "/products", "/p/product-1", "/p/product-4")


def worker(shops: int, requests: int) -> dict[str, Any]:
    root = temp_root(f"scale-{shops}")
    try:
        extra = {}
        if os.environ.get("BENCH_TEMPLATE_CACHE_SIZE"):
            extra["TEMPLATE_CACHE_SIZE"] = int(os.environ["BENCH_TEMPLATE_CACHE_SIZE"])
        app = build_app(root, SHOP_PAGE_CACHE=False, **extra)
        migrate(app)
        hosts = provision(app, shops, overrides=True)
        client = app.test_client(use_cookies=False)
        baseline_rss = rss_mb()
        for i, host in enumerate(hosts):  # every shop renders a page once
            response = client.get(PATHS[i % len(PATHS)], headers={"Host": host})
            assert response.status_code == 200, (host, response.status_code)
        counter = QueryCounter(app)
        rng = random.Random(42)
        latencies = []
        started = time.perf_counter()
        for _ in range(requests):
            host = rng.choice(hosts)
            path = rng.choice(PATHS)
            t0 = time.perf_counter()
            response = client.get(path, headers={"Host": host})
            latencies.append(time.perf_counter() - t0)
            assert response.status_code == 200
            assert f"footer of {host.split('.')[0]}" in response.text  # its own override
        elapsed = time.perf_counter() - started
        return {
            "shops": shops,
            **summary(latencies, elapsed),
            "queries_per_request": counter.count / requests,
            "rss_mb": rss_mb(),
            "rss_growth_mb": rss_mb() - baseline_rss,
            "templates_cached": len(app.jinja_env.cache or {}),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(quick: bool = False) -> dict[str, Any]:
    requests = 600 if quick else 3000
    rows = []
    for shops in SIZES:
        out = subprocess.run(
            [sys.executable, "-m", "bench.scale", str(shops), str(requests)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    base = rows[0]
    for row in rows:
        row["p50_ratio"] = row["p50_ms"] / base["p50_ms"]
        row["p99_ratio"] = row["p99_ms"] / base["p99_ms"]
    print(
        table(
            rows,
            [
                "shops",
                "requests",
                "rps",
                "p50_ms",
                "p99_ms",
                "p50_ratio",
                "p99_ratio",
                "queries_per_request",
                "rss_mb",
                "templates_cached",
            ],
        )
    )
    return {"rows": rows, "requests_per_size": requests}


if __name__ == "__main__":
    print(json.dumps(worker(int(sys.argv[1]), int(sys.argv[2]))))
