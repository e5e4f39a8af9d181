"""The catalog: products and categories, every row owned by one shop."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    and_,
    false,
)
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship, remote

from ..db import Identifier, LongText, Timestamp
from ..extensions import Model, db
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped, scoped_fk

# A product's place in a category. The product's sort keys are copied onto each of its
# links (``catalog.link_keys`` keeps them equal to the product's, in the same transaction
# as any write), so a category's page is read in order from one of the indexes below,
# however many products the shop has (docs/decisions.md, "Listings served by indexes").
product_categories = Table(
    "product_categories",
    db.metadata,
    Column("tenant_id", Integer, primary_key=True),
    Column("product_id", Integer, primary_key=True),
    Column("category_id", Integer, primary_key=True),
    Column("product_active", Boolean),
    Column("product_price", Integer),
    Column("product_created_at", Timestamp),
    Column("product_title", String(200)),
    ForeignKeyConstraint(
        ["tenant_id", "product_id"], ["products.tenant_id", "products.id"], ondelete="CASCADE"
    ),
    ForeignKeyConstraint(
        ["tenant_id", "category_id"],
        ["categories.tenant_id", "categories.id"],
        ondelete="CASCADE",
    ),
    Index(
        "ix_product_categories_newest",
        "tenant_id",
        "category_id",
        "product_active",
        "product_created_at",
        "product_id",
    ),
    Index(
        "ix_product_categories_price",
        "tenant_id",
        "category_id",
        "product_active",
        "product_price",
        "product_id",
    ),
    Index(
        "ix_product_categories_title",
        "tenant_id",
        "category_id",
        "product_active",
        "product_title",
        "product_id",
    ),
)


class Category(Model, TenantScoped):
    __tablename__ = "categories"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "slug"),
        scoped_fk("parent_id", "categories", ondelete=None),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(Identifier(120))
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(Integer)  # one level of nesting
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The name in the shop's other locales: {"fr_FR": {"name": "..."}}.
    translations: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON, default=dict)
    # What search engines show (storefront.seo); empty: made from the name.
    meta_title: Mapped[str | None] = mapped_column(String(200))
    meta_description: Mapped[str | None] = mapped_column(String(320))

    def __repr__(self) -> str:
        return f"<Category {self.slug}>"


class Product(Model, TenantScoped):
    __tablename__ = "products"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        UniqueConstraint("tenant_id", "slug"),
        Index("ix_products_tenant_id_updated_at", "tenant_id", "updated_at", "id"),
        # One index per sort order of the listings, the shop and ``active`` first: a page
        # is read in order and stops at its last row (docs/decisions.md).
        Index("ix_products_listing_newest", "tenant_id", "active", "created_at", "id"),
        Index("ix_products_listing_price", "tenant_id", "active", "price", "id"),
        Index("ix_products_listing_title", "tenant_id", "active", "title", "id"),
        Index(
            "ix_products_listing_featured", "tenant_id", "active", "featured", "created_at", "id"
        ),
        # The dashboard's list: every product, active or not, newest first.
        Index("ix_products_admin_newest", "tenant_id", "created_at", "id"),
        # The dashboard's "running low": active products under a stock, fewest first.
        Index("ix_products_running_low", "tenant_id", "active", "stock", "title", "id"),
        # The sitemap: a shop's active products in id order, read by keyset (storefront.seo).
        Index("ix_products_sitemap", "tenant_id", "active", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(Identifier(64))
    # active_history: the old slug is known when it changes, for its redirect (seo).
    slug: Mapped[str] = mapped_column(Identifier(120), active_history=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(LongText, default="")
    price: Mapped[int] = mapped_column(Integer)  # minor units (cents)
    compare_at_price: Mapped[int | None] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    # A gift card (orders.giftcards): each unit bought becomes a card worth its price (the
    # variants are the amounts); no stock is counted and nothing ships.
    gift_card: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    image_url: Mapped[str | None] = mapped_column(String(500))
    tax_class: Mapped[str] = mapped_column(
        String(16), default="standard", server_default="standard"
    )
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # Any change to the row (stock moves by UPDATE statements too): integrations sync by it.
    updated_at: Mapped[datetime | None] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)
    # Title and description in the shop's other locales: {"de_DE": {"title": "..."}}.
    translations: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON, default=dict)
    # What shoppers choose between (see catalog.variants): [{"name": "Size", "values":
    # ["S", "M"], "translations": {"de_DE": {"name": "Größe", "values": ["S", "M"]}}}].
    # Empty: a simple product, priced and stocked on its own row.
    options: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=list)
    # What search engines show (storefront.seo); empty: made from the title and description.
    meta_title: Mapped[str | None] = mapped_column(String(200))
    meta_description: Mapped[str | None] = mapped_column(String(320))
    # The published reviews (storefront.reviews): how many and the sum of their ratings,
    # moved in the same transaction as a review is published, hidden or deleted, so a
    # listing shows the average without reading a review.
    rating_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rating_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    categories: Mapped[list[Category]] = relationship(
        secondary=product_categories,
        primaryjoin=lambda: and_(
            remote(product_categories.c.product_id) == Product.id,
            remote(product_categories.c.tenant_id) == Product.tenant_id,
        ),
        secondaryjoin=lambda: and_(
            foreign(product_categories.c.category_id) == Category.id,
            foreign(product_categories.c.tenant_id) == Category.tenant_id,
        ),
        lazy="selectin",
        order_by=lambda: Category.position,
    )

    # The join names the product's id alone: the scoping criterion adds the shop to every
    # load, the composite foreign key keeps rows in their shop, and SQLAlchemy can load a
    # page's pictures by their product ids without joining products again.
    # Loaded on demand, or for a page of products at once by ``loading.load_details``.
    images: Mapped[list[ProductImage]] = relationship(
        primaryjoin=lambda: foreign(ProductImage.product_id) == Product.id,
        lazy="select",
        order_by=lambda: (ProductImage.position, ProductImage.id),
        viewonly=True,
    )
    # Loaded on demand, or for a page of products at once by ``loading.load_details``
    # (one statement, none at all when no product of the page has options).
    variants: Mapped[list[Variant]] = relationship(
        primaryjoin=lambda: foreign(Variant.product_id) == Product.id,
        lazy="select",
        order_by=lambda: (Variant.position, Variant.id),
        viewonly=True,
    )

    def __repr__(self) -> str:
        return f"<Product {self.sku}>"


class ProductImage(Model, TenantScoped):
    """A picture of a product: its master and renditions live in the shop's storage under
    ``key`` (see storefront.media); ``widths`` lists the renditions made so far."""

    __tablename__ = "product_images"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "product_id", "key"),
        scoped_fk("product_id", "products"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    fallback: Mapped[str] = mapped_column(String(4))  # "jpg" or "png"
    widths: Mapped[list[int] | None] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    alt: Mapped[str] = mapped_column(String(300), default="")
    # The alt text in the shop's other locales: {"de_DE": {"alt": "..."}}.
    translations: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    def __repr__(self) -> str:
        return f"<ProductImage {self.key}>"


class Variant(Model, TenantScoped):
    """One combination of a product's options, with its own SKU, price, stock and image.

    ``option_values`` follow the product's ``options`` in order. A product's own ``stock``
    is the sum of its variants': every change moves both, the product's row first (one
    lock order for checkout, restocks and adjustments alike).
    """

    __tablename__ = "variants"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        scoped_fk("product_id", "products"),
        Index("ix_variants_tenant_id_product_id", "tenant_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(Identifier(64))
    option_values: Mapped[list[str]] = mapped_column(JSON, default=list)
    price: Mapped[int | None] = mapped_column(Integer)  # None: the product's price
    compare_at_price: Mapped[int | None] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    image_key: Mapped[str | None] = mapped_column(String(64))  # one of the product's images
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Variant {self.sku}>"


IMAGE_URL_MAX = 500
# http(s) with a host, or a path on the shop (not //host); no spaces, quotes, brackets or
# backslashes. The API's document carries the same pattern.
IMAGE_URL_PATTERN = (
    r"^(?:/(?:[^/\\\x00-\x20<>\"'][^\\\x00-\x20<>\"']*)?"
    r"|https?://[^/?#\\\x00-\x20<>\"'\[\]]+(?:[/?#][^\\\x00-\x20<>\"']*)?)?$"
)


def check_image_url(value: str | None) -> str | None:
    """An image address a page may show: http(s), or a path on the shop itself.

    Anything else (``javascript:``, ``data:``, ``//other.host``) is refused with a reason.
    """
    if value is None or value == "":
        return None
    if len(value) > IMAGE_URL_MAX:
        raise ValueError(_("The image URL is longer than %(num)s characters.", num=IMAGE_URL_MAX))
    if any(ord(c) < 33 or c in "\\<>\"'" for c in value):
        raise ValueError(
            _("The image URL may not contain spaces, quotes, angle brackets or backslashes.")
        )
    if not re.fullmatch(IMAGE_URL_PATTERN, value):
        raise ValueError(
            _("The image URL must start with https://, http:// or / (a path on this shop).")
        )
    try:  # what the pattern lets through that no URL parser reads, e.g. http://[x/
        urlsplit(value)
    except ValueError:
        raise ValueError(_("The image URL's host is not a valid address.")) from None
    return value
