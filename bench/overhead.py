"""Multi-tenant overhead: the same product page from the platform and from two single-shop
baselines (``plain_app``: Flask alone; its ``stack`` variant: with a session, CSRF,
Flask-Login and Flask-Babel), in-process through WSGI and over HTTP through gunicorn +
wrk. Rounds alternate between the apps and each app's figure is its median round, so a
noisy neighbour slows all three alike instead of one."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from .net import start_gunicorn
from .platform_setup import build_app, migrate, provision, temp_root
from .stats import goal, percentile, table

HOST = "s00001.bench.test"
PATH = "/p/product-1"
GOALS = {"plain Flask": 0.6, "Flask + session, CSRF, login, Babel": 0.9}


def interleaved(
    apps: dict[str, tuple[Any, dict[str, str]]], rounds: int, per_round: int
) -> dict[str, dict[str, float]]:
    """``per_round`` requests to each app in turn, ``rounds`` times: the median round's
    rate and the latencies of all rounds."""
    clients = {name: (app.test_client(use_cookies=False), h) for name, (app, h) in apps.items()}
    for client, headers in clients.values():  # warm up: compiled templates and statements
        for _ in range(100):
            assert client.get(PATH, headers=headers).status_code == 200
    rates: dict[str, list[float]] = {name: [] for name in apps}
    latencies: dict[str, list[float]] = {name: [] for name in apps}
    names = list(apps)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            client, headers = clients[name]
            started = time.perf_counter()
            for _ in range(per_round):
                t0 = time.perf_counter()
                client.get(PATH, headers=headers)
                latencies[name].append(time.perf_counter() - t0)
            rates[name].append(per_round / (time.perf_counter() - started))
    return {
        name: {
            "rps": statistics.median(rates[name]),
            "p50_ms": percentile(latencies[name], 50) * 1000,
            "p99_ms": percentile(latencies[name], 99) * 1000,
        }
        for name in apps
    }


def wrk(
    port: int, host: str, seconds: int, path: str = PATH, script: Path | None = None
) -> dict[str, float]:
    """wrk, 2 threads and 16 connections, on ``path`` at ``host`` (or as ``script`` says)."""
    how = ["-s", str(script)] if script else ["-H", f"Host: {host}"]
    done = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", *how,
         f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    out = done.stdout
    if done.returncode != 0 or "Non-2xx" in out:
        raise RuntimeError(f"wrk against {host}: {out}{done.stderr}")

    def ms(label: str) -> float:
        match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "p50_ms": ms("50%"), "p99_ms": ms("99%")}


def over_http(root: Path, rounds: int, seconds: int) -> dict[str, dict[str, float]] | None:
    if shutil.which("wrk") is None:
        return None
    targets = {
        "platform": ("bench.platform_wsgi:application", HOST),
        "plain Flask": ("bench.plain_app:app", "localhost"),
        "Flask + session, CSRF, login, Babel": ("bench.plain_app:stack_app", "localhost"),
    }
    servers = {name: start_gunicorn(target, root) for name, (target, _h) in targets.items()}
    try:
        for name, (_server, port) in servers.items():
            wrk(port, targets[name][1], 1)  # warm up every worker
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for _ in range(rounds):
            for name, (_server, port) in servers.items():
                runs[name].append(wrk(port, targets[name][1], seconds))
    finally:
        for server, _port in servers.values():
            server.terminate()
            server.wait(10)
    return {
        name: {key: statistics.median(run[key] for run in found) for key in found[0]}
        for name, found in runs.items()
    }


def _rows(path: str, results: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    mine = results["platform"]
    rows = [{"path": path, "app": "platform", **mine}]
    for name, bound in GOALS.items():
        ratio = mine["rps"] / results[name]["rps"]
        met = goal("overhead", f"product page vs {name}, {path}", ratio, bound)
        rows.append(
            {"path": path, "app": name, **results[name], "platform_ratio": ratio, "goal": bound,
             "met": met}
        )  # fmt: skip
    return rows


def run(quick: bool = False) -> dict[str, Any]:
    root = temp_root("overhead")
    try:
        platform = build_app(root, SHOP_PAGE_CACHE=False)
        migrate(platform)
        provision(platform, 10)
        from .plain_app import create_plain_app

        apps = {
            "platform": (platform, {"Host": HOST}),
            "plain Flask": (create_plain_app(root), {"Host": "localhost"}),
            "Flask + session, CSRF, login, Babel": (
                create_plain_app(root, stack=True),
                {"Host": "localhost"},
            ),
        }
        rows = _rows("WSGI in-process", interleaved(apps, 5 if quick else 9, 200 if quick else 600))
        http = over_http(root, 1 if quick else 3, 3 if quick else 6)
        if http:
            rows += _rows("gunicorn 2 sync workers + wrk", http)
        columns = ["path", "app", "rps", "p50_ms", "p99_ms", "platform_ratio", "goal", "met"]
        print(table(rows, columns))
        return {"rows": rows, "wrk": bool(http)}
    finally:
        shutil.rmtree(root, ignore_errors=True)
