"""The JSON API: a product listing of 20 and of 100 against the detail endpoint, in the
same run, with the SQL statements each runs. A listing runs a constant number of
statements (count, page, categories in one go), so its cost grows with the bytes it
answers, not with round trips to the database."""

from __future__ import annotations

import shutil
import time
from typing import Any

from sqlalchemy import event

from .platform_setup import build_app, migrate, provision, temp_root
from .stats import percentile, table


def _time(client: Any, path: str, host: str, requests: int) -> tuple[list[float], int]:
    latencies = []
    for _ in range(requests):
        t0 = time.perf_counter()
        answer = client.get(path, headers={"Host": host})
        latencies.append(time.perf_counter() - t0)
        assert answer.status_code == 200, (path, answer.status_code)
    return latencies, len(answer.data)


def run(quick: bool = False) -> dict[str, Any]:
    requests = 100 if quick else 1000
    root = temp_root("api")
    try:
        app = build_app(root)
        migrate(app)
        host = provision(app, 1, products=120)[0]
        client = app.test_client()
        slug = client.get("/api/v1/products?per_page=1", headers={"Host": host}).json["data"][0]
        paths = {
            "detail": f"/api/v1/products/{slug['slug']}",
            "list 20": "/api/v1/products?per_page=20",
            "list 100": "/api/v1/products?per_page=100",
        }
        with app.app_context():
            from storefront.extensions import db

            engine = db.engine
        rows = []
        for name, path in paths.items():
            _time(client, path, host, 20)  # warm
            statements: list[str] = []

            def count(*args: Any, seen: list[str] = statements, **kwargs: Any) -> None:
                seen.append(args[2])

            event.listen(engine, "before_cursor_execute", count)
            client.get(path, headers={"Host": host})
            event.remove(engine, "before_cursor_execute", count)
            latencies, size = _time(client, path, host, requests)
            rows.append(
                {
                    "endpoint": name,
                    "statements": len(statements),
                    "bytes": size,
                    "p50_ms": percentile(latencies, 50) * 1000,
                    "p99_ms": percentile(latencies, 99) * 1000,
                }
            )
        base = rows[0]["p50_ms"]
        for row in rows:
            row["vs_detail"] = row["p50_ms"] / base
        print(table(rows, ["endpoint", "statements", "bytes", "p50_ms", "p99_ms", "vs_detail"]))
        with app.app_context():
            db.engine.dispose()
        return {"api": rows}
    finally:
        shutil.rmtree(root, ignore_errors=True)
