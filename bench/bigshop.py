"""Big shops stay fast: every path of a shop with 200,000 products and 2,000,000 orders
against the same path of a shop with 100 products and 1,000 orders, on one platform.

In process (Flask's test client, the page cache off), p50 and p99 over N requests after
a warm-up, per path: storefront pages in every sort (first and a deep page), a category,
a product, cart and checkout, search (distinct queries, typos too), the API's catalog
and order listings (first page and a far cursor), and the dashboard as the shop's owner
(overview, products search, orders by number, email and status, customers, a customer
with 1,000 orders). Apart: the orders CSV export streamed whole (time to first bytes,
peak memory, in a process of its own with a memory cap), the catalog import of every
product against a bare ``executemany`` of the same rows, and the resident memory of a
worker that served the big shop's paths against one that served the small shop's.

Goals: a page's p50 at most 1.25x the small shop's; search p50 <= 30 ms, p99 <= 100 ms
and at most 1.5x; import at least 0.3x the bare insert; worker memory at most 1.2x.
The data is built once and kept (``bigshop_data``); the fairness drill under gunicorn is
``python -m bench bigshop --drill`` (``bigshop_drill``).
"""

from __future__ import annotations

import csv
import gc
import io
import json
import logging
import math
import random
import resource
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select

from .bigshop_data import (
    ADJECTIVES,
    MARIADB_URL,
    MATERIALS,
    NOUNS,
    OWNER_PASSWORD,
    Built,
    Shop,
    Sizes,
    drop_mariadb,
    ensure,
    open_app,
)
from .drills import CSRF, PRODUCT_ID, SAME_ORIGIN
from .stats import goal, percentile, rss_mb, table

PAGE_GOAL = 1.25  # a page's p50, big shop vs small
SEARCH_GOALS = {"p50_ms": 30.0, "p99_ms": 100.0, "ratio": 1.5}
IMPORT_GOAL = 0.3  # catalog import vs bare executemany, rows per second
RSS_GOAL = 1.2  # worker memory after the big shop's paths vs the small shop's
EXPORT_MEMORY_CAP = 4 << 30  # the export's process may not grow past this (bytes)
RESULTS = Path(__file__).parent / "results"
IMAGES = Path(__file__).parent.parent / "docs" / "images"
QUICK = Sizes(products=20_000, orders=100_000, customers=10_000)


@dataclass
class Target:
    """One path measured on both shops: ``paths`` per shop (several: one per request,
    in turn, e.g. distinct searches), and who asks."""

    name: str
    who: str  # "anon", "shopper" (a cart), "owner" (logged in), "api" (a staff key)
    paths: dict[str, list[str]] = field(default_factory=dict)
    kind: str = "page"  # "page" or "search": which goals apply


# Paths ---------------------------------------------------------------------------------


def search_queries(count: int, seed: int = 7) -> list[str]:
    """Distinct searches as shoppers type them: one or two words, English or German,
    some with a typo (a letter dropped, two swapped, one doubled)."""
    rng = random.Random(seed)
    english = [w for pairs in (ADJECTIVES, MATERIALS, NOUNS) for w, _de in pairs]
    german = [de.lower() for pairs in (MATERIALS, NOUNS) for _en, de in pairs]

    def typo(word: str) -> str:
        if len(word) < 4:
            return word
        at = rng.randrange(1, len(word) - 1)
        return rng.choice(
            [word[:at] + word[at + 1 :], word[:at] + word[at + 1] + word[at] + word[at + 2 :],
             word[:at] + word[at] + word[at:]]
        )  # fmt: skip

    found: dict[str, None] = {}
    while len(found) < count:
        shape = rng.randrange(6)
        if shape == 0:
            query = rng.choice(english)
        elif shape == 1:
            query = f"{rng.choice(english)} {rng.choice(english)}"
        elif shape == 2:
            query = rng.choice(german)
        elif shape == 3:
            query = typo(rng.choice(english))
        elif shape == 4:
            query = f"{rng.choice(english)} {typo(rng.choice(english))}"
        else:
            query = f"{rng.choice(german)} {rng.randrange(1, 100)}"
        found.setdefault(query)
    return list(found)


def _deep(total: int, per_page: int) -> int:
    """A page nine tenths of the way through a listing (capped as listings cap pages)."""
    from storefront.listing import MAX_PAGE

    pages = max(1, math.ceil(total / per_page))
    return min(MAX_PAGE, max(1, int(pages * 0.9)))


