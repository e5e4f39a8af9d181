"""Query plans as a test: every SELECT a page sends is served by an index.

``recorded(engine)`` records the statements (with their parameters) a block of code sends;
``assert_indexed(statements)`` asks the database how it would run each SELECT (SQLite:
``EXPLAIN QUERY PLAN``, MariaDB/MySQL: ``EXPLAIN``) and fails, naming the statement and the
plan, when

- a shop-owned table (one with a ``tenant_id`` column) is read whole: SQLite ``SCAN <table>``
  (any ``SCAN`` of a shop table: with ``tenant_id`` leading every index, a plan that walks
  the table, or a whole index, instead of searching it reads every shop's rows); MariaDB
  ``type=ALL``;
- rows are sorted without an index: SQLite ``USE TEMP B-TREE FOR ORDER BY`` (also "for
  RIGHT PART OF", "for LAST TERM OF"), MariaDB ``Using filesort``, when the rows being
  sorted are not bounded (see below).

Tables small by nature (``SMALL_TABLES``, each with its reason) may be read whole and
sorted: a shop's category tree is tens of rows and is read whole by design.

**A sort is bounded** when it sorts rows already narrowed to one thing: one product's
pictures, one cart's lines. On SQLite, every shop table in the plan is searched with an
equality on a column that does not span a shop (``SHOP_WIDE_COLUMNS``: ``tenant_id``,
``category_id``, ``active``... equal to one value still leave thousands of rows). MariaDB
names no columns in its plan, so there the planner's own estimate decides: the sorted
table's ``rows`` at most ``BOUNDED_ROWS``.

**The planner must see a big shop.** On a table of ten rows MariaDB reads the table rather
than an index, and SQLite, once analysed, may do the same, so a plan taken on a test's
handful of rows says nothing about a shop of 200,000 products. ``seed_catalog`` writes a
few thousand products (one ``executemany`` per table, a second, small shop beside them so
``tenant_id`` is not the only value) and ``analyze`` refreshes the statistics (SQLite
``ANALYZE``, MariaDB ``ANALYZE TABLE``), after which both planners choose what they choose
at scale: with 3,000 rows a full scan costs more than any index range, and the estimates
(``rows``) separate "this product's pictures" (a few) from "the catalog" (thousands).
Run ``analyze`` after the test's own rows are written and before recording.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, event, insert, text

from storefront.catalog.link_keys import refresh_link_keys
from storefront.extensions import db
from storefront.tenancy.scoping import PLATFORM_TABLES

# Tables read whole and sorted by design, and why that stays cheap in a big shop.
SMALL_TABLES: Mapping[str, str] = {
    "categories": "a shop's navigation tree: tens of rows, every page shows it whole",
    "roles": "a shop's roles: owner, staff and the few a shop adds",
    "roles_users": "a row per staff member and role; shoppers have none",
}
# Columns whose single value still spans a good part of a shop's rows.
SHOP_WIDE_COLUMNS = frozenset(
    {"tenant_id", "category_id", "parent_id", "active", "featured", "status", "state", "kind"}
)
BOUNDED_ROWS = 100  # MariaDB: a sort over at most this many estimated rows is bounded
SEED_PRODUCTS = 3_000


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any


class Recording(list[Statement]):
    """The statements a block sent, in order, and the engine they went to."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    @property
    def selects(self) -> list[Statement]:
        return [s for s in self if s.sql.lstrip().upper().startswith(("SELECT", "WITH"))]


