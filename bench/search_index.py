"""Search through the index at 200,000 products against the same at 100, in process.

``python -m bench.search_index [products]``: a shop of ``products`` products (titles of
three to five words from a vocabulary of 3,000 made-up words, each title and a short
description in English and German, a SKU each, eight categories) is written with bare
``executemany`` inserts, its index built with ``reindex_shop`` (timed), then a mix of
queries (one common word, a rare one, two and three words, a typo, a prefix, a plural)
is timed one by one through ``search.find``; the same mix on a 100-product shop is the
baseline. SQLite by default; ``BENCH_DATABASE_URL`` for MariaDB.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from storefront.catalog import search
from storefront.catalog.models import Category, Product, product_categories
from storefront.extensions import db
from storefront.tenancy.context import tenant_context
from storefront.tenancy.models import utcnow
from storefront.tenancy.registry import context_for
from storefront.tenancy.services import NewShop, create_shop

from .platform_setup import build_app, migrate, temp_root

SYLLABLES = [
    "ka", "ro", "mi", "ten", "bar", "lo", "vel", "an", "sto", "ri", "pel", "dun", "ma", "ker",
    "sa", "tor", "bri", "len", "go", "fa", "zel", "un", "mer", "chi",
]  # fmt: skip
GOAL_P50, GOAL_P99, GOAL_RATIO = 0.030, 0.100, 1.5


def vocabulary(size: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def fill(app: Any, slug: str, count: int, first_id: int) -> Any:
    with app.app_context():
        create_shop(NewShop(slug=slug, name=slug.title(), domains=(f"{slug}.test",)))
        folder = Path(app.config["TENANTS_DIR"]) / slug / "tenant.toml"
        folder.write_text(f'name = "{slug}"\nlocales = ["en_US", "de_DE"]\n')
        shop = context_for(slug)
    english, german = vocabulary(3000, 1), vocabulary(3000, 2)
    rng = random.Random(3)
    # A few words much commoner than the rest, as in real catalogs (Zipf-like).
    weights = [1 / (rank + 1) for rank in range(3000)]
    with app.app_context(), tenant_context(shop):
        connection = db.session.connection()
        connection.execute(
            insert(Category.__table__),
            [{"tenant_id": shop.id, "slug": f"c{i}", "name": english[i], "position": i,
              "translations": {"de_DE": {"name": german[i]}}} for i in range(8)],
        )  # fmt: skip
        categories = list(
            connection.scalars(
                select(Category.id).where(Category.tenant_id == shop.id).order_by(Category.id)
            )
        )
        now = utcnow()
        for start in range(0, count, 5000):
            rows, links = [], []
            for i in range(start, min(start + 5000, count)):
                n = rng.randint(3, 5)
                en = rng.choices(english, weights, k=n)
                de = rng.choices(german, weights, k=n)
                rows.append(
                    {"tenant_id": shop.id, "id": first_id + i, "sku": f"SKU-{i:06d}",
                     "slug": f"p-{i}", "title": " ".join(en).title(), "price": 100 + i % 900,
                     "description": " ".join(rng.choices(english, weights, k=8)),
                     "stock": 5, "active": True, "featured": False, "tax_class": "standard",
                     "created_at": now, "updated_at": now,
                     "translations": {"de_DE": {"title": " ".join(de).title(),
                                                "description": " ".join(rng.choices(german, k=8))}}}
                )  # fmt: skip
                category = categories[i % 8]
                links.append(
                    {"tenant_id": shop.id, "product_id": first_id + i, "category_id": category}
                )
            connection.execute(insert(Product.__table__), rows)
            connection.execute(insert(product_categories), links)
        started = time.perf_counter()
        indexed = search.reindex_shop()
        db.session.commit()
        built = time.perf_counter() - started
    return shop, indexed, built, english, german


KINDS = ("common", "rare", "common+rare", "two common", "three words", "typo", "prefix",
         "plural")  # fmt: skip


def queries(english: list[str], german: list[str]) -> list[str]:
    """Forty of each kind, in turn (``KINDS``)."""
    rng = random.Random(4)
    mix = []
    for _ in range(40):
        common, rare = english[rng.randint(0, 20)], english[rng.randint(1000, 2999)]
        other = german[rng.randint(0, 200)]
        typo = rare[:2] + rare[3:] if len(rare) > 4 else rare
        mix += [common, rare, f"{common} {rare}", f"{common} {english[rng.randint(0, 50)]}",
                f"{rare} {other} {common}", typo, common[:3], common + "s"]  # fmt: skip
    return mix


def timed(app: Any, shop: Any, mix: list[str]) -> list[float]:
    times = []
    with app.app_context(), tenant_context(shop):
        for query in mix[:20]:  # warm: statements compiled, pages cached
            search.find(query)
        for query in mix:
            started = time.perf_counter()
            search.find(query)
            times.append(time.perf_counter() - started)
            db.session.rollback()
    return times


def by_kind(times: list[float]) -> dict[str, tuple[float, float]]:
    """p50 and p99 (ms) of each kind of query."""
    found = {}
    for i, kind in enumerate(KINDS):
        mine = times[i :: len(KINDS)]
        found[kind] = (round(percentile(mine, 0.5) * 1000, 2), round(max(mine) * 1000, 2))
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(count: int = 200_000) -> dict[str, Any]:
    root = temp_root("search-index")
    app = build_app(root)
    migrate(app)
    small, _n, _t, en_small, de_small = fill(app, "small", 100, 1)
    big, indexed, built, english, german = fill(app, "big", count, 1000)
    base = timed(app, small, queries(en_small, de_small))
    times = timed(app, big, queries(english, german))
    with app.app_context(), tenant_context(big):
        capped = sum(search.find(q).capped for q in queries(english, german)[:80])
    result = {
        "products": indexed,
        "index_build_s": round(built, 1),
        "p50_ms": round(percentile(times, 0.5) * 1000, 2),
        "p99_ms": round(percentile(times, 0.99) * 1000, 2),
        "max_ms": round(max(times) * 1000, 2),
        "baseline_p50_ms": round(statistics.median(base) * 1000, 2),
        "baseline_p99_ms": round(percentile(base, 0.99) * 1000, 2),
        "ratio_p50": round(statistics.median(times) / statistics.median(base), 2),
        "capped_share_of_first_80": capped / 80,
        "queries": len(times),
        "by_kind_p50_max_ms": by_kind(times),
        "baseline_by_kind_p50_max_ms": by_kind(base),
    }
    result["goal_met"] = (
        result["p50_ms"] <= GOAL_P50 * 1000
        and result["p99_ms"] <= GOAL_P99 * 1000
        and result["ratio_p50"] <= GOAL_RATIO
    )
    return result


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000))
