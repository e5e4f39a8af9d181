"""What the dashboard's overview shows: sales by day, the best sellers, what runs low.

Sales are read from the daily figures kept with the orders (``aggregates``), never from
the orders themselves: the overview costs the same for a shop's first hundred orders as
for its two millionth. Days are the shop's (its ``timezone``); a day's figures are net:
orders paid that day, less refunds made and paid orders cancelled that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, select, true

from ..catalog.models import Product
from ..catalog.money import shop_currency
from ..extensions import db
from ..shared import SafeView
from ..tenancy.models import utcnow
from .aggregates import ProductSalesDay, SalesDay, shop_day
from .models import OrderCounter

FIRST_NUMBER = 1001  # checkout.create_counter: a shop's first order number


@dataclass(frozen=True)
class Day(SafeView):
    day: date
    orders: int
    revenue: int  # minor units, the shop's currency


@dataclass(frozen=True)
class BestSeller(SafeView):
    sku: str
    title: str
    units: int
    revenue: int


def daily_sales(days: int = 30, now: datetime | None = None) -> list[Day]:
    """Net orders and revenue for each of the last ``days`` days, today last (zeros kept)."""
    today = shop_day(now or utcnow())
    first = today - timedelta(days=days - 1)
    totals = {first + timedelta(days=i): (0, 0) for i in range(days)}
    for row in db.session.scalars(
        select(SalesDay).where(
            SalesDay.day.between(first, today), SalesDay.currency == shop_currency()
        )
    ):
        totals[row.day] = (row.net_orders, row.net_revenue)
    return [Day(day, count, revenue) for day, (count, revenue) in totals.items()]


def best_sellers(days: int = 30, limit: int = 5, now: datetime | None = None) -> list[BestSeller]:
    """The products that brought in the most over the last ``days`` days."""
    today = shop_day(now or utcnow())
    revenue = func.sum(ProductSalesDay.revenue)
    units = func.sum(ProductSalesDay.units)
    rows = db.session.execute(
        select(ProductSalesDay.sku, func.max(ProductSalesDay.title), units, revenue)
        .where(ProductSalesDay.day.between(today - timedelta(days=days - 1), today))
        .group_by(ProductSalesDay.sku)
        .having(units > 0)
        .order_by(revenue.desc(), ProductSalesDay.sku)
        .limit(limit)
    )
    return [BestSeller(sku, title, int(n), int(total)) for sku, title, n, total in rows]


def running_low(limit: int = 10) -> list[Product]:
    """Active products at or below the shop's low-stock threshold, fewest first."""
    threshold = int(current_app.config.get("LOW_STOCK_THRESHOLD", 3))
    return list(
        db.session.scalars(
            select(Product)
            .where(Product.active == true(), Product.stock <= threshold)
            .order_by(Product.stock, Product.title)
            .limit(limit)
        )
    )


def orders_paid_today(now: datetime | None = None) -> int:
    """Orders that became sales on the shop's today, in any currency (cancellations later
    the same day not taken off: how many came in, not what they are worth)."""
    today = shop_day(now or utcnow())
    paid = db.session.scalar(select(func.sum(SalesDay.orders)).where(SalesDay.day == today))
    return int(paid or 0)


def orders_placed() -> int:
    """How many orders the shop has: its gap-free counter says, without counting them."""
    following = db.session.scalar(select(OrderCounter.next_number))
    return max((following or FIRST_NUMBER) - FIRST_NUMBER, 0)


def count_upto(stmt: Select[Any], cap: int) -> int:
    """How many rows ``stmt`` has, counting no further than ``cap + 1`` (read: "more")."""
    return int(
        db.session.scalar(select(func.count()).select_from(stmt.limit(cap + 1).subquery())) or 0
    )
