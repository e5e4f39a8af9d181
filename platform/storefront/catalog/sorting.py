"""The catalog's sort orders, each read in order from an index, whatever the shop's size.

A listing of the whole catalog walks one of the products' indexes (``tenant_id, active,
<key>, id``) and stops at its page's last row. A category's listing walks its links
(``product_categories``, which carry copies of the products' keys: ``catalog.link_keys``)
in the same order: one walk per category when it has sub-categories, each stopping as
soon, the few rows merged (a product in two of them counted once). Nothing is sorted but
a page's rows, and no count reads further than it can show (``listing.MAX_DEPTH``).

A place to continue from (``after``) is the sort value and id of a row: the condition
``key <= v AND (key < v OR id < i)`` (descending; ascending mirrors it) gives both
databases an index range to start at, where ``(key < v) OR (...)`` alone would have them
walk from the start and filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, literal, or_, select, true, union, union_all

from ..extensions import db
from ..listing import MAX_DEPTH, Page, bounded_page
from ..tenancy.context import current_tenant
from . import link_keys  # noqa: F401 - its flush hook keeps the keys these walks read
from .loading import load_details
from .models import Category, Product, product_categories

links = product_categories.c


@dataclass(frozen=True)
class SortKey:
    """A sort order: the product's column, its copy on the category links, the direction
    (the id, or the link's ``product_id``, breaks ties in the same direction)."""

    product: Any
    link: Any
    descending: bool


SORT_KEYS: dict[str, SortKey] = {
    "newest": SortKey(Product.created_at, links.product_created_at, True),
    "price_asc": SortKey(Product.price, links.product_price, False),
    "price_desc": SortKey(Product.price, links.product_price, True),
    "title": SortKey(Product.title, links.product_title, False),
}


def category_ids(slug: str) -> list[int]:
    """The category, then its sub-categories (one level of nesting): one statement.
    ``LookupError`` when the shop has no such category."""
    parent = select(Category.id).where(Category.slug == slug).scalar_subquery()
    found = db.session.execute(
        select(Category.id, Category.slug).where(
            or_(Category.slug == slug, Category.parent_id == parent)
        )
    ).all()
    head = [cid for cid, name in found if name == slug]
    if not head:
        raise LookupError(f"no category {slug!r}")
    return head + [cid for cid, name in found if name != slug]


def ordered(
    sort: str,
    categories: list[int] | None = None,
    *,
    limit: int,
    offset: int = 0,
    after: tuple[Any, int] | None = None,
    backwards: bool = False,
) -> Select[Any]:
    """Active products in ``sort`` order (reversed with ``backwards``), from beyond
    ``after`` (a row's key and id), ``limit`` of them from ``offset``; only those in
    ``categories`` when given."""
    key = SORT_KEYS[sort]
    descending = key.descending != backwards
    if not categories:
        stmt = select(Product).where(Product.active == true())
        if after is not None:
            stmt = stmt.where(beyond(key.product, Product.id, after, descending))
        return (
            stmt.order_by(*order(key.product, Product.id, descending)).limit(limit).offset(offset)
        )
    page = _links_page(key.link, categories, descending, after, offset + limit)
    return (
        select(Product)
        .join(page, Product.id == page.c.product_id)
        .order_by(*order(page.c.sort_key, page.c.product_id, descending))
        .limit(limit)
        .offset(offset)
    )


def bounded_count(categories: list[int] | None, cap: int) -> int:
    """How many active products there are (in ``categories``), counted up to ``cap + 1``.

    The whole catalog: one index range of at most that many entries. Categories: their
    walks one after the other, each product once, stopping at the ``cap + 1``-th product
    found (SQLite streams them; MariaDB reads each walk's first ``cap + 1`` at most)."""
    if not categories:
        found = select(literal(1)).where(Product.active == true()).limit(cap + 1).subquery()
    elif len(categories) == 1:
        found = _walk(categories[0]).limit(cap + 1).subquery()
    else:
        walks = [select(_walk(cid).limit(cap + 1).subquery()) for cid in categories]
        every = union_all(*walks).subquery()
        found = select(every.c.product_id).distinct().limit(cap + 1).subquery()
    return int(db.session.scalar(select(func.count()).select_from(found)) or 0)


def _links_page(
    key: Any, categories: list[int], descending: bool, after: tuple[Any, int] | None, limit: int
) -> Any:
    """The first ``limit`` (product_id, sort_key) of each category's links in order,
    merged without repeats: a subquery (a UNION of one walk per category)."""
    walks = []
    for category_id in categories:
        walk = _walk(category_id, key.label("sort_key"))
        if after is not None:
            walk = walk.where(beyond(key, links.product_id, after, descending))
        walks.append(walk.order_by(*order(key, links.product_id, descending)).limit(limit))
    return _merged(walks)


def _walk(category_id: int, *columns: Any) -> Select[Any]:
    return select(links.product_id, *columns).where(
        links.tenant_id == current_tenant().id,
        links.category_id == category_id,
        links.product_active == true(),
    )


def _merged(walks: list[Select[Any]]) -> Any:
    if len(walks) == 1:
        return walks[0].subquery("page")
    # SQLite takes a LIMIT inside a UNION only in a subquery of its own.
    return union(*(select(walk.subquery()) for walk in walks)).subquery("page")


def order(key: Any, row_id: Any, descending: bool) -> tuple[Any, Any]:
    return (key.desc(), row_id.desc()) if descending else (key.asc(), row_id.asc())


def beyond(key: Any, row_id: Any, after: tuple[Any, int], descending: bool) -> Any:
    value, last = after
    if descending:
        return and_(key <= value, or_(key < value, row_id < last))
    return and_(key >= value, or_(key > value, row_id > last))


def listing(page: int, per_page: int, sort: str, category: str | None, transform: Any) -> Page:
    """A listing's page by number (``category`` with its sub-categories, or the whole
    catalog), no deeper than ``MAX_DEPTH`` rows: a statement for the category, a count
    that stops past ``MAX_DEPTH``, the page, its pictures (``loading.load_details``)."""
    categories = category_ids(category) if category else None
    page = bounded_page(page, per_page)
    counted = bounded_count(categories, MAX_DEPTH)
    window = ordered(
        sort if sort in SORT_KEYS else "newest",
        categories,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    rows = list(db.session.scalars(window))
    load_details(rows)
    items = tuple(transform(row) for row in rows) if transform else tuple(rows)
    more = counted > MAX_DEPTH
    return Page(items, page, per_page, MAX_DEPTH if more else counted, more=more)
