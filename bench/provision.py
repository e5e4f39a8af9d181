"""Provisioning and migration: the time ``create_shop`` takes (folder, rows, roles), and
``db upgrade`` time over the last migration with 10 against 10,000 shops in the database
(shared-schema migrations must not grow with the number of shops)."""

from __future__ import annotations

import shutil
import time
from typing import Any

from .platform_setup import build_app, migrate, provision, temp_root
from .stats import percentile, table

BEFORE_LAST = "68db125942c1"  # two revisions back: pictures and variants, shop databases


def _create_shops(count: int) -> dict[str, float]:
    from storefront.extensions import db
    from storefront.tenancy.services import NewShop, create_shop

    root = temp_root("create")
    try:
        app = build_app(root)
        migrate(app)
        times = []
        with app.app_context():
            for i in range(count):
                t0 = time.perf_counter()
                create_shop(
                    NewShop(
                        slug=f"shop{i}",
                        name=f"Shop {i}",
                        domains=(f"shop{i}.bench.test",),
                        owner_email=f"o{i}@x.io",
                    )
                )
                times.append(time.perf_counter() - t0)
            db.engine.dispose()
        return {"p50_ms": percentile(times, 50) * 1000, "p99_ms": percentile(times, 99) * 1000}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _upgrade_with(shops: int) -> float:
    import flask_migrate

    root = temp_root(f"upgrade-{shops}")
    try:
        app = build_app(root)
        migrate(app)  # the shops are written by today's code, then the last step undone
        provision(app, shops, counters=False)
        with app.app_context():
            flask_migrate.downgrade(revision=BEFORE_LAST)
            t0 = time.perf_counter()
            flask_migrate.upgrade()
            elapsed = time.perf_counter() - t0
            from storefront.extensions import db

            db.engine.dispose()
        return elapsed
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(quick: bool = False) -> dict[str, Any]:
    created = _create_shops(10 if quick else 50)
    print(
        table([{"what": "tenantctl create (create_shop)", **created}], ["what", "p50_ms", "p99_ms"])
    )
    # The best of three: the first upgrade in a process also pays for importing Alembic's
    # machinery, which says nothing about the number of shops.
    rows = [
        {"shops": n, "upgrade_s": min(_upgrade_with(n) for _ in range(3))} for n in (10, 10_000)
    ]
    for row in rows:
        row["ratio_vs_10"] = row["upgrade_s"] / rows[0]["upgrade_s"]
    print(table(rows, ["shops", "upgrade_s", "ratio_vs_10"]))
    return {"create_shop": created, "upgrade": rows}
