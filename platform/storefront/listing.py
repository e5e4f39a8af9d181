"""Listings: one page type, one way to page a query, one way to match text.

Every number from a request is bounded here: a page beyond ``MAX_PAGE`` is the last
one a listing can have, never an offset the database cannot hold.

A listing of a big shop's catalog is paged only so deep (``MAX_DEPTH`` rows): its count
stops there ("1,000+ products") and its pages end there, with a word to narrow by
category or search (the API goes further by cursor). A page then costs the same in a
shop of 100 products or of 200,000: no count, no offset reads past ``MAX_DEPTH`` rows.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, func, literal, select
from werkzeug.routing import IntegerConverter

from .extensions import db
from .shared import SafeView

MAX_PAGE = 10_000
MAX_ID = 2**31 - 1  # ids are INT columns: a larger number in a URL names nothing
LIKE_ESCAPE = "\\"
MAX_QUERY = 100  # characters of a search a listing looks at
MAX_DEPTH = 1_000  # rows a listing by page number reaches, and counts up to


@dataclass(frozen=True)
class Page(SafeView):
    items: tuple[Any, ...]
    page: int
    per_page: int
    total: int
    # The count stopped at ``total`` (``MAX_DEPTH``): there are more, pages end there.
    more: bool = False
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        pages = deepest_page(self.per_page) if self.more else math.ceil(self.total / self.per_page)
        object.__setattr__(self, "pages", max(1, pages))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_number(raw: Any) -> int:
    """A page number from a request: a whole number from 1 to ``MAX_PAGE`` (else 1)."""
    try:
        number = int(raw)
    except (TypeError, ValueError, OverflowError):
        return 1
    return min(max(number, 1), MAX_PAGE)


def deepest_page(per_page: int) -> int:
    """The last page number a listing by page reaches (``MAX_DEPTH`` rows deep)."""
    return max(1, MAX_DEPTH // per_page)


def bounded_page(raw: int, per_page: int) -> int:
    """A page number no deeper than a listing goes."""
    return min(max(raw, 1), deepest_page(per_page))


def contains(query: str) -> str:
    """A LIKE pattern matching ``query`` anywhere, its ``%`` and ``_`` taken literally."""
    text = query.strip()[:MAX_QUERY]
    for char in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(char, LIKE_ESCAPE + char)
    return f"%{text}%"


def prefix(column: Any, text: str) -> Any:
    """``column`` starts with ``text``, as a range an index serves (LIKE does not on SQLite).

    The range ends at the next text of the same length: the last character one higher.
    The highest character has no next one (``chr`` refuses it, a search for it answered
    500): it carries to the one before, and a text of nothing else has no end."""
    stem = text.rstrip(chr(sys.maxunicode))
    if not stem:
        return column >= text
    return and_(column >= text, column < stem[:-1] + chr(ord(stem[-1]) + 1))


def paginate(
    stmt: Select[Any],
    page: int,
    per_page: int,
    transform: Any = None,
    scalars: bool = True,
    prepare: Any = None,
    bounded: bool = False,
) -> Page:
    """One page of ``stmt`` (already ordered) and the total count: two statements, and
    what ``prepare`` loads for the page's rows at once before ``transform`` sees each.

    ``bounded``: the count stops past ``MAX_DEPTH`` and pages end there (``Page.more``),
    for listings that can hold a whole big catalog."""
    page = bounded_page(page, per_page) if bounded else min(max(page, 1), MAX_PAGE)
    counted = stmt.order_by(None)
    if bounded:  # the rows' columns are not read, only as many as can be shown
        counted = counted.with_only_columns(literal(1), maintain_column_froms=True)
        counted = counted.limit(MAX_DEPTH + 1)
    total = db.session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    window = stmt.limit(per_page).offset((page - 1) * per_page)
    rows = list(db.session.scalars(window) if scalars else db.session.execute(window))
    if prepare is not None:
        prepare(rows)
    items = tuple(transform(row) for row in rows) if transform else tuple(rows)
    more = total > MAX_DEPTH
    return Page(items, page, per_page, MAX_DEPTH if more else total, more=more)


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: beyond an id column's range is a 404, not a 500."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
