"""Scaling in shops: 10, 1,000, 10,000 and 100,000 shops.

Up to 10,000 shops the same request mix is spread over all of them, each shop having
rendered once. At 100,000 shops every shop is registered (rows, domain, a folder with
its ``tenant.toml`` and override) and the mix is spread over 1,000 of them taken across
the whole range: what is measured is that shops a worker does not serve cost it
nothing, neither time nor memory (a worker cannot keep 100,000 shops' compiled
templates; a balancer with host affinity, or a platform's usual minority of busy shops,
gives it a working set). The first request of each of those shops is reported apart
(``cold_p50_ms``).

Each size runs in its own process, so resident memory is that size's alone. Every shop
overrides its footer, so every shop compiles a template of its own. The page cache is
off: this measures resolution and rendering. The worker is set up as ``wsgi.py`` sets
up a production one (``storefront.serving.settle``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from storefront.serving import settle

from .platform_setup import QueryCounter, build_app, migrate, provision, temp_root
from .stats import goal, percentile, rss_mb, summary, table

SIZES = (10, 1_000, 10_000, 100_000)
SERVED_AT_MOST = 10_000  # above this, requests go to ACTIVE shops of the range
ACTIVE = 1_000
GOALS = {10_000: 1.10, 100_000: 1.15}  # p50 vs 10 shops
RSS_GOAL = (100_000, 1.3)  # resident memory vs 10 shops
PATHS = ("/", "/products", "/p/product-1", "/p/product-4")


def prepare(root: Path, shops: int) -> float:
    """Register ``shops`` shops under ``root``: seconds taken. Runs in a process of its
    own, as ``tenantctl`` does, so the serving process's memory is its own."""
    app = build_app(root, SHOP_PAGE_CACHE=False)
    migrate(app)
    started = time.perf_counter()
    provision(app, shops, overrides=True)
    return time.perf_counter() - started


def worker(root: Path, shops: int, requests: int) -> dict[str, Any]:
    extra = {}
    if os.environ.get("BENCH_TEMPLATE_CACHE_SIZE"):
        extra["TEMPLATE_CACHE_SIZE"] = int(os.environ["BENCH_TEMPLATE_CACHE_SIZE"])
    app = build_app(root, SHOP_PAGE_CACHE=False, **extra)
    hosts = [f"s{i:05d}.bench.test" for i in range(1, shops + 1)]
    if shops > SERVED_AT_MOST:
        hosts = hosts[:: shops // ACTIVE]
    settle()
    client = app.test_client(use_cookies=False)
    baseline_rss = rss_mb()
    cold = []
    for i, host in enumerate(hosts):  # every shop served renders a page once
        t0 = time.perf_counter()
        response = client.get(PATHS[i % len(PATHS)], headers={"Host": host})
        cold.append(time.perf_counter() - t0)
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
        "served": len(hosts),
        **summary(latencies, elapsed),
        "cold_p50_ms": percentile(cold, 50) * 1000,
        "queries_per_request": counter.count / requests,
        "rss_mb": rss_mb(),
        "rss_growth_mb": rss_mb() - baseline_rss,
        "templates_cached": len(app.jinja_env.cache or {}),
    }


def measure(shops: int, requests: int) -> dict[str, Any]:
    root = temp_root(f"scale-{shops}")
    try:
        bench = [sys.executable, "-m", "bench.scale"]
        out = subprocess.run(
            [*bench, "prepare", str(root), str(shops)], check=True, capture_output=True, text=True
        ).stdout
        provision_s = json.loads(out.strip().splitlines()[-1])
        out = subprocess.run(
            [*bench, "serve", str(root), str(shops), str(requests)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return {**json.loads(out.strip().splitlines()[-1]), "provision_s": provision_s}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(quick: bool = False) -> dict[str, Any]:
    requests = 600 if quick else 3000
    rows = []
    for shops in SIZES:
        rows.append(measure(shops, requests))
    base = rows[0]
    for row in rows:
        row["p50_ratio"] = row["p50_ms"] / base["p50_ms"]
        row["p99_ratio"] = row["p99_ms"] / base["p99_ms"]
        row["rss_ratio"] = row["rss_mb"] / base["rss_mb"]
        if row["shops"] in GOALS:
            row["met"] = goal("scale", f"p50 at {row['shops']:,} shops vs 10",
                              row["p50_ratio"], GOALS[row["shops"]], at_most=True)  # fmt: skip
        if row["shops"] == RSS_GOAL[0]:
            met = goal("scale", f"memory at {row['shops']:,} shops vs 10",
                       row["rss_ratio"], RSS_GOAL[1], at_most=True)  # fmt: skip
            row["met"] = "yes" if row["met"] == met == "yes" else "no"
    print(
        table(
            rows,
            [
                "shops",
                "served",
                "requests",
                "rps",
                "p50_ms",
                "p99_ms",
                "p50_ratio",
                "p99_ratio",
                "queries_per_request",
                "rss_mb",
                "rss_ratio",
                "cold_p50_ms",
                "templates_cached",
                "met",
            ],
        )
    )
    return {"rows": rows, "requests_per_size": requests}


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        print(json.dumps(prepare(Path(sys.argv[2]), int(sys.argv[3]))))
    else:
        print(json.dumps(worker(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
