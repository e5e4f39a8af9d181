"""Related products: those bought together with a product, else from its category.

"Bought together" is a table of pairs per shop (``product_pairs``: a product, another,
how many paid orders held both), moved when an order becomes a sale or is cancelled
(``orders.aggregates`` calls ``count_together``) by one upsert per pair, like the sales
figures. An order adds at most ``ORDER_LINES`` of its products (90 pairs), so a huge
order costs what a normal one does. A product page reads its few best pairs through
``ix_product_pairs_best`` and, when they are not enough, the newest active products of
its category through ``ix_product_categories_newest``: never the order book, never more
rows than it shows.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Index, Integer, UniqueConstraint, select, true
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model, db
from ..tenancy.context import current_tenant
from ..tenancy.scoping import TenantScoped, scoped_fk
from .loading import load_details
from .models import Product, product_categories
from .views_model import ProductView, view

ORDER_LINES = 10  # products of one order that count toward pairs
SHOWN = 4  # related products on a product page
links = product_categories.c


class ProductPair(Model, TenantScoped):
    """``times``: how many paid orders held both ``product_id`` and ``other_id`` (each
    pair is kept both ways round, so a page reads its own product's rows only)."""

    __tablename__ = "product_pairs"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "product_id", "other_id"),
        Index("ix_product_pairs_best", "tenant_id", "product_id", "times", "other_id"),
        scoped_fk("product_id", "products"),
        scoped_fk("other_id", "products"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer)
    other_id: Mapped[int] = mapped_column(Integer)
    times: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<ProductPair {self.product_id}+{self.other_id} x{self.times}>"


def count_together(product_ids: Iterable[int | None], sign: int = 1) -> int:
    """Add ``sign`` to every pair among the first ``ORDER_LINES`` distinct products of an
    order (a line whose product is gone counts for nothing); returns the pairs moved."""
    chosen: list[int] = []
    for product_id in product_ids:
        if product_id is not None and product_id not in chosen:
            chosen.append(product_id)
        if len(chosen) == ORDER_LINES:
            break
    existing = set(db.session.scalars(select(Product.id).where(Product.id.in_(chosen))))
    chosen = sorted(p for p in chosen if p in existing)  # one lock order: no deadlocks
    rows = [
        {"tenant_id": current_tenant().id, "product_id": a, "other_id": b, "times": sign}
        for a in chosen
        for b in chosen
        if a != b
    ]
    if not rows:
        return 0
    table = ProductPair.__table__
    if db.session.get_bind().dialect.name == "sqlite":
        stmt = sqlite.insert(ProductPair)
        upsert = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "product_id", "other_id"],
            set_={"times": table.c.times + stmt.excluded.times},
        )
        db.session.execute(upsert, rows)
    else:
        mine = mysql.insert(ProductPair)
        db.session.execute(
            mine.on_duplicate_key_update({"times": table.c.times + mine.inserted.times}), rows
        )
    return len(rows)


def related(product_id: int, shown: int = SHOWN) -> list[ProductView]:
    """Up to ``shown`` active products for the page of ``product_id``: bought together
    most often first, then the newest of its categories."""
    ids = list(
        db.session.scalars(
            select(ProductPair.other_id)
            .where(ProductPair.product_id == product_id, ProductPair.times > 0)
            .order_by(ProductPair.times.desc(), ProductPair.other_id.desc())
            .limit(shown * 2)  # room for a few that are no longer on sale
        )
    )
    found = _active(ids)
    picked = [found[i] for i in ids if i in found][:shown]
    if len(picked) < shown:
        taken = {product_id, *(p.id for p in picked)}
        picked += [p for p in _from_category(product_id, shown + len(taken)) if p.id not in taken][
            : shown - len(picked)
        ]
    load_details(picked)
    return [view(p) for p in picked]


def _active(ids: list[int]) -> dict[int, Product]:
    if not ids:
        return {}
    rows = db.session.scalars(select(Product).where(Product.id.in_(ids), Product.active == true()))
    return {p.id: p for p in rows}


def _from_category(product_id: int, limit: int) -> list[Product]:
    """The newest active products of the product's first category (its links' primary
    key finds it; the category's newest-first index lists them)."""
    shop = current_tenant().id
    category = db.session.scalar(
        select(links.category_id)
        .where(links.tenant_id == shop, links.product_id == product_id)
        .order_by(links.category_id)
        .limit(1)
    )
    if category is None:
        return []
    ids = list(
        db.session.scalars(
            select(links.product_id)
            .where(
                links.tenant_id == shop,
                links.category_id == category,
                links.product_active == true(),
            )
            .order_by(links.product_created_at.desc(), links.product_id.desc())
            .limit(limit)
        )
    )
    found = _active(ids)
    return [found[i] for i in ids if i in found]
