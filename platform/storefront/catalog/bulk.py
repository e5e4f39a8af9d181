"""Many products at once: a catalog import of thousands of rows in a few statements.

A call writes one batch of products (the CSV import hands them over a thousand at a
time). It looks up only what the batch names: its SKUs, the slugs it would take and its
categories, each with one ``IN`` statement, so a catalog of any size is never read into
memory. New products go in by one ``executemany`` insert, changed ones by updates by
primary key, category links likewise. Every statement names the bound shop itself
(they run on the session's connection, below the ORM's scoping hook), and all of it is
part of the caller's transaction: the caller commits once, or nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, insert, select, update

from .. import plans
from ..caching import invalidate_shop_cache
from ..extensions import db
from ..tenancy.context import current_tenant
from ..tenancy.models import utcnow
from ..webhooks import emit_many, listeners
from . import search
from .link_keys import KEYS, refresh_link_keys
from .models import Category, Product, product_categories
from .services import CatalogError, merge_translations, slugify, webhook_data

BATCH = 1000
LOOKUP = 1000  # values in one IN list
DEFAULTS: dict[str, Any] = {
    "description": "",
    "stock": 0,
    "compare_at_price": None,
    "active": True,
    "featured": False,
    "image_url": None,
    "tax_class": "standard",
    "meta_title": None,
    "meta_description": None,
    # Empty JSON as NULL (read as empty everywhere): encoding an empty {} for every
    # row of an import costs a fifth of it.
    "translations": None,
    "options": None,
}
Progress = Callable[[int, int], None]


@dataclass
class ProductIn:
    """A product to create or change, by SKU: its fields as the schema checked them
    (money in minor units) and its category slugs (None: leave the links)."""

    line: int
    sku: str
    fields: dict[str, Any]
    categories: list[str] | None


def upsert_products(
    items: Sequence[ProductIn], progress: Progress | None = None
) -> tuple[int, int]:
    """Create the products whose SKU is new, change the others; returns (created, changed).
    Flushes nothing through the ORM; raises CatalogError naming the line of a clash."""
    tenant = current_tenant().id
    table: Any = Product.__table__
    have = {
        sku: (pid, slug, translations)
        for sku, pid, slug, translations in _in(
            select(Product.sku, Product.id, Product.slug, Product.translations),
            Product.sku,
            [item.sku for item in items],
        )
    }
    # The slug each new row without one gets from its title (worked out once: slugify
    # transliterates, a tenth of an import's time if done twice).
    bases = {
        item.sku: slugify(item.fields["title"])
        for item in items
        if item.sku not in have and not item.fields.get("slug")
    }
    slugs = _slugs_taken(items, bases)
    named = {slug for item in items for slug in item.categories or []}
    categories: dict[str, int] = dict(_in(select(Category.slug, Category.id), Category.slug, named))
    now = utcnow()
    new: list[dict[str, Any]] = []
    changes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for item in items:
        fields = dict(item.fields)
        found = have.get(item.sku)
        if found is None:
            slug = fields.pop("slug", None) or _free(bases[item.sku], slugs)
            if slug in slugs:
                raise CatalogError(_line(item, _taken(slug)))
            slugs[slug] = -1
            row = {**DEFAULTS, **fields, "sku": item.sku, "slug": slug}
            row["translations"] = _translations(item, {}, fields.get("translations")) or None
            new.append({**row, "tenant_id": tenant, "created_at": now, "updated_at": now})
            continue
        pid, _slug, current = found
        if "slug" in fields and slugs.get(fields["slug"], pid) != pid:
            raise CatalogError(_line(item, _taken(fields["slug"])))
        if "translations" in fields:
            fields["translations"] = _translations(item, current or {}, fields["translations"])
        change = {"b_id": pid, **fields, "updated_at": now}
        changes.setdefault(tuple(sorted(change)), []).append(change)
    plans.check("products", len(new))  # before any row: an import past the plan writes none
    connection = db.session.connection()
    ids: dict[str, int] = {}
    done, total = 0, len(items)
    for start in range(0, len(new), BATCH):
        batch = new[start : start + BATCH]
        connection.execute(insert(table), batch)
        wanted = [row["sku"] for row in batch]
        ids.update(
            connection.execute(
                select(table.c.sku, table.c.id).where(
                    table.c.tenant_id == tenant, table.c.sku.in_(wanted)
                )
            ).all()
        )
        done += len(batch)
        if progress:
            progress(done, total)
    for keys, group in changes.items():
        statement = (
            update(table)
            .where(table.c.tenant_id == tenant, table.c.id == bindparam("b_id"))
            .values({key: bindparam(key) for key in keys if key != "b_id"})
        )
        for start in range(0, len(group), BATCH):
            connection.execute(statement, group[start : start + BATCH])
            done += len(group[start : start + BATCH])
            if progress:
                progress(done, total)
    known = {**{sku: v[0] for sku, v in have.items()}, **ids}
    _link(tenant, items, known, categories, {row["sku"]: row for row in new})
    refresh_link_keys(connection, tenant, [known[item.sku] for item in items if item.sku in have])
    search.reindex_products(known[item.sku] for item in items)  # Core writes: no ORM hook
    invalidate_shop_cache()
    _announce(items, ids, have)
    return len(new), sum(len(group) for group in changes.values())


def _in(stmt: Any, column: Any, values: Iterable[Any]) -> list[Any]:
    """``stmt`` for the rows whose ``column`` is one of ``values``, ``LOOKUP`` at a time."""
    wanted = list(dict.fromkeys(values))
    found: list[Any] = []
    for start in range(0, len(wanted), LOOKUP):
        found += db.session.execute(stmt.where(column.in_(wanted[start : start + LOOKUP]))).all()
    return found


def _slugs_taken(items: Sequence[ProductIn], bases: dict[str, str]) -> dict[str, int]:
    """The slugs the batch could clash with, and whose product they are: the ones its
    rows name, the ones new rows would be given from their titles (``bases``), and, for
    a title whose slug is taken, the numbered ones after it (``anvil-2``, ``anvil-3``…)."""
    wanted = {item.fields["slug"] for item in items if item.fields.get("slug")}
    wanted.update(bases.values())
    taken = {slug: pid for slug, pid in _in(select(Product.slug, Product.id), Product.slug, wanted)}
    for base in [slug for slug in taken if slug in wanted]:
        numbered = select(Product.slug, Product.id).where(
            Product.slug.startswith(f"{base}-", autoescape=True)
        )
        taken.update((slug, pid) for slug, pid in db.session.execute(numbered))
    return taken


def _link(
    tenant: int,
    items: Iterable[ProductIn],
    ids: dict[str, int],
    categories: dict[str, int],
    created: dict[str, dict[str, Any]],
) -> None:
    """Replace the category links of the products whose row names categories. A product
    ``created`` in this batch has none to remove, and its links carry its sort keys from
    its row as inserted; the caller refreshes the others' keys (``refresh_link_keys``)."""
    named = [item for item in items if item.categories is not None]
    if not named:
        return
    links = product_categories.c
    products = [ids[item.sku] for item in named if item.sku not in created]
    connection = db.session.connection()
    for start in range(0, len(products), BATCH):
        connection.execute(
            delete(product_categories).where(
                links.tenant_id == tenant, links.product_id.in_(products[start : start + BATCH])
            )
        )
    rows = [
        {
            "tenant_id": tenant,
            "product_id": ids[item.sku],
            "category_id": categories[slug],
            **_keys(created.get(item.sku)),
        }
        for item in named
        for slug in dict.fromkeys(item.categories or [])
    ]
    for start in range(0, len(rows), BATCH):
        connection.execute(insert(product_categories), rows[start : start + BATCH])


