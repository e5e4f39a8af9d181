"""The big shop's data: one shop of 200,000 products and 2,000,000 orders beside a shop of
100 products and 1,000 orders, built once and kept between runs.

The shops are made as ``tenantctl shops create`` makes them (``create_shop``, with an
owner), the schema as ``flask db upgrade`` makes it; every other row goes in by Core
``executemany`` in batches, in one transaction per batch. Products go in that way too, not
through the catalog's import (``catalog.bulk``): an import stamps every row with the same
moment, and a catalog that grew over years has its products' ``created_at`` spread over
them, which is what the "newest" sort reads. The import is timed on its own
(``bigshop.import_speed``).

A build is kept under /tmp (SQLite: the database file; MariaDB: the database
``bench_bigshop``; both: the shops' folders and ``built.json``), keyed by the schema's
head revision and the sizes; ``--rebuild`` starts over. The search index and the daily
aggregates are rebuilt afterwards when the platform has them (``reindex_shop``,
``aggregates.rebuild``); a kept build on which one was not yet available gets it on the
next run.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from .platform_setup import build_app

SQLITE_ROOT = Path("/tmp/storefront-bench-bigshop-sqlite")  # -<products>-<orders>
MARIADB_ROOT = Path("/tmp/storefront-bench-bigshop-mariadb")
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/bench_bigshop"
OWNER_PASSWORD = "bench-owner-password-1"
BATCH = 10_000
LOCALES = ["en_US", "de_DE"]
# The app both the build and the measurements run: the page cache off (it would answer
# from memory what is measured), a fast password hash (a login is not what is measured).
APP_SETTINGS: dict[str, Any] = {"SHOP_PAGE_CACHE": False, "SECURITY_PASSWORD_HASH": "pbkdf2_sha512"}

# Titles are made of these (English, German): "Sturdy oak chair 417" and "Robuster
# Eichen-Stuhl 417"; searches pick words from them, with typos.
ADJECTIVES = [
    ("sturdy", "robuster"), ("elegant", "eleganter"), ("compact", "kompakter"),
    ("vintage", "klassischer"), ("modern", "moderner"), ("rustic", "rustikaler"),
    ("folding", "klappbarer"), ("portable", "tragbarer"), ("classic", "zeitloser"),
    ("deluxe", "luxuriöser"), ("handmade", "handgemachter"), ("durable", "langlebiger"),
    ("lightweight", "leichter"), ("premium", "hochwertiger"), ("tiny", "winziger"),
    ("giant", "riesiger"), ("smart", "smarter"), ("cozy", "gemütlicher"),
    ("waterproof", "wasserdichter"), ("wireless", "kabelloser"),
]  # fmt: skip
MATERIALS = [
    ("oak", "Eichen"), ("walnut", "Nussbaum"), ("steel", "Stahl"), ("bamboo", "Bambus"),
    ("leather", "Leder"), ("wool", "Woll"), ("cotton", "Baumwoll"), ("ceramic", "Keramik"),
    ("glass", "Glas"), ("copper", "Kupfer"), ("marble", "Marmor"), ("linen", "Leinen"),
    ("rattan", "Rattan"), ("aluminium", "Aluminium"), ("birch", "Birken"),
]  # fmt: skip
NOUNS = [
    ("chair", "Stuhl"), ("table", "Tisch"), ("lamp", "Lampe"), ("shelf", "Regal"),
    ("basket", "Korb"), ("blanket", "Decke"), ("mug", "Becher"), ("vase", "Vase"),
    ("stool", "Hocker"), ("bench", "Bank"), ("mirror", "Spiegel"), ("clock", "Uhr"),
    ("kettle", "Kessel"), ("backpack", "Rucksack"), ("wallet", "Geldbörse"),
    ("speaker", "Lautsprecher"), ("jacket", "Jacke"), ("pillow", "Kissen"),
    ("bottle", "Flasche"), ("rug", "Teppich"), ("desk", "Schreibtisch"), ("bowl", "Schale"),
    ("candle", "Kerze"), ("towel", "Handtuch"), ("planter", "Pflanztopf"),
]  # fmt: skip
DEPARTMENTS = [
    ("Living", "Wohnen"), ("Kitchen", "Küche"), ("Garden", "Garten"), ("Office", "Büro"),
    ("Outdoor", "Draußen"), ("Bath", "Bad"), ("Kids", "Kinder"), ("Travel", "Reisen"),
    ("Bedroom", "Schlafzimmer"), ("Studio", "Atelier"),
]  # fmt: skip
KINDS = [("basics", "Basics"), ("classics", "Klassiker"), ("new", "Neuheiten"),
         ("gifts", "Geschenke"), ("sale", "Angebote")]  # fmt: skip
SIZES = [("S", "S"), ("M", "M"), ("L", "L"), ("XL", "XL")]
STATUS_WEIGHTS = [("delivered", 70), ("shipped", 8), ("paid", 8), ("pending", 6),
                  ("cancelled", 5), ("refunded", 3)]  # fmt: skip
HEAVY_ORDERS = 1_000  # one customer of the big shop has this many orders


@dataclass(frozen=True)
class Sizes:
    products: int = 200_000
    orders: int = 2_000_000
    customers: int = 200_000
    categories: int = 50
    small_products: int = 100
    small_orders: int = 1_000
    small_customers: int = 200
    small_categories: int = 5


@dataclass
class Shop:
    slug: str
    host: str
    owner: str
    products: int
    orders: int
    customers: int
    heavy_customer: int | None = None  # the user id with HEAVY_ORDERS orders


@dataclass
class Built:
    url: str
    root: str
    key: dict[str, Any]
    big: Shop
    small: Shop
    load_seconds: dict[str, float]
    post_steps: dict[str, str]

    def shops(self) -> dict[str, Shop]:
        return {"big": self.big, "small": self.small}


def schema_key(app: Any) -> str:
    """The schema's head revision and a digest of every migration's text: a migration
    filled in after its revision was named (or changed) makes another schema."""
    from alembic.script import ScriptDirectory

    with app.app_context():
        directory = app.extensions["migrate"].directory
    digest = hashlib.sha256()
    for path in sorted(Path(directory, "versions").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    heads = ",".join(sorted(ScriptDirectory(directory).get_heads()))
    return f"{heads}:{digest.hexdigest()[:12]}"


def root_for(url: str | None, sizes: Sizes) -> Path:
    """Where a build is kept: SQLite's, one per size (a quick one beside the full one);
    MariaDB's one, as its database is."""
    if url:
        return MARIADB_ROOT
    return SQLITE_ROOT.with_name(f"{SQLITE_ROOT.name}-{sizes.products}-{sizes.orders}")


