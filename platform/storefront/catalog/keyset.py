"""The catalog a window at a time, in both directions: what the API's catalog cursors
walk (``GET /api/v1/products?cursor=…``).

A page by number (``services.list_products``) shifts when a product is added ahead of
it: the client sees a product twice or misses one. A window starts after (or ends
before) a *mark*, the sort values of the row it continues from, so it shifts with
nothing. Each sort ends with the id, so every mark names one place. A search sorted by
relevance follows the search's ranking, which is not a column: its mark is a position
in the ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, true

from ..extensions import db
from ..listing import Page
from . import search, sorting
from .loading import load_details
from .models import Category, Product
from .services import get_category

# Each sort's columns, in order, with whether they descend; the id last breaks ties.
KEYS: dict[str, tuple[tuple[Any, bool], tuple[Any, bool]]] = {
    "newest": ((Product.created_at, True), (Product.id, True)),
    "price_asc": ((Product.price, False), (Product.id, False)),
    "price_desc": ((Product.price, True), (Product.id, True)),
    "title": ((Product.title, False), (Product.id, False)),
}
RANKED = "relevance"  # a search's own order: the mark is a position in it


@dataclass(frozen=True)
class Mark:
    """A place in a sorted listing. For a sort of ``KEYS``: after the row whose sort
    values are ``values`` (``before``: ahead of it). For ``relevance``: from position
    ``values[0]`` of the search's ranking (``before``: up to it)."""

    sort: str
    values: tuple[Any, ...]
    before: bool = False


@dataclass(frozen=True)
class Window:
    items: tuple[Product, ...]
    next: Mark | None  # the window after this one, None at the end
    prev: Mark | None  # the window before it, None at the start


def effective_sort(sort: str, query: str | None) -> str:
    """Relevance means something only for a search; without one it is the newest."""
    return sort if sort != RANKED or query else "newest"


def window(
    limit: int, sort: str, category: str | None, query: str | None, at: Mark | None
) -> Window:
    """Up to ``limit`` active products from ``at`` (the start when None), filtered like
    ``services.list_products``. A mark carries its sort: it is the one used. Raises
    ``LookupError`` for an unknown category."""
    if at is not None:
        sort = at.sort
    sort = effective_sort(sort, query)
    if at is not None and at.sort != sort:  # a search's mark, sent without the search
        at = None
    if sort == RANKED:
        assert query is not None  # noqa: S101 - effective_sort keeps relevance for searches
        return _ranked(_active(category), search.ranked_ids(query), limit, at)
    backwards = at is not None and at.before
    after = at.values if at is not None else None
    if query:  # the search's matches (bounded), in the sort's order
        (column, descending), (id_column, _) = KEYS[sort]
        down = descending != backwards  # descending in the database
        stmt = _active(category).where(Product.id.in_(search.ranked_ids(query)))
        if after is not None:
            stmt = stmt.where(sorting.beyond(column, id_column, after, down))
        stmt = stmt.order_by(*sorting.order(column, id_column, down)).limit(limit + 1)
    else:  # read in order from an index, from the mark on
        categories = sorting.category_ids(category) if category else None
        stmt = sorting.ordered(sort, categories, limit=limit + 1, after=after, backwards=backwards)
    rows = list(db.session.scalars(stmt))
    more, rows = len(rows) > limit, rows[:limit]
    if backwards:
        rows.reverse()
    load_details(rows)
    if not rows:
        return Window((), None, None)
    first, last = mark_of(sort, rows[0]), mark_of(sort, rows[-1])
    if backwards:
        return Window(tuple(rows), last, Mark(sort, first.values, before=True) if more else None)
    previous = Mark(sort, first.values, before=True) if at is not None else None
    return Window(tuple(rows), last if more else None, previous)


def marks_of_page(page: Page, sort: str, query: str | None) -> tuple[Mark | None, Mark | None]:
    """The marks either side of a page by number (``list_products``' rows): a client
    paging by number can go on by cursor."""
    sort = effective_sort(sort, query)
    if not page.items:
        return None, None
    if sort == RANKED:
        start = (page.page - 1) * page.per_page
        after = Mark(sort, (start + len(page.items),)) if page.has_next else None
        before = Mark(sort, (start,), before=True) if page.page > 1 else None
        return after, before
    # The last page a listing reaches by number (``Page.more``) still has rows after it.
    after = mark_of(sort, page.items[-1]) if page.has_next or page.more else None
    first = mark_of(sort, page.items[0])
    before = Mark(sort, first.values, before=True) if page.page > 1 else None
    return after, before


def mark_of(sort: str, row: Product) -> Mark:
    (column, _), _ = KEYS[sort]
    return Mark(sort, (getattr(row, column.key), row.id))


def _active(category: str | None) -> Any:
    stmt = select(Product).where(Product.active == true())
    if category:
        cat = get_category(category)
        ids = [cat.id] + list(
            db.session.scalars(select(Category.id).where(Category.parent_id == cat.id))
        )
        stmt = stmt.where(Product.categories.any(Category.id.in_(ids)))
    return stmt


def _ranked(stmt: Any, ranked: list[int], limit: int, at: Mark | None) -> Window:
    allowed = set(db.session.scalars(stmt.with_only_columns(Product.id)))
    ids = [pid for pid in ranked if pid in allowed]
    position = min(int(at.values[0]), len(ids)) if at is not None else 0
    if at is not None and at.before:
        start, end = max(position - limit, 0), position
    else:
        start, end = position, min(position + limit, len(ids))
    chosen = ids[start:end]
    rows = {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(chosen)))}
    items = [rows[pid] for pid in chosen if pid in rows]
    load_details(items)
    if not items:
        return Window((), None, None)
    after = Mark(RANKED, (end,)) if end < len(ids) else None
    before = Mark(RANKED, (start,), before=True) if start > 0 else None
    return Window(tuple(items), after, before)