def _far_catalog_cursor(created_at: Any, product_id: int) -> str:
    from storefront.api.http import encode_mark
    from storefront.catalog.keyset import Mark

    return encode_mark(Mark("newest", (created_at, product_id), False))


def shop_paths(app: Any, shop: Shop, queries: list[str]) -> dict[str, tuple[str, list[str]]]:
    """Every measured path of ``shop``: name -> (who, paths)."""
    from storefront.accounts.models import User
    from storefront.api.http import encode_cursor
    from storefront.catalog.models import Category, Product
    from storefront.extensions import db
    from storefront.orders.models import Order
    from storefront.tenancy import tenant_context
    from storefront.tenancy.registry import context_for

    with app.app_context(), tenant_context(context_for(shop.slug)):
        per_page = int(app.config["PRODUCTS_PER_PAGE"])
        active = int(
            db.session.scalar(
                select(db.func.count()).select_from(Product).where(Product.active.is_(True))
            )
            or 0
        )
        category = db.session.scalar(select(Category.slug).order_by(Category.position).limit(1))
        product = db.session.scalar(select(Product.slug).order_by(Product.id).limit(1))
        far_product = db.session.execute(
            select(Product.created_at, Product.id)
            .where(Product.active.is_(True))
            .order_by(Product.created_at.desc(), Product.id.desc())
            .offset(int(active * 0.9))
            .limit(1)
        ).one()
        far_order = db.session.execute(
            select(Order.updated_at, Order.id)
            .order_by(Order.updated_at, Order.id)
            .offset(int(shop.orders * 0.9))
            .limit(1)
        ).one()
        rng = random.Random(shop.slug)
        numbers = [f"{shop.slug.upper()}-{1001 + rng.randrange(shop.orders)}" for _ in range(50)]
        emails = [f"customer{rng.randrange(shop.customers)}@example.com" for _ in range(50)]
        heavy = shop.heavy_customer or db.session.scalar(
            select(Order.user_id)
            .where(Order.user_id.is_not(None))
            .group_by(Order.user_id)
            .order_by(db.func.count().desc())
            .limit(1)
        )
        assert db.session.get(User, heavy) is not None
    deep = _deep(active, per_page)
    paths: dict[str, tuple[str, list[str]]] = {"home": ("anon", ["/"])}
    for sort in ("newest", "price_asc", "price_desc", "title"):
        paths[f"/products {sort}"] = ("anon", [f"/products?sort={sort}"])
        paths[f"/products {sort} deep"] = ("anon", [f"/products?sort={sort}&page={deep}"])
    for sort in ("newest", "price_asc", "price_desc", "title"):
        paths[f"category {sort}"] = ("anon", [f"/c/{category}?sort={sort}"])
    paths["product page"] = ("anon", [f"/p/{product}"])
    paths["cart"] = ("shopper", ["/cart/"])
    paths["checkout page"] = ("shopper", ["/checkout"])
    paths["search"] = ("anon", [f"/search?q={q}" for q in queries])
    paths["API catalog first"] = ("anon", ["/api/v1/products?limit=20"])
    paths["API catalog far cursor"] = (
        "anon",
        [f"/api/v1/products?limit=20&cursor={_far_catalog_cursor(*far_product)}"],
    )
    paths["API orders first"] = ("api", ["/api/v1/admin/orders?limit=50"])
    paths["API orders far cursor"] = (
        "api",
        [f"/api/v1/admin/orders?limit=50&cursor={encode_cursor(*far_order)}"],
    )
    paths["dashboard"] = ("owner", ["/admin/"])
    paths["dashboard products search"] = (
        "owner",
        [f"/admin/products?q={q}" for q in queries[:50]],
    )
    paths["orders list"] = ("owner", ["/admin/orders"])
    paths["orders by number"] = ("owner", [f"/admin/orders?q={n}" for n in numbers])
    paths["orders by email"] = ("owner", [f"/admin/orders?q={e}" for e in emails])
    paths["orders status filter"] = ("owner", ["/admin/orders?status=shipped"])
    paths["customers list"] = ("owner", ["/admin/customers"])
    paths["customer, 1,000 orders"] = ("owner", [f"/admin/customers/{heavy}"])
    return paths


# Clients -------------------------------------------------------------------------------


