"""Cache: an anonymous catalog page with the page cache warm, cold (every request
renders), and with Redis down (every cache call fails fast; pages come from the DB)."""

from __future__ import annotations

import shutil
import socket
import time
from typing import Any

from .platform_setup import build_app, migrate, provision, temp_root
from .stats import summary, table

PATH = "/products"


def measure(app: Any, host: str, requests: int, path: str = PATH) -> dict[str, float]:
    """Warm up, then ``requests`` GETs of ``path`` at ``host``: latency summary."""
    client = app.test_client(use_cookies=False)
    for _ in range(30):
        client.get(path, headers={"Host": host})
    latencies = []
    started = time.perf_counter()
    for _ in range(requests):
        t0 = time.perf_counter()
        response = client.get(path, headers={"Host": host})
        latencies.append(time.perf_counter() - t0)
        assert response.status_code == 200
    return summary(latencies, time.perf_counter() - started)


def _redis_up(url: str) -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket closes


def run(quick: bool = False) -> dict[str, Any]:
    requests = 500 if quick else 3000
    root = temp_root("cache")
    rows = []
    try:
        cold_app = build_app(root, SHOP_PAGE_CACHE=False)
        migrate(cold_app)
        (host,) = provision(cold_app, 1, products=24)
        cold = measure(cold_app, host, requests)
        rows.append({"case": "cold: every request renders", **cold})
        warm = measure(build_app(root), host, requests)
        rows.append({"case": "warm: SimpleCache (in-process)", **warm})
        redis_url = "redis://127.0.0.1:6379/15"
        if _redis_up(redis_url):
            app = build_app(root, REDIS_URL=redis_url, CACHE_KEY_PREFIX="bench:")
            rows.append({"case": "warm: Redis", **measure(app, host, requests)})
        down = build_app(root, REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
        rows.append({"case": "Redis down (connection refused)", **measure(down, host, requests)})
        for row in rows:
            row["ratio_vs_cold_p50"] = row["p50_ms"] / cold["p50_ms"]
        print(table(rows, ["case", "rps", "p50_ms", "p99_ms", "ratio_vs_cold_p50"]))
        return {"rows": rows}
    finally:
        shutil.rmtree(root, ignore_errors=True)
