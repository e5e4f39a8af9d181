"""A 200,000-row catalog import run as the dashboard's background job (upload kept in
storage, read a batch at a time, each batch committed with its progress), against a
bare ``executemany`` of the same product rows in the same run; and the first bytes of
the streamed orders export. SQLite, and MariaDB when reachable.

    .venv/bin/python -m bench.transfers [--rows N] [--mariadb]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from typing import Any

from sqlalchemy import delete, select

from .bulk import MARIADB, _bare, _csv, _product_rows
from .platform_setup import build_app, migrate, provision, temp_root


def _job_import(app: Any, slug: str, text: str) -> tuple[float, dict[str, Any]]:
    from storefront.catalog import services as catalog
    from storefront.extensions import db
    from storefront.tenancy import tenant_context
    from storefront.tenancy.registry import context_for
    from storefront.transfers import services
    from storefront.transfers.models import Transfer

    with app.app_context(), tenant_context(context_for(slug)):
        if not catalog.all_categories():
            catalog.create_category("Tools")
            catalog.create_category("Garden")
            db.session.commit()
        started = time.perf_counter()
        transfer = services.start_catalog_import("bench.csv", text.encode(), None)
        db.session.commit()
        services.run_transfer(transfer.id)
        elapsed = time.perf_counter() - started
        row = db.session.get(Transfer, transfer.id)
        return elapsed, {"status": row.status, **(row.report or {})}


def run(url: str | None, count: int) -> dict[str, Any]:
    root = temp_root("transfers")
    if url:
        os.environ["BENCH_DATABASE_URL"] = url
    try:
        app = build_app(root)
        migrate(app)
        (host,) = provision(app, 1, products=0)
        slug = host.split(".")[0]
        from storefront.catalog.models import Product, product_categories
        from storefront.extensions import db
        from storefront.tenancy.models import Tenant

        with app.app_context():
            tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        floor = _bare(app, tenant_id, _product_rows(tenant_id, count))
        took, report = _job_import(app, slug, _csv(count))
        assert report["status"] == "done" and report["created"] == count, report
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(
                delete(product_categories).where(product_categories.c.tenant_id == tenant_id)
            )
            conn.execute(
                delete(Product.__table__).where(Product.__table__.c.tenant_id == tenant_id)
            )
        return {
            "database": "MariaDB" if url else "SQLite",
            "rows": count,
            "bare_executemany_s": round(floor, 2),
            "import_job_s": round(took, 2),
            "bare_rows_per_s": round(count / floor),
            "import_rows_per_s": round(count / took),
            "ratio": round(floor / took, 3),
        }
    finally:
        os.environ.pop("BENCH_DATABASE_URL", None)
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--mariadb", action="store_true")
    args = parser.parse_args()
    print(run(MARIADB if args.mariadb else None, args.rows))


if __name__ == "__main__":
    main()
