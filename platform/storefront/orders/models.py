"""Orders: readable numbers per shop, lines with the price paid, a status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
)
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from ..db import Identifier, Timestamp
from ..extensions import Model
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped, scoped_fk

STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded")

# The moves an order may make; anything else is refused with the reason. "pending" is
# "awaiting payment": manual methods (bank transfer, cash on delivery) may ship before
# the money arrives. Cancelled and refunded are final.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("paid", "shipped", "cancelled"),
    "paid": ("shipped", "cancelled", "refunded"),
    "shipped": ("delivered", "refunded"),
    "delivered": ("refunded",),
    "cancelled": (),
    "refunded": (),
}
RESTOCKING = ("cancelled",)  # moves that put the units back (a refund asks separately)


class OrderCounter(Model, TenantScoped):
    """The shop's next order number, taken under a row lock."""

    __tablename__ = "order_counters"
    __scoped_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_number: Mapped[int] = mapped_column(Integer, default=1001)


class Order(Model, TenantScoped):
    __tablename__ = "orders"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("uq_orders_tenant_id_checkout_key", "tenant_id", "checkout_key", unique=True),
        Index("ix_orders_tenant_id_updated_at", "tenant_id", "updated_at", "id"),
        scoped_fk("user_id", "users", ondelete=None),
        # Each of the dashboard's and the API's listings walks one of these, newest first,
        # a page at a time: its cost is the page, not the book (docs/decisions.md).
        Index("ix_orders_tenant_id_created_at", "tenant_id", "created_at", "id"),
        Index("ix_orders_tenant_id_email", "tenant_id", "email", "created_at", "id"),
        Index("ix_orders_tenant_id_user_id_created_at", "tenant_id", "user_id", "created_at", "id"),
        Index("ix_orders_tenant_id_status_created_at", "tenant_id", "status", "created_at", "id"),
        Index("ix_orders_tenant_id_status_updated_at", "tenant_id", "status", "updated_at", "id"),
        # The review invitations' job: delivered orders not yet invited, oldest first.
        Index(
            "ix_orders_review_invites",
            "tenant_id",
            "status",
            "review_invited_at",
            "updated_at",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(Identifier(32))
    user_id: Mapped[int | None] = mapped_column(Integer)
    email: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    postal_code: Mapped[str] = mapped_column(String(20))
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(100))
    # The lines some countries' addresses have (addresses.countries); "" on older orders.
    country_area: Mapped[str] = mapped_column(String(100), default="", server_default="")
    city_area: Mapped[str] = mapped_column(String(100), default="", server_default="")
    sorting_code: Mapped[str] = mapped_column(String(20), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    shipping_label: Mapped[str] = mapped_column(String(100))
    shipping: Mapped[int] = mapped_column(Integer)  # minor units
    subtotal: Mapped[int] = mapped_column(Integer)
    # What pricing.quote said when the order was placed (kept: rates and zones change).
    discount: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    discount_code: Mapped[str | None] = mapped_column(String(40))
    tax: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tax_included: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    tax_lines: Mapped[list[list[Any]] | None] = mapped_column(JSON, default=list)  # [rate, tax]
    total: Mapped[int] = mapped_column(Integer)
    # What gift cards paid of the total (orders.giftcards); the rest is the amount due.
    gift_card_amount: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    currency: Mapped[str] = mapped_column(String(3))
    payment_method: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    note: Mapped[str] = mapped_column(Text, default="")
    # Digest of the cart token and the submitted form's key: one checkout, one order.
    checkout_key: Mapped[str | None] = mapped_column(String(64), default=None)
    # What an API checkout's Idempotency-Key was first sent with (storefront.idempotency).
    request_fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
    locale: Mapped[str | None] = mapped_column(String(16))  # the shopper's; their mails speak it
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    restocked_at: Mapped[datetime | None] = mapped_column(Timestamp)  # units back, once
    refunded: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # minor units
    # When it counted as a sale (paid; cash on delivery when delivered) and when it was
    # cancelled: the days the shop's figures moved on (orders.aggregates).
    paid_at: Mapped[datetime | None] = mapped_column(Timestamp)
    cancelled_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # When the buyer was invited to review the order (or the invitation passed over: a
    # guest, an unsubscribed buyer); set once by the periodic job (reviews.invitations).
    review_invited_at: Mapped[datetime | None] = mapped_column(Timestamp)
    payment_ref: Mapped[str | None] = mapped_column(String(100))  # e.g. a Checkout Session
    payment_intent: Mapped[str | None] = mapped_column(String(100))  # what refunds refer to
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(
        primaryjoin=lambda: and_(
            foreign(OrderLine.order_id) == Order.id, OrderLine.tenant_id == Order.tenant_id
        ),
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by=lambda: OrderLine.id,
    )

    @property
    def amount_due(self) -> int:
        """What the payment method takes: the total less what gift cards paid."""
        return self.total - (self.gift_card_amount or 0)

    def __repr__(self) -> str:
        return f"<Order {self.number}>"


class OrderLine(Model, TenantScoped):
    __tablename__ = "order_lines"
    __scoped_args__ = (
        scoped_fk("order_id", "orders"),
        # An order's lines by its id (SQLite makes no index for a foreign key by itself).
        Index("ix_order_lines_tenant_id_order_id", "tenant_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int | None] = mapped_column(Integer)  # kept as a plain reference
    variant_id: Mapped[int | None] = mapped_column(Integer)  # likewise
    sku: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    variant: Mapped[str | None] = mapped_column(String(200))  # "M / Red", as the shopper read it
    unit_price: Mapped[int] = mapped_column(Integer)  # the price paid, in minor units
    quantity: Mapped[int] = mapped_column(Integer)
    line_total: Mapped[int] = mapped_column(Integer)
    discount: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tax: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tax_rate: Mapped[str] = mapped_column(String(12), default="0", server_default="0")
    # When the line was first reviewed (storefront.reviews); kept when the review is
    # deleted, so a line is reviewed once, ever (one review per order line).
    reviewed_at: Mapped[datetime | None] = mapped_column(Timestamp)
