"""Cache: an anonymous catalog page with the page cache warm, cold (every request
renders), and with Redis down (every cache call fails fast; pages come from the DB);
then the warm page against a bare Flask "hello" in the same run, in-process and through
gunicorn + wrk (goal: at least 0.8x its rate)."""

from __future__ import annotations

import shutil
import socket
import time
from typing import Any

from .net import start_gunicorn, wait_page
from .overhead import wrk
from .platform_setup import build_app, migrate, provision, temp_root
from .stats import goal, summary, table

PATH = "/products"
GOAL = 0.8  # a warm page's rate against a bare Flask "hello"
BARE = "gunicorn 2 sync workers + wrk"
SHIPPED = "gunicorn.conf.py as shipped, 2 workers + wrk"


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
        floor = against_hello(root, host, requests, quick)
        return {"rows": rows, "hello": floor}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def against_hello(root: Any, host: str, requests: int, quick: bool) -> list[dict[str, Any]]:
    """The warm page (in-process cache) against Flask's "hello": alternating rounds in
    process (the median round of each), then each behind gunicorn (2 sync workers) + wrk
    with bare settings, and the page once more through gunicorn.conf.py as operators run
    it (its recycling, the access line, the app's log level) against the same "hello"."""
    from .plain_app import create_hello_app

    platform = build_app(root)
    hello = create_hello_app()
    cases = {"platform, warm page": (platform, host), 'Flask "hello"': (hello, "localhost")}
    rates: dict[str, list[float]] = {name: [] for name in cases}
    for r in range(5 if quick else 9):
        for name in list(cases)[r % 2 :] + list(cases)[: r % 2]:
            app, on = cases[name]
            rates[name].append(measure(app, on, requests // 3)["rps"])
    rows = [
        {"how": "in-process (WSGI)", "app": name, "rps": sorted(found)[len(found) // 2]}
        for name, found in rates.items()
    ]
    if shutil.which("wrk"):
        # how: (app, target, host, gunicorn.conf.py as shipped)
        served = [
            (BARE, "platform, warm page", "bench.servers_wsgi:application", host, False),
            (BARE, 'Flask "hello"', "bench.plain_app:hello_app", "localhost", False),
            (SHIPPED, "platform, warm page", "bench.servers_wsgi:application", host, True),
        ]
        found: dict[tuple[str, str], list[float]] = {(how, name): [] for how, name, *_ in served}
        for r in range(1 if quick else 3):  # alternating rounds, a fresh server each
            for how, name, target, on, shipped in served if r % 2 == 0 else served[::-1]:
                server, port = start_gunicorn(
                    target, root, env={"BENCH_PAGE_CACHE": "1"}, shipped=shipped
                )
                try:
                    wait_page(port, on, PATH)
                    wrk(port, on, 1, PATH)  # warm every worker's cache
                    found[how, name].append(wrk(port, on, 3 if quick else 6, PATH)["rps"])
                finally:
                    server.terminate()
                    server.wait(10)
        hello_rates = found[BARE, 'Flask "hello"']
        for (how, name), runs in found.items():
            rows.append({"how": how, "app": name, "rps": sorted(runs)[len(runs) // 2]})
        rows.append({"how": SHIPPED, "app": 'Flask "hello" (bare settings)',
                     "rps": sorted(hello_rates)[len(hello_rates) // 2]})  # fmt: skip
    for how in dict.fromkeys(row["how"] for row in rows):
        mine, floor = (r for r in rows if r["how"] == how)
        mine["vs_hello"] = mine["rps"] / floor["rps"]
        mine["goal"] = GOAL
        mine["met"] = goal("cache", f"warm page vs Flask hello, {how}", mine["vs_hello"], GOAL)
    print(table(rows, ["how", "app", "rps", "vs_hello", "goal", "met"]))
    return rows