class Visitors:
    """The clients that ask for one shop's paths: anonymous, a shopper with a cart, the
    shop's owner logged in, an integration with a staff API key."""

    def __init__(self, app: Any, shop: Shop) -> None:
        self.host = {"Host": shop.host}
        self.anon = app.test_client(use_cookies=False)
        self.shopper = app.test_client()
        self._fill_cart(app, shop)
        self.owner = app.test_client()
        login = self.owner.get("/login", headers=self.host)
        token = CSRF.search(login.text)
        self.owner.post(
            "/login",
            data={"email": shop.owner, "password": OWNER_PASSWORD,
                  "csrf_token": token.group(1) if token else ""},
            headers=self.host,
        )  # fmt: skip
        self.api_headers = {**self.host, "Authorization": f"Bearer {_api_key(app, shop)}"}

    def _fill_cart(self, app: Any, shop: Shop) -> None:
        """One simple product (the second: the first has variants) in the shopper's cart."""
        from storefront.catalog.models import Product
        from storefront.extensions import db
        from storefront.tenancy import tenant_context
        from storefront.tenancy.registry import context_for

        with app.app_context(), tenant_context(context_for(shop.slug)):
            slug = db.session.scalar(select(Product.slug).order_by(Product.id).offset(1).limit(1))
        page = self.shopper.get(f"/p/{slug}", headers=self.host)
        found = PRODUCT_ID.search(page.text)
        if found:
            self.shopper.post(
                "/cart/add",
                data={"product_id": found.group(1), "quantity": "1"},
                headers={**self.host, **SAME_ORIGIN},
            )

    def get(self, who: str, path: str) -> tuple[float, int]:
        client = {"anon": self.anon, "shopper": self.shopper, "owner": self.owner,
                  "api": self.anon}[who]  # fmt: skip
        headers = self.api_headers if who == "api" else self.host
        started = time.perf_counter()
        try:
            status = client.get(path, headers=headers).status_code
        except Exception:  # noqa: BLE001 - a page that breaks is a result, not the end
            status = 599
        return time.perf_counter() - started, status


def _api_key(app: Any, shop: Shop) -> str:
    from storefront.accounts.services import find_user
    from storefront.accounts.tokens import create_key
    from storefront.extensions import db
    from storefront.tenancy import tenant_context
    from storefront.tenancy.registry import context_for

    with app.app_context(), tenant_context(context_for(shop.slug)):
        user = find_user(shop.owner)
        assert user is not None, f"no owner {shop.owner} in {shop.slug}"
        secret = create_key(user, "bench").secret
        db.session.commit()
    return secret


# Measuring -----------------------------------------------------------------------------


def _time(
    visitors: dict[str, Visitors],
    who: str,
    paths: dict[str, list[str]],
    requests: int,
    budget: float,
) -> dict[str, tuple[list[float], dict[str, int]]]:
    """Two warm-up requests per shop, then up to ``requests`` per shop (at least 5) within
    ``budget`` seconds, the shops in turn (both see the same moments of a busy machine),
    each shop's paths in turn; per shop the latencies and the statuses seen."""
    seen: dict[str, tuple[list[float], dict[str, int]]] = {size: ([], {}) for size in paths}
    for size, shop_paths_ in paths.items():
        for path in shop_paths_[:2]:
            visitors[size].get(who, path)
    deadline = time.perf_counter() + budget
    n = 0
    while n < requests and (n < 5 or time.perf_counter() < deadline):
        for size, shop_paths_ in paths.items():
            took, status = visitors[size].get(who, shop_paths_[(n + 2) % len(shop_paths_)])
            latencies, statuses = seen[size]
            latencies.append(took)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        n += 1
    return seen


