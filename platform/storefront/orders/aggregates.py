"""Figures kept with the orders, so the dashboard reads days and customers, not the book.

A shop with two million orders cannot add them up on every view. Each event that
changes a figure adds to it in its own transaction: an order counts as a sale when it is
*paid* (its ``paid_at`` taken once by a conditional UPDATE; cash on delivery counts when
delivered, when the courier collects), a refund subtracts on the day it is made, and
cancelling a paid order subtracts what was still counted on the day it is cancelled.
Days are the shop's (its ``timezone``) at the moment of the event.

Every figure moves by ``INSERT … ON CONFLICT/DUPLICATE KEY UPDATE x = x + ?`` under a
unique key: two orders paid at once, on one day, add up exactly once each.

``rebuild`` computes the same figures from the book in SQL, a batch of orders at a time
(for shops imported or upgraded from before these tables, or to check them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import pytz
from sqlalchemy import (
    Date,
    Index,
    Integer,
    String,
    UniqueConstraint,
    case,
    delete,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from ..catalog import related
from ..db import Identifier, Timestamp
from ..extensions import Model, db
from ..tenancy.context import current_tenant
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped
from .models import Order, OrderLine

GUEST = 0  # CustomerTotal.user_id of a shopper known only by the email they ordered with


class SalesDay(Model, TenantScoped):
    """One day of the shop's sales, in one currency."""

    __tablename__ = "sales_days"
    __scoped_args__ = (UniqueConstraint("tenant_id", "day", "currency"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    orders: Mapped[int] = mapped_column(Integer, default=0)  # paid that day
    revenue: Mapped[int] = mapped_column(Integer, default=0)  # their totals, minor units
    refunded: Mapped[int] = mapped_column(Integer, default=0)  # refunds made that day
    cancelled: Mapped[int] = mapped_column(Integer, default=0)  # paid orders cancelled
    cancelled_revenue: Mapped[int] = mapped_column(Integer, default=0)  # what they still had

    @property
    def net_orders(self) -> int:
        return self.orders - self.cancelled

    @property
    def net_revenue(self) -> int:
        return self.revenue - self.refunded - self.cancelled_revenue


class ProductSalesDay(Model, TenantScoped):
    """Units and revenue of one SKU on one day (cancellations subtract on their day)."""

    __tablename__ = "product_sales_days"
    __scoped_args__ = (UniqueConstraint("tenant_id", "day", "sku"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    sku: Mapped[str] = mapped_column(Identifier(64))
    product_id: Mapped[int | None] = mapped_column(Integer)  # a plain reference, like lines'
    title: Mapped[str] = mapped_column(String(200))  # as last sold
    units: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[int] = mapped_column(Integer, default=0)


class CustomerTotal(Model, TenantScoped):
    """A shopper's orders, net spending and last order: an account by its id, a guest
    (``user_id`` 0) by the email they ordered with (``email`` is "" on account rows)."""

    __tablename__ = "customer_totals"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "user_id", "email"),
        Index("ix_customer_totals_tenant_id_user_id_last", "tenant_id", "user_id", "last_order_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, default=GUEST)
    email: Mapped[str] = mapped_column(String(255), default="")
    orders: Mapped[int] = mapped_column(Integer, default=0)  # placed, whatever became of them
    spent: Mapped[int] = mapped_column(Integer, default=0)  # paid, less refunds and cancels
    last_order_at: Mapped[datetime | None] = mapped_column(Timestamp)


# Adding to a row ---------------------------------------------------------------------


Run = Callable[..., Any]  # Session.execute or Connection.execute


def _session() -> tuple[Run, str]:
    return db.session.execute, db.session.get_bind().dialect.name


def _add(
    model: Any,
    rows: Iterable[Mapping[str, Any]],
    key: tuple[str, ...],
    sums: tuple[str, ...],
    latest: tuple[str, ...] = (),
    replace: tuple[str, ...] = (),
    target: tuple[Run, str] | None = None,
) -> None:
    """Add each row's ``sums`` to the row under ``key`` (made first if missing), keep the
    later of ``latest`` and overwrite ``replace``: one atomic statement per row, so racing
    transactions add up instead of overwriting each other."""
    rows = list(rows)
    if not rows:
        return
    run, dialect = target or _session()
    table = model.__table__
    if dialect == "sqlite":
        stmt: Any = sqlite.insert(model)
        new = stmt.excluded
        later: Any = func.max  # SQLite's max() of two values is the greater
    else:
        stmt = mysql.insert(model)
        new = stmt.inserted
        later = func.greatest
    changes: dict[str, Any] = {name: table.c[name] + new[name] for name in sums}
    changes.update(  # a row without the figure (None) keeps what is there
        {
            name: later(
                func.coalesce(table.c[name], new[name]), func.coalesce(new[name], table.c[name])
            )
            for name in latest
        }
    )
    changes.update({name: new[name] for name in replace})
    if isinstance(stmt, sqlite.Insert):
        stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", *key], set_=changes)
    else:
        stmt = stmt.on_duplicate_key_update(changes)
    run(stmt, rows)


def _add_sales(rows: Iterable[Mapping[str, Any]], target: tuple[Run, str] | None = None) -> None:
    full = [
        {"orders": 0, "revenue": 0, "refunded": 0, "cancelled": 0, "cancelled_revenue": 0, **r}
        for r in rows
    ]
    sums = ("orders", "revenue", "refunded", "cancelled", "cancelled_revenue")
    _add(SalesDay, full, ("day", "currency"), sums, target=target)


def _add_products(rows: Iterable[Mapping[str, Any]], target: tuple[Run, str] | None = None) -> None:
    sums = ("units", "revenue")
    _add(ProductSalesDay, rows, ("day", "sku"), sums, replace=("title",), target=target)


def _add_customers(
    rows: Iterable[Mapping[str, Any]], target: tuple[Run, str] | None = None
) -> None:
    full = [{"orders": 0, "spent": 0, "last_order_at": None, **r} for r in rows]
    sums = ("orders", "spent")
    _add(CustomerTotal, full, ("user_id", "email"), sums, latest=("last_order_at",), target=target)


def shop_zone() -> Any:
    settings = current_tenant().settings
    return pytz.timezone(settings.timezone if settings else "UTC")


def shop_day(moment: datetime) -> date:
    """The shop's calendar day at ``moment`` (UTC, naive, as stored)."""
    return pytz.utc.localize(moment).astimezone(shop_zone()).date()


def customer_key(order: Order) -> dict[str, Any]:
    if order.user_id is not None:
        return {"user_id": order.user_id, "email": ""}
    return {"user_id": GUEST, "email": order.email}


def _line_figures(order: Order, sign: int, day: date) -> list[dict[str, Any]]:
    by_sku: dict[str, dict[str, Any]] = {}
    for line in order.lines:
        row = by_sku.setdefault(
            line.sku,
            {"day": day, "sku": line.sku, "units": 0, "revenue": 0},
        )
        row.update(title=line.title, product_id=line.product_id)
        row["units"] += sign * line.quantity
        row["revenue"] += sign * line.line_total
    return list(by_sku.values())


# The events ---------------------------------------------------------------------------


def count_placed(order: Order) -> None:
    """A new order: its shopper has one more, placed now."""
    _add_customers([{**customer_key(order), "orders": 1, "last_order_at": order.created_at}])


def count_sale(order: Order) -> bool:
    """Count ``order`` as a sale today unless it was counted already; True if now."""
    now = utcnow()
    taken = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.paid_at.is_(None))
        .values(paid_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if taken != 1:
        return False
    set_committed_value(order, "paid_at", now)  # as stored: nothing more to flush
    day = shop_day(now)
    _add_sales([{"day": day, "currency": order.currency, "orders": 1, "revenue": order.total}])
    _add_products(_line_figures(order, 1, day))
    _add_customers([{**customer_key(order), "spent": order.total}])
    related.count_together(line.product_id for line in order.lines)  # "bought together"
    return True


def count_refund(order: Order, amount: int, at: datetime) -> None:
    """Money given back on the day of the refund."""
    _add_sales([{"day": shop_day(at), "currency": order.currency, "refunded": amount}])
    _add_customers([{**customer_key(order), "spent": -amount}])


def count_cancellation(order: Order, at: datetime) -> None:
    """A cancelled order that had counted as a sale: what was still counted (its total
    less its refunds) comes off on the day of the cancellation, with its units."""
    if order.paid_at is None:
        return
    day, left = shop_day(at), order.total - (order.refunded or 0)
    _add_sales(
        [{"day": day, "currency": order.currency, "cancelled": 1, "cancelled_revenue": left}]
    )
    _add_products(_line_figures(order, -1, day))
    _add_customers([{**customer_key(order), "spent": -left}])
    related.count_together((line.product_id for line in order.lines), sign=-1)


def count_claim(user_id: int, email: str) -> None:
    """Guest figures under ``email`` (any spelling of it) join the account's."""
    guests = db.session.execute(
        select(
            CustomerTotal.id, CustomerTotal.orders, CustomerTotal.spent, CustomerTotal.last_order_at
        ).where(
            CustomerTotal.user_id == GUEST,
            func.lower(CustomerTotal.email) == email.strip().lower(),
        )
    ).all()
    if not guests:
        return
    _add_customers(
        {"user_id": user_id, "email": "", "orders": n, "spent": spent, "last_order_at": last}
        for _id, n, spent, last in guests
    )
    db.session.execute(
        delete(CustomerTotal)
        .where(CustomerTotal.id.in_([row[0] for row in guests]))
        .execution_options(synchronize_session=False)
    )


# Rebuilding from the book --------------------------------------------------------------


def _offsets(zone: Any, first: datetime, last: datetime) -> list[tuple[datetime | None, int]]:
    """The shop's UTC offset over [first, last]: (from when, seconds), the first from
    the beginning of time; a change is located to the second."""

    def offset(moment: datetime) -> int:
        shift = pytz.utc.localize(moment).astimezone(zone).utcoffset()
        return int(shift.total_seconds()) if shift is not None else 0

    spans: list[tuple[datetime | None, int]] = [(None, offset(first))]
    moment = first
    while moment < last:
        step = min(moment + timedelta(days=1), last)
        if offset(step) != spans[-1][1]:
            low, high = moment, step  # offset(low) is the old one, offset(high) the new
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == spans[-1][1] else (low, middle)
            spans.append((high.replace(microsecond=0), offset(step)))
        moment = step
    return spans


def _day_of(column: Any, spans: list[tuple[datetime | None, int]], dialect: str) -> Any:
    """SQL for the shop's calendar day of a UTC ``column``, offset by offset."""

    def shifted(seconds: int) -> Any:
        if dialect == "sqlite":
            return func.date(column, f"{seconds:+d} seconds")
        return func.date(func.timestampadd(literal_column("SECOND"), seconds, column))

    if len(spans) == 1:
        return shifted(spans[0][1])
    whens = [(column < start, shifted(spans[i - 1][1])) for i, (start, _o) in enumerate(spans) if i]
    return case(*whens, else_=shifted(spans[-1][1]))


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def rebuild(batch: int = 5000) -> int:
    """Recompute the bound shop's daily figures and customer totals from its orders, in
    SQL over ``batch`` orders at a time (by id); returns how many orders were read.
    Flushes; the caller commits (one transaction: readers see the old figures or the
    new ones)."""
    db.session.flush()
    return rebuild_shop(_session(), current_tenant().id, shop_zone(), batch)


def rebuild_shop(target: tuple[Run, str], tenant_id: int, zone: Any, batch: int = 5000) -> int:
    """``rebuild`` for shop ``tenant_id`` on any connection (the migration that made these
    tables has no shop bound): every statement names the shop itself."""
    run, dialect = target
    for model in (SalesDay, ProductSalesDay, CustomerTotal):
        run(delete(model).where(model.tenant_id == tenant_id))
    low, high, first = run(
        select(func.min(Order.id), func.max(Order.id), func.min(Order.created_at)).where(
            Order.tenant_id == tenant_id
        )
    ).one()
    if low is None:
        return 0
    # Every event of an order (paid, refunded, cancelled) falls between its placing and now.
    now = utcnow()
    spans = _offsets(zone, min(first, now) - timedelta(days=1), now + timedelta(days=1))
    counted = 0
    for start in range(low, high + 1, batch):
        in_batch = (Order.tenant_id == tenant_id) & Order.id.between(start, start + batch - 1)
        counted += _rebuild_batch(target, tenant_id, in_batch, spans)
    return counted


def _rebuild_batch(target: tuple[Run, str], tenant_id: int, in_batch: Any, spans: Any) -> int:
    from .refunds import Refund  # refunds imports this module's callers

    run, dialect = target
    paid_day = _day_of(Order.paid_at, spans, dialect)
    cancel_day = _day_of(Order.cancelled_at, spans, dialect)
    refund_day = _day_of(Refund.created_at, spans, dialect)
    shop = {"tenant_id": tenant_id}
    paid = Order.paid_at.is_not(None)
    cancelled = paid & Order.cancelled_at.is_not(None)
    sales: dict[tuple[date, str], dict[str, Any]] = defaultdict(dict)
    for day, currency, n, total in run(
        select(paid_day, Order.currency, func.count(), func.sum(Order.total))
        .where(in_batch, paid)
        .group_by(paid_day, Order.currency)
    ):
        sales[(_as_date(day), currency)].update(orders=n, revenue=int(total))
    for day, currency, n, left in run(
        select(cancel_day, Order.currency, func.count(), func.sum(Order.total - Order.refunded))
        .where(in_batch, cancelled)
        .group_by(cancel_day, Order.currency)
    ):
        sales[(_as_date(day), currency)].update(cancelled=n, cancelled_revenue=int(left))
    for day, currency, amount in run(
        select(refund_day, Order.currency, func.sum(Refund.amount))
        .join(Order, (Order.id == Refund.order_id) & (Order.tenant_id == Refund.tenant_id))
        .where(in_batch)
        .group_by(refund_day, Order.currency)
    ):
        sales[(_as_date(day), currency)].update(refunded=int(amount))
    _add_sales(
        ({**shop, "day": d, "currency": c, **figures} for (d, c), figures in sales.items()),
        target,
    )

    for day_column, condition, sign in ((paid_day, paid, 1), (cancel_day, cancelled, -1)):
        _add_products(
            (
                {
                    **shop,
                    "day": _as_date(day),
                    "sku": sku,
                    "title": title,
                    "product_id": product_id,
                    "units": sign * int(units),
                    "revenue": sign * int(revenue),
                }
                for day, sku, title, product_id, units, revenue in run(
                    select(
                        day_column,
                        OrderLine.sku,
                        func.max(OrderLine.title),
                        func.max(OrderLine.product_id),
                        func.sum(OrderLine.quantity),
                        func.sum(OrderLine.line_total),
                    )
                    .join(
                        Order,
                        (Order.id == OrderLine.order_id) & (Order.tenant_id == OrderLine.tenant_id),
                    )
                    .where(in_batch, condition)
                    .group_by(day_column, OrderLine.sku)
                )
            ),
            target,
        )

    who_id = func.coalesce(Order.user_id, GUEST)
    who_email = case((Order.user_id.is_(None), Order.email), else_="")
    still = Order.cancelled_at.is_(None)
    spent = func.sum(case((paid & still, Order.total), else_=0)) - func.sum(
        case((still, Order.refunded), else_=0)
    )
    placed = 0
    rows = []
    for user_id, email, n, money, last in run(
        select(who_id, who_email, func.count(), spent, func.max(Order.created_at))
        .where(in_batch)
        .group_by(who_id, who_email)
    ):
        placed += n
        rows.append(
            {
                **shop,
                "user_id": user_id,
                "email": email,
                "orders": n,
                "spent": int(money),
                "last_order_at": last,
            }
        )
    _add_customers(rows, target)
    return placed
