"""Carts: one per anonymous visitor (by a token in the shop's session) or per account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint, and_
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from ..catalog.models import Product, Variant
from ..db import Timestamp
from ..extensions import Model
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped, scoped_fk


class Cart(Model, TenantScoped):
    __tablename__ = "carts"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "token"),
        scoped_fk("user_id", "users", ondelete=None),
        Index("ix_carts_tenant_id_user_id", "tenant_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)

    items: Mapped[list[CartItem]] = relationship(
        primaryjoin=lambda: and_(
            foreign(CartItem.cart_id) == Cart.id, CartItem.tenant_id == Cart.tenant_id
        ),
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by=lambda: CartItem.id,
        overlaps="items",
    )


class CartItem(Model, TenantScoped):
    __tablename__ = "cart_items"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "cart_id", "product_id", "variant_id"),
        scoped_fk("cart_id", "carts"),
        scoped_fk("product_id", "products"),
        scoped_fk("variant_id", "variants"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cart_id: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(Integer)
    variant_id: Mapped[int | None] = mapped_column(Integer)  # set when the product has variants
    quantity: Mapped[int] = mapped_column(Integer, default=1)

    product: Mapped[Product] = relationship(
        primaryjoin=lambda: and_(
            foreign(CartItem.product_id) == Product.id, CartItem.tenant_id == Product.tenant_id
        ),
        lazy="joined",
        viewonly=True,
    )
    variant: Mapped[Variant | None] = relationship(
        primaryjoin=lambda: and_(
            foreign(CartItem.variant_id) == Variant.id, CartItem.tenant_id == Variant.tenant_id
        ),
        lazy="joined",
        viewonly=True,
    )