def measure_paths(app: Any, built: Built, requests: int, budget: float) -> list[dict[str, Any]]:
    queries = search_queries(max(requests + 2, 300))
    visitors = {name: Visitors(app, shop) for name, shop in built.shops().items()}
    per_shop = {name: shop_paths(app, shop, queries) for name, shop in built.shops().items()}
    rows = []
    for name, (who, _paths) in per_shop["big"].items():
        row: dict[str, Any] = {"path": name}
        timed = _time(visitors, who, {size: per_shop[size][name][1] for size in ("small", "big")},
                      requests, budget)  # fmt: skip
        for size, (latencies, statuses) in timed.items():
            row[f"{size}_p50_ms"] = percentile(latencies, 50) * 1000
            row[f"{size}_p99_ms"] = percentile(latencies, 99) * 1000
            row[f"{size}_n"] = len(latencies)
            row[f"{size}_status"] = ",".join(f"{s}x{c}" for s, c in sorted(statuses.items()))
        row["ratio"] = row["big_p50_ms"] / row["small_p50_ms"]
        ok = all(s == "200" for size in ("small", "big") for s in _codes(row[f"{size}_status"]))
        if name == "search":
            row["goal"] = (f"≤ {SEARCH_GOALS['ratio']}x, p50 ≤ {SEARCH_GOALS['p50_ms']:.0f} ms, "
                           f"p99 ≤ {SEARCH_GOALS['p99_ms']:.0f} ms")  # fmt: skip
            met = [
                goal("bigshop", "search p50 ms (big shop)", row["big_p50_ms"],
                     SEARCH_GOALS["p50_ms"], at_most=True),
                goal("bigshop", "search p99 ms (big shop)", row["big_p99_ms"],
                     SEARCH_GOALS["p99_ms"], at_most=True),
                goal("bigshop", "search p50 big vs small", row["ratio"], SEARCH_GOALS["ratio"],
                     at_most=True),
            ]  # fmt: skip
            row["met"] = "OK" if ok and met == ["yes"] * 3 else "MISS"
        else:
            row["goal"] = f"≤ {PAGE_GOAL}x"
            met_page = goal("bigshop", f"{name}: p50 big vs small", row["ratio"], PAGE_GOAL,
                            at_most=True)  # fmt: skip
            row["met"] = "OK" if ok and met_page == "yes" else "MISS"
        if not ok:
            row["met"] += " (errors)"
        print(
            f"  {name:<28} small {row['small_p50_ms']:8.1f} ms  big {row['big_p50_ms']:9.1f} ms"
            f"  x{row['ratio']:6.2f}  {row['met']}  {row['big_status']}",
            flush=True,
        )
        rows.append(row)
    return rows


def _codes(statuses: str) -> list[str]:
    return [part.split("x")[0] for part in statuses.split(",") if part]


# Memory of a worker: a process of its own per shop -------------------------------------


def serve_worker(root: str, url: str, slug: str, rounds: int) -> dict[str, Any]:
    """A fresh worker serves every path of one shop ``rounds`` times; its memory then."""
    from storefront.serving import settle

    built = _load_built(root)
    shop = built.shops()["big" if slug == built.big.slug else "small"]
    app = open_app(Path(root), url or None)
    settle()
    baseline = rss_mb()
    visitors = Visitors(app, shop)
    for who, paths in shop_paths(app, shop, search_queries(300)).values():
        for n in range(rounds):
            visitors.get(who, paths[n % len(paths)])
    gc.collect()
    return {"rss_mb": rss_mb(), "rss_start_mb": baseline}


def _load_built(root: str) -> Built:
    saved = json.loads((Path(root) / "built.json").read_text())
    return Built(**{**saved, "big": Shop(**saved["big"]), "small": Shop(**saved["small"])})