def open_app(root: Path, url: str | None) -> Any:
    """The platform on the kept build (``BENCH_DATABASE_URL`` names MariaDB's)."""
    import os

    if url:
        os.environ["BENCH_DATABASE_URL"] = url
    else:
        os.environ.pop("BENCH_DATABASE_URL", None)
    return build_app(root, **APP_SETTINGS)


def ensure(url: str | None, sizes: Sizes, rebuild: bool = False) -> Built:
    """The kept build for ``sizes`` on SQLite (``url`` None) or MariaDB, built if missing,
    stale (another schema head, other sizes) or when ``rebuild``."""
    root = root_for(url, sizes)
    root.mkdir(parents=True, exist_ok=True)
    app = open_app(root, url)
    key = {"head": schema_key(app), **asdict(sizes)}
    marker = root / "built.json"
    if not rebuild and marker.exists():
        saved = json.loads(marker.read_text())
        if saved.get("key") == key:
            built = Built(**{**saved, "big": Shop(**saved["big"]), "small": Shop(**saved["small"])})
            print(f"kept build at {root} (schema {key['head']}): not rebuilt", flush=True)
            _post_steps(app, built)
            marker.write_text(json.dumps(asdict(built), indent=2))
            return built
    print(f"building {sizes} in {root} ...", flush=True)
    marker.unlink(missing_ok=True)
    app = _fresh(root, url)
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    big = _shop(app, "bigshop", "Big Shop", sizes.products, sizes.orders, sizes.customers,
                sizes.categories, seconds, heavy=True)  # fmt: skip
    small = _shop(app, "smallshop", "Small Shop", sizes.small_products, sizes.small_orders,
                  sizes.small_customers, sizes.small_categories, {})  # fmt: skip
    seconds["total"] = time.perf_counter() - started
    built = Built(
        url=app.config["DATABASE_URL"],
        root=str(root),
        key=key,
        big=big,
        small=small,
        load_seconds={k: round(v, 1) for k, v in seconds.items()},
        post_steps={},
    )
    _post_steps(app, built)
    marker.write_text(json.dumps(asdict(built), indent=2))
    print(f"built in {seconds['total']:.0f} s: {built.load_seconds}", flush=True)
    return built


