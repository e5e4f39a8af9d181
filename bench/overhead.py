"""Multi-tenant overhead: the same product page from a plain single-shop Flask app and
from the platform, in-process through WSGI and over HTTP through gunicorn + wrk."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from .net import start_gunicorn
from .platform_setup import build_app, migrate, provision, temp_root
from .stats import summary, table

HOST = "s00001.bench.test"
PATH = "/p/product-1"


def _wsgi(app: Any, requests: int, headers: dict[str, str]) -> dict[str, float]:
    client = app.test_client(use_cookies=False)
    for _ in range(50):
        client.get(PATH, headers=headers)
    latencies = []
    started = time.perf_counter()
    for _ in range(requests):
        t0 = time.perf_counter()
        response = client.get(PATH, headers=headers)
        latencies.append(time.perf_counter() - t0)
        assert response.status_code == 200, response.status_code
    return summary(latencies, time.perf_counter() - started)


def _wrk(target: str, root: Path, seconds: int, host: str) -> dict[str, float] | None:
    if shutil.which("wrk") is None:
        return None
    server, port = start_gunicorn(target, root)
    try:
        subprocess.run(
            ["wrk", "-t1", "-c4", "-d2s", "-H", f"Host: {host}", f"http://127.0.0.1:{port}{PATH}"],
            capture_output=True,
            check=True,
        )
        done = subprocess.run(
            [
                "wrk",
                "-t2",
                "-c16",
                f"-d{seconds}s",
                "--latency",
                "-H",
                f"Host: {host}",
                f"http://127.0.0.1:{port}{PATH}",
            ],
            capture_output=True,
            text=True,
        )
        out = done.stdout
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed against {target}: {done.stdout}{done.stderr}")
    finally:
        server.terminate()
        server.wait(10)
    if "Non-2xx" in out:
        raise RuntimeError(f"{target} answered errors under load:\n{out}")

    def ms(label: str) -> float:
        match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"rps": rps, "p50_ms": ms("50%"), "p99_ms": ms("99%")}


def run(quick: bool = False) -> dict[str, Any]:
    root = temp_root("overhead")
    try:
        platform = build_app(root, SHOP_PAGE_CACHE=False)
        migrate(platform)
        provision(platform, 10)
        from .plain_app import create_plain_app

        plain = create_plain_app(root)
        requests = 500 if quick else 3000
        rows = []
        base = _wsgi(plain, requests, {"Host": "localhost"})
        mine = _wsgi(platform, requests, {"Host": HOST})
        rows.append({"path": "WSGI in-process", "app": "plain Flask", **base})
        rows.append(
            {
                "path": "WSGI in-process",
                "app": "platform",
                **mine,
                "ratio_rps": mine["rps"] / base["rps"],
                "ratio_p50": mine["p50_ms"] / base["p50_ms"],
            }
        )
        seconds = 4 if quick else 10
        base_http = _wrk("bench.plain_app:app", root, seconds, "localhost")
        mine_http = _wrk("bench.platform_wsgi:application", root, seconds, HOST)
        if base_http and mine_http:
            rows.append({"path": "gunicorn 2 workers + wrk", "app": "plain Flask", **base_http})
            rows.append(
                {
                    "path": "gunicorn 2 workers + wrk",
                    "app": "platform",
                    **mine_http,
                    "ratio_rps": mine_http["rps"] / base_http["rps"],
                    "ratio_p50": mine_http["p50_ms"] / base_http["p50_ms"],
                }
            )
        print(table(rows, ["path", "app", "rps", "p50_ms", "p99_ms", "ratio_rps", "ratio_p50"]))
        return {"rows": rows, "wrk": bool(base_http)}
    finally:
        shutil.rmtree(root, ignore_errors=True)
