"""Bulk work: a 5,000-row catalog CSV import and a 20,000-product shop import, each
against a bare ``executemany`` insert of the same product rows measured in the same run
(the floor: no parsing, no checks, no references), on SQLite and, when reachable, on
MariaDB. Statements are counted too."""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import statistics
import time
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, insert, select

from .platform_setup import build_app, migrate, provision, temp_root
from .stats import goal, table

GOAL = 0.3
MARIADB = "mysql+pymysql://root@127.0.0.1:3306/storefront_bench_bulk"


def _csv(count: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["sku", "title", "price", "stock", "description", "categories", "active"])
    for i in range(count):
        writer.writerow(
            [f"B-{i:06d}", f"Bulk product {i}", f"{10 + i % 90}.99", i % 50,
             "A sturdy thing. " * 4, "tools;garden" if i % 2 else "tools", "true"]
        )  # fmt: skip
    return out.getvalue()


class Counter:
    def __init__(self, engine: Any) -> None:
        self.engine, self.count = engine, 0

    def __enter__(self) -> Counter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def _seen(self, *args: Any, **kwargs: Any) -> None:
        self.count += 1

    def __exit__(self, *exc: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def _bare(app: Any, tenant_id: int, rows: list[dict[str, Any]]) -> float:
    """The floor: the product rows by executemany, 1,000 at a time, one transaction."""
    from storefront.catalog.models import Product
    from storefront.extensions import db
    from storefront.tenancy import all_tenants

    with app.app_context(), all_tenants():
        started = time.perf_counter()
        with db.engine.begin() as conn:
            for start in range(0, len(rows), 1000):
                conn.execute(insert(Product.__table__), rows[start : start + 1000])
        elapsed = time.perf_counter() - started
        with db.engine.begin() as conn:
            conn.execute(
                delete(Product.__table__).where(Product.__table__.c.tenant_id == tenant_id)
            )
    return elapsed


def _product_rows(tenant_id: int, count: int) -> list[dict[str, Any]]:
    from storefront.tenancy.models import utcnow

    now = utcnow()
    return [
        {"tenant_id": tenant_id, "sku": f"B-{i:06d}", "slug": f"bulk-product-{i}",
         "title": f"Bulk product {i}", "description": "A sturdy thing. " * 4,
         "price": 1099 + i % 90 * 100, "stock": i % 50, "active": True, "featured": False,
         "compare_at_price": None, "image_url": None, "tax_class": "standard",
         "translations": {}, "options": [], "created_at": now, "updated_at": now}
        for i in range(count)
    ]  # fmt: skip


def _csv_import(app: Any, slug: str, text: str) -> tuple[float, int, int]:
    from storefront.catalog import csv_io
    from storefront.catalog import services as catalog
    from storefront.extensions import db
    from storefront.tenancy import tenant_context
    from storefront.tenancy.registry import context_for

    with app.app_context():
        with tenant_context(context_for(slug)):
            if not catalog.all_categories():
                catalog.create_category("Tools")
                catalog.create_category("Garden")
                db.session.commit()
            with Counter(db.engine) as counted:
                started = time.perf_counter()
                rows = csv_io.parse_rows(text.splitlines(keepends=True))
                created, _updated = csv_io.import_rows(rows)
                db.session.commit()
                elapsed = time.perf_counter() - started
        return elapsed, counted.count, created


def _shop_import(app: Any, archive: Path, slug: str) -> tuple[float, int]:
    from storefront.extensions import db
    from storefront.tenancy.deletion import delete_shop
    from storefront.tenancy.transfer import import_shop

    with app.app_context():
        with Counter(db.engine) as counted:
            started = time.perf_counter()
            import_shop(archive, slug, [f"{slug}.bench.test"])
            elapsed = time.perf_counter() - started
        delete_shop(slug)
    return elapsed, counted.count


def _one(url: str | None, quick: bool) -> list[dict[str, Any]]:
    root = temp_root("bulk")
    if url:
        os.environ["BENCH_DATABASE_URL"] = url
    try:
        app = build_app(root)
        migrate(app)
        (host,) = provision(app, 1, products=0)
        slug = host.split(".")[0]
        from storefront.extensions import db
        from storefront.tenancy.models import Tenant

        with app.app_context():
            tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        backend = "MariaDB" if url else "SQLite"
        rows = []
        count = 1000 if quick else 5000
        floors, mine = [], []
        for _ in range(1 if quick else 3):
            floors.append(_bare(app, tenant_id, _product_rows(tenant_id, count)))
            elapsed, statements, created = _csv_import(app, slug, _csv(count))
            assert created == count, created
            mine.append(elapsed)
            with app.app_context(), db.engine.begin() as conn:
                from storefront.catalog.models import Product, product_categories

                conn.execute(
                    delete(product_categories).where(product_categories.c.tenant_id == tenant_id)
                )
                conn.execute(
                    delete(Product.__table__).where(Product.__table__.c.tenant_id == tenant_id)
                )
        rows.append(_row(backend, f"catalog CSV, {count:,} rows", count, floors, mine, statements))
        # A shop of 20,000 products: export once, import under another slug.
        big = 4000 if quick else 20000
        shop_rows = _product_rows(tenant_id, big)
        with app.app_context(), db.engine.begin() as conn:
            for start in range(0, big, 1000):
                conn.execute(insert(Product.__table__), shop_rows[start : start + 1000])
        from storefront.tenancy.transfer import export_shop

        archive = root / "shop.tar.gz"
        with app.app_context():
            export_shop(slug, archive)
        floors, mine = [], []
        for round_ in range(1 if quick else 3):
            floors.append(_bare_other(app, big))
            elapsed, statements = _shop_import(app, archive, f"copy{round_}")
            mine.append(elapsed)
        rows.append(_row(backend, f"shop import, {big:,} products", big, floors, mine, statements))
        return rows
    finally:
        os.environ.pop("BENCH_DATABASE_URL", None)
        shutil.rmtree(root, ignore_errors=True)


def _bare_other(app: Any, count: int) -> float:
    """The floor for the shop import: the same rows for a shop of their own."""
    from storefront.extensions import db
    from storefront.tenancy.models import Tenant

    with app.app_context():
        tenant_id = db.session.scalar(select(Tenant.id).order_by(Tenant.id).limit(1))
    rows = _product_rows(tenant_id, count)
    for row in rows:
        row["sku"], row["slug"] = "X" + row["sku"], "x-" + row["slug"]
    return _bare(app, tenant_id, rows)


def _row(
    backend: str, case: str, count: int, floors: list[float], mine: list[float], statements: int
) -> dict[str, Any]:
    floor, took = statistics.median(floors), statistics.median(mine)
    ratio = (count / took) / (count / floor)
    return {
        "database": backend, "case": case, "rows_per_s": count / took,
        "bare_executemany_rows_per_s": count / floor, "statements": statements,
        "ratio": ratio, "goal": GOAL,
        "met": goal("bulk", f"{case} vs executemany, {backend}", ratio, GOAL),
    }  # fmt: skip


def _mariadb_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 3306), timeout=0.5).close()
    except OSError:
        return False
    from sqlalchemy import create_engine, text

    engine = create_engine("mysql+pymysql://root@127.0.0.1:3306/test")
    with engine.begin() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS storefront_bench_bulk"))
        conn.execute(text("CREATE DATABASE storefront_bench_bulk CHARACTER SET utf8mb4"))
    engine.dispose()
    return True


def run(quick: bool = False) -> dict[str, Any]:
    rows = _one(None, quick)
    if _mariadb_up():
        rows += _one(MARIADB, quick)
    columns = ["database", "case", "rows_per_s", "bare_executemany_rows_per_s", "statements",
               "ratio", "goal", "met"]  # fmt: skip
    print(table(rows, columns))
    return {"rows": rows}