def _fresh(root: Path, url: str | None) -> Any:
    """An empty platform: the shops' folders gone, the database migrated from nothing."""
    from .platform_setup import migrate

    shutil.rmtree(root / "tenants", ignore_errors=True)
    shutil.rmtree(root / "instance", ignore_errors=True)
    (root / "bench.db").unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        (root / f"bench.db{suffix}").unlink(missing_ok=True)
    app = open_app(root, url)
    migrate(app)  # MariaDB: creates bench_bigshop and drops whatever tables it had
    return app


def drop_mariadb() -> None:
    """Remove the bench's MariaDB database and its marker (``--drop``)."""
    from sqlalchemy import create_engine

    engine = create_engine(MARIADB_URL.rsplit("/", 1)[0] + "/")
    with engine.begin() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS bench_bigshop"))
    engine.dispose()
    shutil.rmtree(MARIADB_ROOT, ignore_errors=True)


def _post_steps(app: Any, built: Built) -> None:
    """The search index and the daily aggregates, where the platform has them; each step
    that ran is remembered, one that was missing is tried again on the next run."""
    from storefront.extensions import db
    from storefront.tenancy import tenant_context
    from storefront.tenancy.registry import context_for

    steps = {
        "search index": ("storefront.catalog.search", "reindex_shop"),
        "daily aggregates": ("storefront.orders.aggregates", "rebuild"),
    }
    for name, (module_name, function_name) in steps.items():
        if built.post_steps.get(name, "").startswith("done"):
            continue
        try:
            module = __import__(module_name, fromlist=[function_name])
            function: Callable[[], Any] = getattr(module, function_name)
        except (ImportError, AttributeError):
            built.post_steps[name] = "skipped: not available"
            print(f"{name}: skipped: not available", flush=True)
            continue
        for shop in built.shops().values():
            started = time.perf_counter()
            try:
                with app.app_context(), tenant_context(context_for(shop.slug)):
                    function()
                    db.session.commit()
            except Exception as exc:  # noqa: BLE001 - a step that breaks: say so, go on
                first_line = str(exc).splitlines()[0] if str(exc) else ""
                built.post_steps[name] = f"failed: {type(exc).__name__}: {first_line}"[:300]
                print(f"{name} of {shop.slug}: {built.post_steps[name]}", flush=True)
                break
            took = time.perf_counter() - started
            built.post_steps[name] = f"done ({took:.1f} s for {shop.slug})"
            print(f"{name} of {shop.slug}: {took:.1f} s", flush=True)


