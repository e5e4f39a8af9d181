"""Build a platform with N shops quickly, for benchmarks.

Shops are inserted in bulk (rows plus a ``tenant.toml`` each) rather than through
``create_shop`` one by one, so 10,000 shops take seconds; ``provision.py`` times the real
``create_shop`` separately.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select

from storefront import create_app
from storefront.extensions import db

PRODUCTS_PER_SHOP = 6


def build_app(root: Path, **config: Any) -> Any:
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{root / 'bench.db'}"
    (root / "tenants").mkdir(parents=True, exist_ok=True)
    settings = {
        "ENVIRONMENT": "testing",
        "TESTING": False,
        "SECRET_KEY": "bench-secret-key-" + "x" * 32,
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(root / "instance"),
        "TENANTS_DIR": str(root / "tenants"),
        "PREFERRED_URL_SCHEME": "http",
        "MAIL_BACKEND": "locmem",
        "RATELIMIT_ENABLED": False,
        # As shipped (BENCH_SHIPPED=1, behind gunicorn.conf.py): the app's own level, so
        # its access line per request is written, as in production.
        "LOG_LEVEL": "INFO" if os.environ.get("BENCH_SHIPPED") == "1" else "WARNING",
        # No outbox sweeper thread: the benches send no mail, and an app a bench has
        # finished with would keep polling its deleted database.
        "OUTBOX_SWEEP_SECONDS": 0,
        **config,
    }
    if os.environ.get("BENCH_REDIS_URL"):
        settings.setdefault("REDIS_URL", os.environ["BENCH_REDIS_URL"])
    return create_app(settings)


def migrate(app: Any, revision: str = "head") -> None:
    import flask_migrate

    with app.app_context():
        if app.config["DATABASE_URL"].startswith("mysql"):
            _create_mysql_database(app.config["DATABASE_URL"])
            _drop_all_mysql()
        flask_migrate.upgrade(revision=revision)


def _create_mysql_database(url: str) -> None:
    """A bench's own MariaDB database, created on first use."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = create_engine(parsed.set(database=""))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{parsed.database}` "
                          "CHARACTER SET utf8mb4"))  # fmt: skip
    admin.dispose()


def _drop_all_mysql() -> None:
    from sqlalchemy import text

    with db.engine.begin() as conn:
        conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for (name,) in conn.execute(text("SHOW TABLES")).all():
            conn.execute(text(f"DROP TABLE `{name}`"))
        conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))


def provision(
    app: Any,
    count: int,
    products: int = PRODUCTS_PER_SHOP,
    counters: bool = True,
    overrides: bool = False,
    categories: bool = False,
) -> list[str]:
    """Insert ``count`` shops named s00000.. with ``products`` products each; return hosts.

    With ``overrides`` every shop also overrides its footer template, so each shop has a
    compiled template of its own (what white-label shops look like). With ``categories``
    every shop has one category ("Goods") holding all its products.
    """
    from storefront.accounts.models import Role
    from storefront.catalog.link_keys import refresh_link_keys
    from storefront.catalog.models import Category, Product, product_categories
    from storefront.orders.models import OrderCounter
    from storefront.tenancy import all_tenants
    from storefront.tenancy.models import Domain, Tenant
    from storefront.tenancy.scaffold import render_settings

    tenants_dir = Path(app.config["TENANTS_DIR"])
    hosts = []
    with app.app_context():
        start = (db.session.scalar(select(db.func.max(Tenant.id))) or 0) + 1
        tenants, domains, roles, counter_rows, rows = [], [], [], [], []
        category_rows: list[dict[str, Any]] = []
        with all_tenants():
            start_product = (db.session.scalar(select(db.func.max(Product.id))) or 0) + 1
            start_category = (db.session.scalar(select(db.func.max(Category.id))) or 0) + 1
        for i in range(count):
            tenant_id = start + i
            slug = f"s{tenant_id:05d}"
            host = f"{slug}.bench.test"
            hosts.append(host)
            theme = "minimal" if i % 2 else "classic"
            folder = tenants_dir / slug
            folder.mkdir(exist_ok=True)
            (folder / "tenant.toml").write_text(render_settings(slug, f"Shop {slug}", theme))
            if overrides:
                (folder / "templates" / "layout_sections").mkdir(parents=True, exist_ok=True)
                (folder / "templates" / "layout_sections" / "footer.html").write_text(
                    '<footer class="site-footer"><div class="container">'
                    f"<p>{{{{ shop.name }}}} · footer of {slug}</p></div></footer>"
                )
            tenants.append(
                {
                    "id": tenant_id,
                    "slug": slug,
                    "name": f"Shop {slug}",
                    "status": "active",
                    "cache_generation": 1,
                }
            )
            domains.append({"tenant_id": tenant_id, "hostname": host, "is_primary": True})
            roles += [{"tenant_id": tenant_id, "name": n} for n in ("owner", "staff", "customer")]
            counter_rows.append({"tenant_id": tenant_id, "next_number": 1001})
            if categories:
                category_rows.append(
                    {"id": start_category + i, "tenant_id": tenant_id, "slug": "goods",
                     "name": "Goods", "position": 0}
                )  # fmt: skip
            for p in range(products):
                rows.append(
                    {
                        "id": start_product + len(rows),
                        "tenant_id": tenant_id,
                        "sku": f"SKU-{p}",
                        "slug": f"product-{p}",
                        "title": f"Product {p} of {slug}",
                        "description": "A fine product. " * 8,
                        "price": 1000 + p * 250,
                        "stock": 50,
                        "active": True,
                        "featured": p < 4,
                    }
                )
        with db.engine.begin() as conn:
            links = [
                {"tenant_id": row["tenant_id"], "product_id": row["id"],
                 "category_id": start_category + row["tenant_id"] - start}
                for row in rows
            ] if categories else []  # fmt: skip
            batches = [
                (Tenant.__table__, tenants),
                (Domain.__table__, domains),
                (Role.__table__, roles),
                (Product.__table__, rows),
                (Category.__table__, category_rows),
                (product_categories, links),
            ]
            if counters:
                batches.append((OrderCounter.__table__, counter_rows))
            for table, data in batches:
                for chunk in range(0, len(data), 5000):
                    conn.execute(insert(table), data[chunk : chunk + 5000])
            # The links' copies of the products' sort keys: a link without them is not
            # listed in its category (catalog.link_keys).
            linked: dict[int, list[int]] = {}
            for link in links:
                linked.setdefault(link["tenant_id"], []).append(link["product_id"])
            for tenant_id, product_ids in linked.items():
                refresh_link_keys(conn, tenant_id, product_ids)
        from storefront.tenancy.models import RegistryState
        from storefront.tenancy.registry import bump_generation

        bump_generation()
        # The shop-id counter moves past the ids given here, as create_shop would move it.
        db.session.execute(db.update(RegistryState).values(next_tenant_id=start + count))
        db.session.commit()
    return hosts


class QueryCounter:
    """Counts SQL statements sent by the app's engine."""

    def __init__(self, app: Any) -> None:
        self.count = 0
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", self._hit)

    def _hit(self, *args: Any) -> None:
        self.count += 1


def temp_root(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"storefront-bench-{name}-"))