def _subprocess(args: list[str], timeout: float) -> dict[str, Any]:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.bigshop", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:  # what it said so far, e.g. its first bytes
        said = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        last = said.strip().splitlines()[-1:] or ["{}"]
        return {**json.loads(last[0]), "error": f"did not finish in {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return dict(json.loads(lines[-1]))


def measure_memory(built: Built, rounds: int) -> dict[str, Any]:
    url = "" if built.url.startswith("sqlite") else built.url
    result: dict[str, Any] = {}
    for size, shop in (("small", built.small), ("big", built.big)):
        result[size] = _subprocess(["serve", built.root, url, shop.slug, str(rounds)], 1800)
    if "rss_mb" in result["big"] and "rss_mb" in result["small"]:
        result["ratio"] = result["big"]["rss_mb"] / result["small"]["rss_mb"]
        result["met"] = goal("bigshop", "worker RSS big vs small", result["ratio"], RSS_GOAL,
                             at_most=True)  # fmt: skip
    return result


# The orders CSV export: a process of its own, with a memory cap ------------------------


def export_worker(root: str, url: str, slug: str) -> dict[str, Any]:
    """Stream the shop's whole orders CSV: time to the first bytes, to the last, bytes,
    rows, and the peak of resident memory above what the process had before."""
    resource.setrlimit(resource.RLIMIT_AS, (EXPORT_MEMORY_CAP, EXPORT_MEMORY_CAP))
    built = _load_built(root)
    shop = built.shops()["big" if slug == built.big.slug else "small"]
    app = open_app(Path(root), url or None)
    visitors = Visitors(app, shop)
    gc.collect()
    before = rss_mb()
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from now
    started = time.perf_counter()
    response = visitors.owner.get("/admin/orders.csv", headers=visitors.host, buffered=False)
    chunks = iter(response.response)
    first = next(chunks, b"")
    first_bytes = time.perf_counter() - started
    said = {"status": response.status_code, "first_bytes_ms": first_bytes * 1000}
    print(json.dumps(said), flush=True)  # kept should the whole export outlast its timeout
    size, lines = len(first), first.count(b"\n")
    for chunk in chunks:
        data = chunk.encode() if isinstance(chunk, str) else chunk
        size += len(data)
        lines += data.count(b"\n")
    response.close()
    total = time.perf_counter() - started
    return {
        **said,
        "total_s": total,
        "bytes": size,
        "lines": lines,
        "peak_rss_delta_mb": _peak_mb() - before,
    }


def _peak_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure_export(built: Built, timeout: float) -> dict[str, Any]:
    url = "" if built.url.startswith("sqlite") else built.url
    result = {}
    for size, shop in (("small", built.small), ("big", built.big)):
        result[size] = _subprocess(["export", built.root, url, shop.slug], timeout)
        print(f"  orders CSV, {size} shop: {result[size]}", flush=True)
    return result


# The catalog import against a bare insert ---------------------------------------------


def _import_csv(count: int, start: int, german: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["sku", "title", "price", "stock", "description", "categories", "active"]
    writer.writerow(header + (["title:de", "description:de"] if german else []))
    for i in range(start, start + count):
        row = [f"IMP-{i:07d}", f"Imported lamp {i}", f"{10 + i % 90}.99", i % 50,
               "A sturdy thing. " * 4, "lamps;garden" if i % 2 else "lamps", "true"]  # fmt: skip
        writer.writerow(row + ([f"Importierte Lampe {i}", "Ein robustes Ding."] if german else []))
    return out.getvalue()


def _import_rows(tenant_id: int, count: int) -> list[dict[str, Any]]:
    from storefront.tenancy.models import utcnow

    now = utcnow()
    return [
        {"tenant_id": tenant_id, "sku": f"IMP-{i:07d}", "slug": f"imported-lamp-{i}",
         "title": f"Imported lamp {i}", "description": "A sturdy thing. " * 4,
         "price": 1099 + i % 90 * 100, "stock": i % 50, "active": True, "featured": False,
         "compare_at_price": None, "image_url": None, "tax_class": "standard",
         "translations": {"de_DE": {"title": f"Importierte Lampe {i}",
                                    "description": "Ein robustes Ding."}},
         "options": None, "created_at": now, "updated_at": now}
        for i in range(count)
    ]  # fmt: skip


def measure_import(app: Any, count: int) -> dict[str, Any]:
    """``count`` catalog rows through the CSV import (files of at most its row limit, one
    commit each), against the same product rows by bare ``executemany``, 1,000 a
    statement, one transaction; in a shop of their own, emptied after each."""
    from storefront.catalog import csv_io
    from storefront.catalog.models import Product, product_categories
    from storefront.extensions import db
    from storefront.tenancy import all_tenants, tenant_context
    from storefront.tenancy.config_edit import update_values
    from storefront.tenancy.models import Tenant
    from storefront.tenancy.registry import context_for
    from storefront.tenancy.services import NewShop, create_shop

    with app.app_context():
        if db.session.scalar(select(Tenant.id).where(Tenant.slug == "importshop")) is None:
            create_shop(NewShop(slug="importshop", name="Import Shop",
                                domains=("importshop.bench.test",)))  # fmt: skip
            update_values("importshop", {"locales": ["en_US", "de_DE"]})
            db.session.commit()
        tenant_id = int(
            db.session.scalar(select(Tenant.id).where(Tenant.slug == "importshop")) or 0
        )
        table: Any = Product.__table__

    def empty() -> None:
        with app.app_context(), all_tenants(), db.engine.begin() as conn:
            conn.execute(
                delete(product_categories).where(product_categories.c.tenant_id == tenant_id)
            )
            conn.execute(delete(table).where(table.c.tenant_id == tenant_id))

    empty()
    rows = _import_rows(tenant_id, count)
    with app.app_context():
        started = time.perf_counter()
        with db.engine.begin() as conn:
            for start in range(0, count, 1000):
                conn.execute(insert(table), rows[start : start + 1000])
        bare = time.perf_counter() - started
    empty()
    del rows
    files = [(start, min(csv_io.MAX_ROWS, count - start))
             for start in range(0, count, csv_io.MAX_ROWS)]  # fmt: skip
    texts = [_import_csv(n, start, german=True) for start, n in files]
    created = 0
    with app.app_context(), tenant_context(context_for("importshop")):
        started = time.perf_counter()
        for text_ in texts:
            parsed = csv_io.parse_rows(text_.splitlines(keepends=True))
            made, _updated = csv_io.import_rows(parsed)
            db.session.commit()
            created += made
        took = time.perf_counter() - started
    empty()
    ratio = bare / took
    result = {
        "rows": count,
        "files": len(files),
        "created": created,
        "import_s": took,
        "import_rows_per_s": count / took,
        "bare_executemany_s": bare,
        "bare_rows_per_s": count / bare,
        "ratio": ratio,
        "met": goal(
            "bigshop", f"catalog import of {count:,} rows vs executemany", ratio, IMPORT_GOAL
        ),  # fmt: skip
    }
    print(f"  catalog import: {result}", flush=True)
    return result


# The run ------------------------------------------------------------------------------


def mariadb_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 3306), timeout=0.5).close()
    except OSError:
        return False
    return True


