"""The dashboard's listings of orders and customers, a window at a time.

A page by number costs a count of the whole listing and an OFFSET that reads every row
before it: at two million orders, both read the book. A window continues from a row
(``older``: the rows after it, ``newer``: the rows before it) down an index whose order
is the listing's, so a page costs its own rows whatever the shop's size. Searches are
the ones an index answers: an order number (exact, or its beginning), an email (exact,
or its beginning), a status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, or_, select

from ..extensions import db
from ..listing import MAX_ID, MAX_QUERY, prefix
from ..shared import SafeView
from ..tenancy.context import current_tenant
from .aggregates import GUEST, CustomerTotal
from .models import STATUSES, Order

PER_PAGE = 25


@dataclass(frozen=True)
class Window(SafeView):
    items: tuple[Any, ...]
    older: int | None  # the id to continue from for the next rows down, None at the end
    newer: int | None  # the id to go back up from, None at the top


def mark(raw: Any) -> int | None:
    """An id from a request (``?older=``/``?newer=``), or None when it is not one."""
    try:
        value = int(raw)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if 0 < value <= MAX_ID else None


def _beyond(keys: tuple[Any, ...], values: tuple[Any, ...], greater: bool) -> Any:
    """Rows whose ``keys`` come after ``values`` (``greater``) or before them.

    The first key's bound stands alone too: from ``a < v OR (a = v AND …)`` neither
    SQLite nor MariaDB takes an index range, and a page far down walked from the top."""
    clauses = []
    for i, key in enumerate(keys):
        same = [keys[j] == values[j] for j in range(i)]
        clauses.append(and_(*same, key > values[i] if greater else key < values[i]))
    first = keys[0] >= values[0] if greater else keys[0] <= values[0]
    return and_(first, or_(*clauses))


def window(
    stmt: Select[Any],
    keys: tuple[Any, ...],
    id_column: Any,
    older: int | None = None,
    newer: int | None = None,
    per_page: int = PER_PAGE,
    ascending: bool = False,
) -> Window:
    """A window of ``stmt`` in ``keys`` order (descending unless ``ascending``; each key
    set names one row), continuing from the row with id ``older`` (onwards, the "older"
    link) or ``newer`` (back)."""
    from_id, back = (newer, True) if newer is not None else (older, False)
    anchor = None
    if from_id is not None:
        anchor = db.session.execute(select(*keys).where(id_column == from_id)).first()
    rising = back != ascending  # which way this window reads the index
    if anchor is not None:
        stmt = stmt.where(_beyond(keys, tuple(anchor), greater=rising))
    order = [key.asc() if rising else key.desc() for key in keys]
    rows = list(db.session.scalars(stmt.order_by(*order).limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    if back:
        rows.reverse()
    has_older, has_newer = (anchor is not None, more) if back else (more, anchor is not None)
    return Window(
        items=tuple(rows),
        older=rows[-1].id if rows and has_older else None,
        newer=rows[0].id if rows and has_newer else None,
    )


def _full_email(text: str) -> bool:
    local, _at, domain = text.partition("@")
    return bool(local) and "." in domain


def order_window(
    status: str | None = None,
    query: str | None = None,
    older: int | None = None,
    newer: int | None = None,
    per_page: int = PER_PAGE,
) -> Window:
    """Orders, newest first; ``query`` is an order number or an email (either exact or its
    beginning). A window of several addresses runs by address, and a number's by number
    (newest first within as many digits): the order of the index that finds them."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    stmt = select(Order)
    if status:
        stmt = stmt.where(Order.status == status)
    keys: tuple[Any, ...] = (Order.created_at, Order.id)
    text = (query or "").strip()[:MAX_QUERY]
    if "@" in text and _full_email(text):
        stmt = stmt.where(Order.email == text)
    elif "@" in text:  # the beginning of an address: by address, then newest first
        stmt = stmt.where(prefix(Order.email, text))
        keys = (Order.email, Order.created_at, Order.id)
    elif text:
        number = text.upper()
        if number.isdigit():  # "1042" is the shop's ACME-1042
            number = f"{current_tenant().slug.upper()}-{number}"
        if db.session.scalar(select(Order.id).where(Order.number == number)) is not None:
            stmt = stmt.where(Order.number == number)
        else:
            stmt = stmt.where(prefix(Order.number, number))
            keys = (Order.number,)
    return window(stmt, keys, Order.id, older, newer, per_page)


def orders_of_window(user_id: int, older: int | None = None, newer: int | None = None) -> Window:
    """One account's orders, newest first."""
    stmt = select(Order).where(Order.user_id == user_id)
    return window(stmt, (Order.created_at, Order.id), Order.id, older, newer)


def guest_orders_of(email: str, limit: int = PER_PAGE) -> list[Order]:
    """The latest orders placed as a guest with ``email`` (to show beside an account).

    Asked of the guest's counters first: the orders under an address are mostly its
    account's own, and walking them to find none is the cost of a loyal customer."""
    guest = select(CustomerTotal.id).where(
        CustomerTotal.user_id == GUEST, CustomerTotal.email == email
    )
    if db.session.scalar(guest) is None:
        return []
    return list(
        db.session.scalars(
            select(Order)
            .where(Order.email == email, Order.user_id.is_(None))
            .order_by(Order.created_at.desc(), Order.id.desc())
            .limit(limit)
        )
    )


def guest_window(
    query: str | None = None, older: int | None = None, newer: int | None = None
) -> Window:
    """Emails that ordered without an account, last order first, from their counters."""
    stmt = select(CustomerTotal).where(CustomerTotal.user_id == GUEST)
    text = (query or "").strip()[:MAX_QUERY]
    if text:
        stmt = stmt.where(prefix(CustomerTotal.email, text))
    keys = (CustomerTotal.last_order_at, CustomerTotal.id)
    return window(stmt, keys, CustomerTotal.id, older, newer)


def totals_of(user_ids: list[int]) -> dict[int, CustomerTotal]:
    """The counters of these accounts (those that ordered)."""
    if not user_ids:
        return {}
    rows = db.session.scalars(
        select(CustomerTotal).where(CustomerTotal.user_id.in_(user_ids), CustomerTotal.email == "")
    )
    return {row.user_id: row for row in rows}