def _keys(row: dict[str, Any] | None) -> dict[str, Any]:
    """A new product's sort keys for its links, from its row (None: left to the refresh)."""
    if row is None:
        return dict.fromkeys(KEYS)
    return {link: row[column] for link, column in KEYS.items()}


def _announce(items: Sequence[ProductIn], ids: dict[str, int], had: dict[str, Any]) -> None:
    """``product.created`` / ``product.updated`` for each, when an endpoint listens (one
    statement for the endpoints; the products are read only for them)."""
    for event, wanted in (
        ("product.created", [ids[i.sku] for i in items if i.sku in ids]),
        ("product.updated", [had[i.sku][0] for i in items if i.sku in had]),
    ):
        endpoints = listeners(event) if wanted else []
        if not endpoints:
            continue
        rows = db.session.scalars(select(Product).where(Product.id.in_(wanted)))
        emit_many(event, [webhook_data(row) for row in rows], endpoints)


def _translations(item: ProductIn, current: dict[str, Any], given: Any) -> dict[str, Any]:
    try:
        return merge_translations(current, given)
    except CatalogError as exc:
        raise CatalogError(_line(item, str(exc))) from None


def _free(base: str, taken: dict[str, int]) -> str:
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _taken(slug: str) -> str:
    return _(
        "%(field)s “%(value)s” is already used by another product.", field=_("URL slug"), value=slug
    )


def _line(item: ProductIn, message: str) -> str:
    return f"line {item.line}: {message}"
