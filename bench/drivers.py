"""MySQL drivers: PyMySQL (pure Python, the default) against mysqlclient (C, the
``[mysqlclient]`` extra), on MariaDB: a small query, and the platform's product page."""

from __future__ import annotations

import shutil
import socket
import time
from typing import Any

from sqlalchemy import create_engine, text

from .platform_setup import build_app, migrate, provision, temp_root
from .stats import summary, table

SERVER = "root@127.0.0.1:3306"
DATABASE = "storefront_bench"


def _mariadb_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 3306), timeout=0.5).close()
        return True
    except OSError:
        return False


def _has_mysqlclient() -> bool:
    try:
        import MySQLdb  # noqa: F401
    except ImportError:
        return False
    return True


def _small_queries(url: str, count: int) -> dict[str, float]:
    engine = create_engine(url)
    query = text("SELECT id, title, price FROM products WHERE tenant_id = 1 AND slug = :slug")
    latencies = []
    with engine.connect() as conn:
        for _ in range(100):
            conn.execute(query, {"slug": "product-1"}).all()
        started = time.perf_counter()
        for _ in range(count):
            t0 = time.perf_counter()
            conn.execute(query, {"slug": "product-1"}).all()
            latencies.append(time.perf_counter() - t0)
    engine.dispose()
    return summary(latencies, time.perf_counter() - started)


def _pages(app: Any, count: int) -> dict[str, float]:
    client = app.test_client(use_cookies=False)
    headers = {"Host": "s00001.bench.test"}
    for _ in range(50):
        client.get("/p/product-1", headers=headers)
    latencies = []
    started = time.perf_counter()
    for _ in range(count):
        t0 = time.perf_counter()
        assert client.get("/p/product-1", headers=headers).status_code == 200
        latencies.append(time.perf_counter() - t0)
    return summary(latencies, time.perf_counter() - started)


def run(quick: bool = False) -> dict[str, Any]:
    if not _mariadb_up():
        print("MariaDB is not reachable on 127.0.0.1:3306: skipped")
        return {"skipped": "no MariaDB"}
    admin = create_engine(f"mysql+pymysql://{SERVER}")
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE IF NOT EXISTS {DATABASE} CHARACTER SET utf8mb4"))
    admin.dispose()
    drivers = ["pymysql"] + (["mysqldb"] if _has_mysqlclient() else [])
    if len(drivers) == 1:
        print("mysqlclient is not installed (pip install -e '.[mysqlclient]'): PyMySQL only")
    count = 1000 if quick else 5000
    pages = 300 if quick else 2000
    rows: list[dict[str, Any]] = []
    root = temp_root("drivers")
    try:
        for driver in drivers:
            url = f"mysql+{driver}://{SERVER}/{DATABASE}?charset=utf8mb4"
            app = build_app(root, DATABASE_URL=url, SHOP_PAGE_CACHE=False)
            if driver == "pymysql":
                migrate(app)
                provision(app, 10)
            rows.append({"driver": driver, "case": "small query", **_small_queries(url, count)})
            rows.append({"driver": driver, "case": "product page", **_pages(app, pages)})
            with app.app_context():
                from storefront.extensions import db

                db.engine.dispose()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base = {r["case"]: r for r in rows if r["driver"] == "pymysql"}
    for row in rows:
        row["ratio_rps_vs_pymysql"] = row["rps"] / base[row["case"]]["rps"]
    print(table(rows, ["driver", "case", "rps", "p50_ms", "p99_ms", "ratio_rps_vs_pymysql"]))
    return {"rows": rows}