@contextmanager
def recorded(engine: Engine) -> Iterator[Recording]:
    """Record every statement sent to ``engine`` inside the block (executemany too)."""
    recording = Recording(engine)

    def record(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        recording.append(Statement(sql, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield recording
    finally:
        event.remove(engine, "before_cursor_execute", record)


def assert_indexed(statements: Recording, small_tables: Mapping[str, str] = SMALL_TABLES) -> None:
    """Fail when any recorded SELECT reads a shop table whole or sorts unbounded rows."""
    problems = []
    for statement in statements.selects:
        for problem in plan_problems(statements.engine, statement, small_tables):
            problems.append(f"{problem}\n    in: {statement.sql}\n    with: {statement.parameters}")
    assert not problems, "query plans not served by an index:\n" + "\n".join(problems)


def plan_problems(
    engine: Engine, statement: Statement, small_tables: Mapping[str, str] = SMALL_TABLES
) -> list[str]:
    """What is wrong with one SELECT's plan (nothing: an empty list)."""
    aliases = _table_aliases(statement.sql, _shop_tables(), small_tables)
    if engine.dialect.name == "sqlite":
        return _sqlite_problems(engine, statement, aliases)
    return _mysql_problems(engine, statement, aliases)


def _shop_tables() -> frozenset[str]:
    return frozenset(
        name
        for name, table in db.metadata.tables.items()
        if "tenant_id" in table.c and name not in PLATFORM_TABLES
    )


def _table_aliases(
    sql: str, shop_tables: frozenset[str], small_tables: Mapping[str, str]
) -> dict[str, str]:
    """Every name a plan may give a shop table (itself, or its alias in ``sql``) -> table."""
    watched = shop_tables - set(small_tables)
    names = {name: name for name in watched}
    for table, alias in re.findall(r"\b(\w+)\s+AS\s+(\w+)", sql):
        if table in watched:
            names[alias] = table
    for name in small_tables:  # an alias of a small table is no shop table either
        names.pop(name, None)
    return names


def _explain(engine: Engine, prefix: str, statement: Statement) -> list[Any]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement.sql, statement.parameters).mappings()
        return [dict(row) for row in rows]


_SQLITE_ACCESS = re.compile(r"^(SCAN|SEARCH) (\w+)(?: AS \w+)?(?: USING (.*))?$")


def _sqlite_problems(engine: Engine, statement: Statement, aliases: dict[str, str]) -> list[str]:
    details = [row["detail"] for row in _explain(engine, "EXPLAIN QUERY PLAN ", statement)]
    problems = []
    bounded = True
    for detail in details:
        access = _SQLITE_ACCESS.match(detail)
        if not access or access.group(2) not in aliases:
            continue
        how, name, using = access.groups()
        if how == "SCAN":
            problems.append(f"reads all of {aliases[name]}: {detail}")
            bounded = False
        elif not _narrowed(using or ""):
            bounded = False
    for detail in details:
        if detail.startswith("USE TEMP B-TREE FOR") and "ORDER BY" in detail and not bounded:
            problems.append(f"sorts without an index: {detail} (plan: {' | '.join(details)})")
    return problems


def _narrowed(using: str) -> bool:
    """Whether a SEARCH's constraints pin a column that does not span the shop."""
    constraints = re.search(r"\(([^()]*)\)", using)  # "... (a=? AND b>?) LEFT-JOIN"
    if not constraints:
        return False
    for term in constraints.group(1).split(" AND "):
        column, _, rest = term.partition("=")
        if rest == "?" and column.strip() not in SHOP_WIDE_COLUMNS:
            return True
    return False


def _mysql_problems(engine: Engine, statement: Statement, aliases: dict[str, str]) -> list[str]:
    rows = _explain(engine, "EXPLAIN ", statement)
    problems = []
    for row in rows:
        name = row.get("table")
        if name not in aliases:
            continue
        if row["type"] == "ALL":
            problems.append(f"reads all of {aliases[name]}: {row}")
        extra = row.get("Extra") or ""
        if "Using filesort" in extra and int(row.get("rows") or 0) > BOUNDED_ROWS:
            problems.append(f"sorts without an index: {row}")
    return problems


# Seeding a shop the planners take for a big one --------------------------------------


def seed_catalog(
    engine: Engine,
    tenant_id: int,
    products: int = SEED_PRODUCTS,
    category_ids: Iterable[int] = (),
) -> None:
    """Write ``products`` products into the shop (one statement per table), each in one of
    ``category_ids`` in turn (their links' sort keys copied as the catalog does),
    ``analyze`` afterwards."""
    table: Table = db.metadata.tables["products"]
    start = datetime(2024, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    rows = [
        {
            "tenant_id": tenant_id,
            "sku": f"SEED-{n}",
            "slug": f"seed-{n}",
            "title": f"Seeded product {n:05d}",
            "description": "",
            "price": 100 + (n * 7919) % 100_000,
            "stock": n % 50,
            "active": n % 20 != 0,
            "featured": n % 100 == 0,
            "tax_class": "standard",
            "created_at": start + timedelta(minutes=n),
            "updated_at": start + timedelta(minutes=n),
            "translations": {},
            "options": [],
        }
        for n in range(products)
    ]
    categories = list(category_ids)
    with engine.begin() as conn:
        conn.execute(insert(table), rows)
        if categories:
            ids = list(
                conn.execute(
                    text("SELECT id FROM products WHERE tenant_id = :t AND sku LIKE 'SEED-%'"),
                    {"t": tenant_id},
                ).scalars()
            )
            links = [
                {
                    "tenant_id": tenant_id,
                    "product_id": pid,
                    "category_id": categories[i % len(categories)],
                }
                for i, pid in enumerate(ids)
            ]
            conn.execute(insert(db.metadata.tables["product_categories"]), links)
            refresh_link_keys(conn, tenant_id, ids)
    analyze(engine)


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics for every table (call after seeding)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
            return
        names = ", ".join(f"`{name}`" for name in db.metadata.tables)
        conn.exec_driver_sql(f"ANALYZE TABLE {names}").all()
