"""Server choice: the platform behind gunicorn's sync workers, gunicorn's gthread workers
and granian (a Rust HTTP server with a WSGI interface), on the same pages through wrk,
in the same run. Every server gets the same number of processes (one per core); the
production default (``gunicorn.conf.py``) should be the best measured here.

Two pages: the uncached product page on MariaDB (the work a worker does per request:
one query, a render), and a listing answered from the page cache (what a server adds
around a cheap answer).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from typing import Any

from .net import free_port, wait_port
from .overhead import wrk
from .platform_setup import build_app, migrate, provision, temp_root
from .stats import table

MARIADB = "mysql+pymysql://root@127.0.0.1:3306/storefront_servers?charset=utf8mb4"
HOST = "s00001.bench.test"
# page: (path, page cache on)
PAGES = {
    "product page, uncached": ("/p/product-1", False),
    "listing, page cache": ("/products", True),
}
PROCESSES = os.cpu_count() or 2


def _command(server: str, port: int) -> list[str]:
    bind = f"127.0.0.1:{port}"
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "/dev/null", "-b", bind,
                "--log-level", "warning", "-w", str(PROCESSES)]  # fmt: skip
    if server == "gunicorn sync":
        return [*gunicorn, "bench.servers_wsgi:application"]
    if server == "gunicorn gthread (4 threads)":
        return [*gunicorn, "--threads", "4", "bench.servers_wsgi:application"]
    if server == "granian":
        return [
            sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(PROCESSES), "--log-level", "warning",
            "--no-ws", "bench.servers_wsgi:application",
        ]  # fmt: skip
    raise ValueError(server)


SERVERS = ("gunicorn sync", "gunicorn gthread (4 threads)", "granian")


def _has_granian() -> bool:
    try:
        import granian  # noqa: F401
    except ImportError:
        return False
    return True


def run(quick: bool = False) -> dict[str, Any]:
    try:
        socket.create_connection(("127.0.0.1", 3306), timeout=0.5).close()
    except OSError:
        print("needs MariaDB on 127.0.0.1:3306: skipped")
        return {"skipped": "no MariaDB"}
    if shutil.which("wrk") is None:
        print("needs wrk: skipped")
        return {"skipped": "no wrk"}
    servers = [s for s in SERVERS if s != "granian" or _has_granian()]
    root = temp_root("servers")
    rounds, seconds = (1, 3) if quick else (3, 6)
    rows: list[dict[str, Any]] = []
    try:
        app = build_app(root, DATABASE_URL=MARIADB)
        migrate(app)
        provision(app, 10, categories=True)
        with app.app_context():
            from storefront.extensions import db

            db.engine.dispose()
        for page, (path, cached) in PAGES.items():
            env = {**os.environ, "BENCH_ROOT": str(root), "BENCH_DATABASE_URL": MARIADB,
                   "BENCH_PAGE_CACHE": "1" if cached else "0"}  # fmt: skip
            found: dict[str, list[dict[str, float]]] = {s: [] for s in servers}
            for r in range(rounds):
                order = servers if r % 2 == 0 else list(reversed(servers))
                for server in order:
                    port = free_port()
                    process = subprocess.Popen(
                        _command(server, port), env=env, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                    try:
                        wait_port(port)
                        wrk(port, HOST, 1, path)  # warm every worker
                        found[server].append(wrk(port, HOST, seconds, path))
                    finally:
                        process.terminate()
                        process.wait(20)
            base = None
            for server in servers:
                runs = sorted(found[server], key=lambda run: run["rps"])
                median = runs[len(runs) // 2]
                base = base or median["rps"]
                rows.append({"page": page, "server": server, **median,
                             "vs_sync": median["rps"] / base})  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{PROCESSES} processes each; wrk -t2 -c16")
    print(table(rows, ["page", "server", "rps", "p50_ms", "p99_ms", "vs_sync"]))
    product = [r for r in rows if r["page"] == "product page, uncached"]
    best = max(product, key=lambda r: r["rps"])
    print(f"best on the uncached product page: {best['server']}")
    return {"rows": rows, "processes": PROCESSES, "best": best["server"]}
