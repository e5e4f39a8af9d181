"""Listings: one page type, one way to page a query, one way to match text.

Every number from a request is bounded here: a page beyond ``MAX_PAGE`` is the last
one a listing can have, never an offset the database cannot hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from werkzeug.routing import IntegerConverter

from .extensions import db
from .shared import SafeView

MAX_PAGE = 10_000
MAX_ID = 2**31 - 1  # ids are INT columns: a larger number in a URL names nothing
LIKE_ESCAPE = "\\"
MAX_QUERY = 100  # characters of a search a listing looks at


@dataclass(frozen=True)
class Page(SafeView):
    items: tuple[Any, ...]
    page: int
    per_page: int
    total: int
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pages", max(1, math.ceil(self.total / self.per_page)))

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


def contains(query: str) -> str:
    """A LIKE pattern matching ``query`` anywhere, its ``%`` and ``_`` taken literally."""
    text = query.strip()[:MAX_QUERY]
    for char in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(char, LIKE_ESCAPE + char)
    return f"%{text}%"


def paginate(
    stmt: Select[Any],
    page: int,
    per_page: int,
    transform: Any = None,
    scalars: bool = True,
    prepare: Any = None,
) -> Page:
    """One page of ``stmt`` (already ordered) and the total count: two statements, and
    what ``prepare`` loads for the page's rows at once before ``transform`` sees each."""
    page = min(max(page, 1), MAX_PAGE)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    window = stmt.limit(per_page).offset((page - 1) * per_page)
    rows = list(db.session.scalars(window) if scalars else db.session.execute(window))
    if prepare is not None:
        prepare(rows)
    items = tuple(transform(row) for row in rows) if transform else tuple(rows)
    return Page(items=items, page=page, per_page=per_page, total=total or 0)


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: beyond an id column's range is a 404, not a 500."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