def measure(built: Built, quick: bool, sections: set[str]) -> dict[str, Any]:
    requests = 30 if quick else 200
    budget = 8.0 if quick else 20.0
    app = open_app(Path(built.root), None if built.url.startswith("sqlite") else built.url)
    from storefront.serving import settle

    settle()
    result: dict[str, Any] = {"built": _built_summary(built), "requests_per_path": requests}
    # A failing page is counted by its status; its traceback would bury the table.
    logging.disable(logging.CRITICAL)
    if "paths" in sections:
        print("paths (p50, small shop vs big shop):", flush=True)
        result["paths"] = measure_paths(app, built, requests, budget)
    if "memory" in sections:
        print("worker memory ...", flush=True)
        result["memory"] = measure_memory(built, 5 if quick else 20)
        print(f"  {result['memory']}", flush=True)
    if "export" in sections:
        print("orders CSV export ...", flush=True)
        result["export"] = measure_export(built, 300 if quick else 600)
    if "import" in sections:
        print("catalog import ...", flush=True)
        try:
            result["import"] = measure_import(app, built.big.products)
        except Exception as exc:  # noqa: BLE001 - the import broke: say so, go on
            result["import"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            print(f"  catalog import failed: {result['import']['error']}", flush=True)
    return result


def _built_summary(built: Built) -> dict[str, Any]:
    return {
        "database": "SQLite" if built.url.startswith("sqlite") else "MariaDB",
        "schema_head": built.key["head"],
        "sizes": {k: v for k, v in built.key.items() if k != "head"},
        "load_seconds": built.load_seconds,
        "post_steps": built.post_steps,
    }


def report(result: dict[str, Any]) -> None:
    rows = list(result.get("paths", []))
    memory = result.get("memory", {})
    if "ratio" in memory:
        rows.append({"path": "worker RSS (MiB)", "small_p50_ms": memory["small"]["rss_mb"],
                     "big_p50_ms": memory["big"]["rss_mb"], "ratio": memory["ratio"],
                     "goal": f"≤ {RSS_GOAL}x",
                     "met": "OK" if memory["met"] == "yes" else "MISS"})  # fmt: skip
    imported = result.get("import", {})
    if "ratio" in imported:
        rows.append({"path": f"catalog import {imported['rows']:,} rows (rows/s)",
                     "small_p50_ms": imported["bare_rows_per_s"],
                     "big_p50_ms": imported["import_rows_per_s"], "ratio": imported["ratio"],
                     "goal": f"≥ {IMPORT_GOAL}x bare",
                     "met": "OK" if imported["met"] == "yes" else "MISS"})  # fmt: skip
    export = result.get("export", {})
    if all("first_bytes_ms" in export.get(size, {}) for size in ("small", "big")):
        small, big = export["small"], export["big"]
        rows.append({"path": "orders CSV: first bytes (ms)",
                     "small_p50_ms": small["first_bytes_ms"],
                     "big_p50_ms": big["first_bytes_ms"],
                     "ratio": big["first_bytes_ms"] / small["first_bytes_ms"], "goal": "-",
                     "met": "-"})  # fmt: skip
        rows.append({"path": "orders CSV: peak RSS delta (MiB)",
                     "small_p50_ms": small.get("peak_rss_delta_mb", "unfinished"),
                     "big_p50_ms": big.get("peak_rss_delta_mb", "unfinished"), "goal": "-",
                     "met": "-"})  # fmt: skip
    columns = ["path", "small_p50_ms", "small_p99_ms", "big_p50_ms", "big_p99_ms", "ratio",
               "goal", "met", "big_status"]  # fmt: skip
    if rows:
        print(table(rows, columns))
    for size, export in result.get("export", {}).items():
        print(f"orders CSV export, {size} shop: {export}")


def plot(result: dict[str, Any], path: Path) -> None:
    """Each path's p50 ratio (big shop vs small) against its goal, as bench/plot.py draws."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result.get("paths", [])
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.4))
    colours = ["tab:green" if r["met"] == "OK" else "tab:red" for r in rows]
    ax.barh(range(len(rows)), [r["ratio"] for r in rows], color=colours)
    ax.axvline(PAGE_GOAL, color="black", linewidth=1, label=f"goal for pages: {PAGE_GOAL}x")
    ax.axvline(SEARCH_GOALS["ratio"], color="grey", linewidth=1, linestyle="--",
               label=f"goal for search: {SEARCH_GOALS['ratio']}x")  # fmt: skip
    ax.set_yticks(range(len(rows)), [r["path"] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("p50, big shop ÷ small shop (log; green: goal met)")
    sizes = result["built"]["sizes"]
    ax.set_title(f"{sizes['products']:,} products, {sizes['orders']:,} orders vs "
                 f"{sizes['small_products']} and {sizes['small_orders']:,} "
                 f"({result['built']['database']})", fontsize=10)  # fmt: skip
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(
    quick: bool = False,
    products: int | None = None,
    orders: int | None = None,
    rebuild: bool = False,
    database: str = "both",
    drill: bool = False,
    only: str = "paths,memory,export,import",
    machine: dict[str, str] | None = None,
    drop: bool = False,
) -> dict[str, Any]:
    if drop:  # the kept MariaDB build: its database and its folder
        drop_mariadb()
        print("dropped bench_bigshop and its kept build", flush=True)
        return {}
    base = QUICK if quick else Sizes()
    wanted_products = products or base.products
    wanted_orders = orders or base.orders
    sizes = Sizes(products=wanted_products, orders=wanted_orders,
                  customers=max(1_000, wanted_orders // 10))  # fmt: skip
    urls: list[str | None] = []
    if database in ("sqlite", "both"):
        urls.append(None)
    if database in ("mariadb", "both"):
        if mariadb_up():
            urls.append(MARIADB_URL)
        else:
            print("MariaDB is not reachable on 127.0.0.1:3306: skipped", flush=True)
    if drill:
        from . import bigshop_drill

        return {"drill": [bigshop_drill.run(url, sizes, rebuild, quick) for url in urls[:1]]}
    results = {}
    RESULTS.mkdir(exist_ok=True)
    for url in urls:
        name = "mariadb" if url else "sqlite"
        print(f"\n-- big shop on {name} --", flush=True)
        started = time.perf_counter()
        built = ensure(url, sizes, rebuild)
        build_s = time.perf_counter() - started
        result = measure(built, quick, set(only.split(",")))
        result["build_or_reuse_s"] = build_s
        result["measure_s"] = time.perf_counter() - started - build_s
        (RESULTS / f"bigshop-{name}.json").write_text(  # first: nothing measured is lost
            json.dumps({"machine": machine or {}, "quick": quick, **result}, indent=2)
        )
        report(result)
        plot(result, IMAGES / f"bench-bigshop-{name}.png")
        results[name] = result
    return results


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)
    if sys.argv[1] == "serve":
        print(json.dumps(serve_worker(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))))
    elif sys.argv[1] == "export":
        print(json.dumps(export_worker(sys.argv[2], sys.argv[3], sys.argv[4])))
    else:
        raise SystemExit("usage: python -m bench.bigshop serve|export ... (see bench/bigshop.py)")
