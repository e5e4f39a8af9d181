"""Caddy's ask endpoint (``/_tls/ask``): its latency with 10 and with 10,000 shop domains
in the database, measured in the same run (the answer must not grow with the platform).
Warm (the registry remembers the name) and cold (a name asked for the first time: one
indexed lookup), each through the WSGI app like any request."""

from __future__ import annotations

import shutil
import time
from typing import Any

from .platform_setup import build_app, migrate, provision, temp_root
from .stats import percentile, table


def _measure(shops: int, requests: int) -> dict[str, Any]:
    root = temp_root(f"ask-{shops}")
    try:
        app = build_app(root)
        migrate(app)
        hosts = provision(app, shops, products=0, counters=False)
        client = app.test_client()
        sample = hosts[:: max(1, len(hosts) // 200)][:200]
        cold, warm = [], []
        for host in sample:  # first time each name is asked: a database lookup
            t0 = time.perf_counter()
            assert client.get(f"/_tls/ask?domain={host}").status_code == 200
            cold.append(time.perf_counter() - t0)
        for i in range(requests):
            host = sample[i % len(sample)]
            t0 = time.perf_counter()
            assert client.get(f"/_tls/ask?domain={host}").status_code == 200
            warm.append(time.perf_counter() - t0)
        unknown = []
        for i in range(200):
            t0 = time.perf_counter()
            assert client.get(f"/_tls/ask?domain=nobody{i}.example").status_code == 404
            unknown.append(time.perf_counter() - t0)
        with app.app_context():
            from storefront.extensions import db

            db.engine.dispose()
        return {
            "domains": shops,
            "warm_p50_ms": percentile(warm, 50) * 1000,
            "warm_p99_ms": percentile(warm, 99) * 1000,
            "cold_p50_ms": percentile(cold, 50) * 1000,
            "unknown_p50_ms": percentile(unknown, 50) * 1000,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(quick: bool = False) -> dict[str, Any]:
    requests = 500 if quick else 3000
    rows = [_measure(n, requests) for n in (10, 10_000)]
    for key in ("warm_p50_ms", "cold_p50_ms", "unknown_p50_ms"):
        rows[1][f"{key.split('_')[0]}_ratio"] = rows[1][key] / rows[0][key]
    print(
        table(
            rows,
            ["domains", "warm_p50_ms", "warm_p99_ms", "cold_p50_ms", "unknown_p50_ms"]
            + [k for k in rows[1] if k.endswith("_ratio")],
        )
    )
    return {"tls_ask": rows}
