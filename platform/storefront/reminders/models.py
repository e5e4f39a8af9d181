"""What a cart reminder keeps: the owner's switch, each consenting cart, the addresses
that said "no more", and the figures the dashboard shows."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Timestamp
from ..extensions import Model
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped

WAITING, SENT = "waiting", "sent"


class ReminderSettings(Model, TenantScoped):
    """The owner's switch (off until they turn it on) and the delay before the reminder."""

    __tablename__ = "cart_reminder_settings"
    __scoped_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    delay_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class CartReminder(Model, TenantScoped):
    """A cart whose shopper gave an address and agreed to one reminder.

    ``cart_id`` is a plain reference (like an order line's product): the row outlives
    the cart's deletion at checkout for as long as it takes to count the order it made.
    ``left_at`` is the last time the shopper was at checkout with it; the job reads the
    rows ``waiting`` and left before the owner's delay through ``ix_cart_reminders_due``.
    """

    __tablename__ = "cart_reminders"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "cart_id"),
        Index("ix_cart_reminders_due", "tenant_id", "state", "left_at", "id"),
        Index("ix_cart_reminders_email", "tenant_id", "email"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cart_id: Mapped[int] = mapped_column(Integer)
    email: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(8), default=WAITING)
    consented_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    left_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp)
    restored_at: Mapped[datetime | None] = mapped_column(Timestamp)

    def __repr__(self) -> str:
        return f"<CartReminder cart={self.cart_id} {self.state}>"


class ReminderOptOut(Model, TenantScoped):
    """An address that unsubscribed: kept as a keyed digest (``services.email_key``),
    never the address, and honoured for every later cart."""

    __tablename__ = "cart_reminder_optouts"
    __scoped_args__ = (UniqueConstraint("tenant_id", "email_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class ReminderDay(Model, TenantScoped):
    """One day of reminders in the shop: sent, carts restored, orders placed from them."""

    __tablename__ = "cart_reminder_days"
    __scoped_args__ = (UniqueConstraint("tenant_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    restored: Mapped[int] = mapped_column(Integer, default=0)
    ordered: Mapped[int] = mapped_column(Integer, default=0)
