"""Reviews: one per order line, written by the account that bought it, moderated.

A product's published reviews are counted on its own row (``products.rating_count`` and
``rating_total``), moved in the same transaction as the review's state: listings and
the product page read two columns, never the reviews.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Timestamp
from ..extensions import Model
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped, scoped_fk

PENDING, PUBLISHED, HIDDEN = "pending", "published", "hidden"
STATES = (PENDING, PUBLISHED, HIDDEN)
TITLE_MAX = 120
BODY_MAX = 5000
REPLY_MAX = 5000
AUTHOR_MAX = 80


class Review(Model, TenantScoped):
    """A shopper's rating (1 to 5) and words about one line of one of their orders."""

    __tablename__ = "reviews"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "order_line_id"),  # one review per order line
        scoped_fk("product_id", "products"),
        scoped_fk("order_line_id", "order_lines"),
        # The account is erased before its row goes (privacy): no cascade, no SET NULL
        # (that would null the shop's id too).
        scoped_fk("user_id", "users", ondelete=None),
        # A product's published reviews, newest first, a page at a time (keyset).
        Index("ix_reviews_product_state", "tenant_id", "product_id", "status", "created_at", "id"),
        # The moderation queue, by state or all of them, newest first.
        Index("ix_reviews_state", "tenant_id", "status", "created_at", "id"),
        Index("ix_reviews_newest", "tenant_id", "created_at", "id"),
        # A shopper's own reviews (their page, their data export, their erasure).
        Index("ix_reviews_user", "tenant_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer)
    order_line_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(Integer)  # None once the person is erased
    author_name: Mapped[str] = mapped_column(String(AUTHOR_MAX), default="")
    rating: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(TITLE_MAX), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str | None] = mapped_column(String(16))  # the language it was written in
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    reply: Mapped[str | None] = mapped_column(Text)  # the shop's answer, shown under it
    replied_at: Mapped[datetime | None] = mapped_column(Timestamp)
    published_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Review {self.id} {self.rating}/5 {self.status}>"


class ReviewSettings(Model, TenantScoped):
    """Whether a new review is published at once or waits for the shop's approval."""

    __tablename__ = "review_settings"
    __scoped_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    auto_publish: Mapped[bool] = mapped_column(Boolean, default=False)
    # The mail inviting buyers to review what was delivered (reviews.invitations): off
    # until the owner turns it on, sent this many days after the delivery.
    invite: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    invite_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)