def _shop(
    app: Any,
    slug: str,
    name: str,
    products: int,
    orders: int,
    customers: int,
    categories: int,
    seconds: dict[str, float],
    heavy: bool = False,
) -> Shop:
    from storefront.extensions import db
    from storefront.tenancy.config_edit import update_values
    from storefront.tenancy.services import NewShop, create_shop

    owner = f"owner@{slug}.example"
    with app.app_context():
        tenant = create_shop(
            NewShop(
                slug=slug,
                name=name,
                domains=(f"{slug}.bench.test",),
                owner_email=owner,
                owner_password=OWNER_PASSWORD,
            )
        )
        tenant_id = tenant.id
        update_values(slug, {"locales": LOCALES})
        db.session.commit()
        loader = Loader(app, tenant_id, slug, random.Random(slug))
        step = time.perf_counter()
        loader.categories(categories)
        loader.products(products, categories)
        seconds["products"] = time.perf_counter() - step
        step = time.perf_counter()
        first_user = loader.customers(customers)
        seconds["customers"] = time.perf_counter() - step
        step = time.perf_counter()
        loader.orders(orders, customers, first_user, products, heavy)
        seconds["orders"] = time.perf_counter() - step
    return Shop(
        slug=slug,
        host=f"{slug}.bench.test",
        owner=owner,
        products=products,
        orders=orders,
        customers=customers,
        heavy_customer=first_user if heavy else None,
    )


def _weighted(rng: random.Random, weights: list[tuple[str, int]]) -> Iterator[str]:
    names = [n for n, _w in weights]
    shares = [w for _n, w in weights]
    while True:
        yield from rng.choices(names, shares, k=4096)


