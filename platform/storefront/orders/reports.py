"""What the dashboard's overview shows: sales by day, the best sellers, what runs low.

Days are the shop's (its ``timezone``); cancelled orders do not count as sales.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import get_timezone
from pytz import utc
from sqlalchemy import func, select

from ..catalog.models import Product
from ..extensions import db
from ..shared import SafeView
from ..tenancy.models import utcnow
from .models import Order, OrderLine

NOT_SALES = ("cancelled",)


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
    """Orders and revenue for each of the last ``days`` days, today last (zeros kept)."""
    tz = get_timezone()
    now = now or utcnow()
    today = utc.localize(now).astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    since = now - timedelta(days=days + 1)
    rows = db.session.execute(
        select(Order.created_at, Order.total).where(
            Order.created_at >= since, Order.status.not_in(NOT_SALES)
        )
    )
    totals: dict[date, list[int]] = {first + timedelta(days=i): [0, 0] for i in range(days)}
    for created_at, total in rows:
        day = utc.localize(created_at).astimezone(tz).date()
        if day in totals:
            totals[day][0] += 1
            totals[day][1] += total
    return [Day(day, count, revenue) for day, (count, revenue) in totals.items()]


def best_sellers(days: int = 30, limit: int = 5) -> list[BestSeller]:
    """The products that brought in the most over the last ``days`` days."""
    since = utcnow() - timedelta(days=days)
    revenue = func.sum(OrderLine.line_total)
    rows = db.session.execute(
        select(OrderLine.sku, func.max(OrderLine.title), func.sum(OrderLine.quantity), revenue)
        .join(Order, (Order.id == OrderLine.order_id) & (Order.tenant_id == OrderLine.tenant_id))
        .where(Order.created_at >= since, Order.status.not_in(NOT_SALES))
        .group_by(OrderLine.sku)
        .order_by(revenue.desc())
        .limit(limit)
    )
    return [BestSeller(sku, title, int(units), int(total)) for sku, title, units, total in rows]


def running_low(limit: int = 10) -> list[Product]:
    """Active products at or below the shop's low-stock threshold, fewest first."""
    threshold = int(current_app.config.get("LOW_STOCK_THRESHOLD", 3))
    return list(
        db.session.scalars(
            select(Product)
            .where(Product.active.is_(True), Product.stock <= threshold)
            .order_by(Product.stock, Product.title)
            .limit(limit)
        )
    )