class Loader:
    """Rows for one shop, batch by batch, each batch in a transaction of its own."""

    def __init__(self, app: Any, tenant_id: int, slug: str, rng: random.Random) -> None:
        from storefront.extensions import db

        self.app, self.tenant, self.slug, self.rng = app, tenant_id, slug, rng
        self.engine = db.engine
        self.now = datetime(2026, 12, 1)
        self.prices: list[int] = []
        self.titles: list[str] = []
        self.category_ids: list[int] = []

    def _next_id(self, table: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(text("max(id)")).select_from(table)) or 0) + 1

    def _write(self, table: Any, rows: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> int:
        count, batch = 0, []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                self._flush(table, batch)
                count, batch = count + len(batch), []
        if batch:
            self._flush(table, batch)
            count += len(batch)
        return count

    def _flush(self, table: Any, batch: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
            else:  # the load session's own checks: every row is made consistent here
                conn.exec_driver_sql("SET unique_checks=0, foreign_key_checks=0")
            conn.execute(insert(table), batch)
            if self.engine.dialect.name != "sqlite":
                conn.exec_driver_sql("SET unique_checks=1, foreign_key_checks=1")

    def categories(self, count: int) -> None:
        from storefront.catalog.models import Category

        start = self._next_id(Category.__table__)
        rows: list[dict[str, Any]] = []
        for n in range(count):
            (dept, dept_de), (kind, kind_de) = DEPARTMENTS[n % 10], KINDS[n // 10 % 5]
            suffix = f" {n // 50 + 1}" if n >= 50 else ""
            rows.append(
                {"id": start + n, "tenant_id": self.tenant, "slug": f"{dept}-{kind}{suffix}".lower()
                 .replace(" ", "-"), "name": f"{dept} {kind}{suffix}", "parent_id": None,
                 "position": n, "translations": {"de_DE": {"name": f"{dept_de} {kind_de}{suffix}"}}}
            )  # fmt: skip
        self._write(Category.__table__, rows)
        self.category_ids = [row["id"] for row in rows]

    def products(self, count: int, categories: int) -> None:
        from storefront.catalog.models import Product, ProductImage, Variant, product_categories

        start = self._next_id(Product.__table__)
        rng = self.rng
        spread = timedelta(days=3 * 365) / max(count, 1)
        first = self.now - timedelta(days=3 * 365)
        description = (
            "Made to last and easy to care for. Ships in recyclable packaging within two days."
        )
        description_de = "Langlebig und pflegeleicht. Versand in recyclingfähiger Verpackung."

        def product_rows() -> Iterator[dict[str, Any]]:
            for i in range(count):
                (adj, adj_de) = ADJECTIVES[rng.randrange(len(ADJECTIVES))]
                (mat, mat_de) = MATERIALS[rng.randrange(len(MATERIALS))]
                (noun, noun_de) = NOUNS[rng.randrange(len(NOUNS))]
                title = f"{adj.capitalize()} {mat} {noun} {i + 1}"
                title_de = f"{adj_de.capitalize()} {mat_de}-{noun_de} {i + 1}"
                price = 199 + rng.randrange(2000) * 50
                self.prices.append(price)
                self.titles.append(title)
                options = None
                if i % 10 == 0:
                    n = 2 + i // 10 % 3
                    german = {"name": "Größe", "values": [d for _s, d in SIZES[:n]]}
                    options = [{"name": "Size", "values": [s for s, _d in SIZES[:n]],
                                "translations": {"de_DE": german}}]  # fmt: skip
                moment = first + spread * i
                yield {
                    "id": start + i, "tenant_id": self.tenant, "sku": f"SKU-{i + 1:07d}",
                    "slug": f"{adj}-{mat}-{noun}-{i + 1}", "title": title,
                    "description": f"{title}. {description}", "price": price,
                    "compare_at_price": price + 500 if i % 7 == 0 else None,
                    "stock": rng.randrange(200), "active": i % 50 != 49, "featured": i % 997 == 0,
                    "image_url": None, "tax_class": "standard", "created_at": moment,
                    "updated_at": moment,
                    "translations": {"de_DE": {"title": title_de,
                                               "description": f"{title_de}. {description_de}"}},
                    "options": options,
                }  # fmt: skip

        self._write(Product.__table__, product_rows())

        def links() -> Iterator[dict[str, Any]]:
            for i in range(count):
                cats = {self.category_ids[i % categories]}
                if i % 10 == 3:
                    cats.add(self.category_ids[i * 7 % categories])
                for category in cats:
                    yield {"tenant_id": self.tenant, "product_id": start + i,
                           "category_id": category}  # fmt: skip

        self._write(product_categories, links())

        def images() -> Iterator[dict[str, Any]]:
            for i in range(count):
                for k in range(1 + i % 3):
                    yield {
                        "tenant_id": self.tenant, "product_id": start + i,
                        "key": f"img/{self.slug}-{i + 1:07d}-{k}", "width": 1600, "height": 1200,
                        "fallback": "jpg", "widths": [320, 640, 1024, 1600], "position": k,
                        "alt": self.titles[i], "translations": None, "created_at": self.now,
                    }  # fmt: skip

        self._write(ProductImage.__table__, images())

        def variants() -> Iterator[dict[str, Any]]:
            for i in range(0, count, 10):
                for v, (size, _de) in enumerate(SIZES[: 2 + i // 10 % 3]):
                    yield {
                        "tenant_id": self.tenant, "product_id": start + i,
                        "sku": f"SKU-{i + 1:07d}-{size}", "option_values": [size],
                        "price": None if v < 2 else self.prices[i] + 300, "compare_at_price": None,
                        "stock": rng.randrange(50), "image_key": None, "position": v,
                        "updated_at": self.now,
                    }  # fmt: skip

        self._write(Variant.__table__, variants())
        self.first_product = start

    def customers(self, count: int) -> int:
        from storefront.accounts.models import Role, User, roles_users

        start = self._next_id(User.__table__)
        with self.engine.connect() as conn:
            role = conn.scalar(
                select(Role.__table__.c.id).where(
                    Role.__table__.c.tenant_id == self.tenant, Role.__table__.c.name == "customer"
                )
            )
        spread = timedelta(days=3 * 365) / max(count, 1)
        first = self.now - timedelta(days=3 * 365)

        def users() -> Iterator[dict[str, Any]]:
            for i in range(count):
                moment = first + spread * i
                yield {
                    "id": start + i, "tenant_id": self.tenant, "email": f"customer{i}@example.com",
                    "name": f"Customer {i}", "password": None, "active": True,
                    "fs_uniquifier": uuid.uuid4().hex, "fs_token_uniquifier": uuid.uuid4().hex,
                    "confirmed_at": moment, "locale": "de_DE" if i % 4 == 0 else "en_US",
                    "order_mails": None, "created_at": moment,
                }  # fmt: skip

        self._write(User.__table__, users())
        self._write(
            roles_users,
            ({"tenant_id": self.tenant, "user_id": start + i, "role_id": role}
             for i in range(count)),
        )  # fmt: skip
        return start

    def orders(
        self, count: int, customers: int, first_user: int, products: int, heavy: bool
    ) -> None:
        from storefront.orders.models import Order, OrderCounter, OrderLine

        start = self._next_id(Order.__table__)
        rng = self.rng
        spread = timedelta(days=2 * 365) / max(count, 1)
        first = self.now - timedelta(days=2 * 365)
        statuses = _weighted(rng, STATUS_WEIGHTS)
        prefix = self.slug.upper()
        line_rows: list[dict[str, Any]] = []
        # Every HEAVY_ORDERS-th order, up to HEAVY_ORDERS of them, is the heavy customer's.
        every = max(count // HEAVY_ORDERS, 1)

        def order_rows() -> Iterator[dict[str, Any]]:
            for j in range(count):
                order_id = start + j
                if heavy and j % every == 0 and j // every < HEAVY_ORDERS:
                    customer: int | None = 0
                elif j % 10 == 9:
                    customer = None
                else:
                    customer = rng.randrange(customers)
                email = (f"customer{customer}@example.com" if customer is not None
                         else f"guest{rng.randrange(count // 20 + 1)}@example.net")  # fmt: skip
                subtotal = 0
                for _ in range(1 + rng.randrange(3)):
                    p = rng.randrange(products)
                    quantity = 1 + rng.randrange(3) // 2
                    price = self.prices[p]
                    subtotal += price * quantity
                    line_rows.append(
                        {"tenant_id": self.tenant, "order_id": order_id,
                         "product_id": self.first_product + p, "variant_id": None,
                         "sku": f"SKU-{p + 1:07d}", "title": self.titles[p], "variant": None,
                         "unit_price": price, "quantity": quantity, "line_total": price * quantity,
                         "discount": 0, "tax": 0, "tax_rate": "0"}
                    )  # fmt: skip
                status = next(statuses)
                moment = first + spread * j
                yield {
                    "id": order_id, "tenant_id": self.tenant, "number": f"{prefix}-{1001 + j}",
                    "user_id": None if customer is None else first_user + customer,
                    "email": email, "name": f"Customer {customer}" if customer is not None
                    else "Guest Shopper", "address": f"{1 + j % 300} Long Street",
                    "postal_code": f"{10000 + j % 89999}", "city": "Springfield", "country": "US",
                    "country_area": "", "city_area": "", "sorting_code": "", "phone": "",
                    "shipping_label": "Standard shipping", "shipping": 500, "subtotal": subtotal,
                    "discount": 0, "discount_code": None, "tax": 0, "tax_included": False,
                    "tax_lines": None, "total": subtotal + 500, "currency": "USD",
                    "payment_method": "manual", "status": status, "note": "",
                    "checkout_key": None, "request_fingerprint": None,
                    "locale": "en_US", "carrier": None, "tracking_number": None,
                    "restocked_at": moment if status == "cancelled" else None,
                    "refunded": subtotal + 500 if status == "refunded" else 0,
                    "payment_ref": None, "payment_intent": None, "created_at": moment,
                    "updated_at": moment + timedelta(hours=1 + j % 48),
                }  # fmt: skip

        batch: list[dict[str, Any]] = []
        for row in order_rows():
            batch.append(row)
            if len(batch) >= BATCH:
                self._flush(Order.__table__, batch)
                self._flush(OrderLine.__table__, line_rows)
                batch.clear()
                line_rows.clear()
        if batch:
            self._flush(Order.__table__, batch)
            self._flush(OrderLine.__table__, line_rows)
        with self.engine.begin() as conn:
            table: Any = OrderCounter.__table__
            conn.execute(
                table.update()
                .where(table.c.tenant_id == self.tenant)
                .values(next_number=1001 + count)
            )
