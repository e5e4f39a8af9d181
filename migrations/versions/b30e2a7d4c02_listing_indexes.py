"""indexes for the catalog's sort orders and listings

Each sort order of the listings gets an index with the shop and ``active`` first, so a
page is read in order and stops at its last row: newest, price, title, the home page's
featured products, and the dashboard's newest-first list of every product.

A category's listing reads its links: ``product_categories`` gets copies of the
product's sort keys (``product_active``, ``product_price``, ``product_created_at``,
``product_title``; storefront.catalog.link_keys keeps them equal) and one index per sort
order behind the category. The copies are filled here in SQL, a range of product ids at
a time (nothing is read into Python but the range's ends).

Revision ID: b30e2a7d4c02
Revises: a30e1f0c5e01
Create Date: 2026-12-07 17:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

from storefront.db import Timestamp

revision = "b30e2a7d4c02"
down_revision = "a30e1f0c5e01"
branch_labels = None
depends_on = None

BATCH = 5000  # product ids per UPDATE of the backfill

PRODUCT_INDEXES = {
    "ix_products_listing_newest": ["tenant_id", "active", "created_at", "id"],
    "ix_products_listing_price": ["tenant_id", "active", "price", "id"],
    "ix_products_listing_title": ["tenant_id", "active", "title", "id"],
    "ix_products_listing_featured": ["tenant_id", "active", "featured", "created_at", "id"],
    "ix_products_admin_newest": ["tenant_id", "created_at", "id"],
}
LINK_INDEXES = {
    "ix_product_categories_newest": ["product_created_at"],
    "ix_product_categories_price": ["product_price"],
    "ix_product_categories_title": ["product_title"],
}
# The name InnoDB gave the index it made for the foreign key (the constraint's name).
FK_INDEX = "fk_product_categories_tenant_id_category_id_categories"
# The copy on the link -> the product's column.
KEYS = {
    "product_active": "active",
    "product_price": "price",
    "product_created_at": "created_at",
    "product_title": "title",
}


def upgrade() -> None:
    with op.batch_alter_table("product_categories") as batch_op:
        batch_op.add_column(sa.Column("product_active", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("product_price", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("product_created_at", Timestamp(), nullable=True))
        batch_op.add_column(sa.Column("product_title", sa.String(length=200), nullable=True))
    _copy_keys()
    for name, columns in PRODUCT_INDEXES.items():
        op.create_index(name, "products", columns)
    for name, (key,) in LINK_INDEXES.items():
        op.create_index(
            name,
            "product_categories",
            ["tenant_id", "category_id", "product_active", key, "product_id"],
        )


def _copy_keys() -> None:
    links = sa.table(
        "product_categories", sa.column("tenant_id"), sa.column("product_id"), *map(sa.column, KEYS)
    )
    products = sa.table(
        "products", sa.column("tenant_id"), sa.column("id"), *map(sa.column, KEYS.values())
    )
    bind = op.get_bind()
    low, high = bind.execute(
        sa.select(sa.func.min(links.c.product_id), sa.func.max(links.c.product_id))
    ).one()
    if low is None:
        return
    copies = {
        link: sa.select(products.c[column])
        .where(products.c.tenant_id == links.c.tenant_id, products.c.id == links.c.product_id)
        .scalar_subquery()
        for link, column in KEYS.items()
    }
    update = (
        sa.update(links)
        .where(links.c.product_id >= sa.bindparam("low"), links.c.product_id < sa.bindparam("high"))
        .values(copies)
    )
    for start in range(low, high + 1, BATCH):
        bind.execute(update, {"low": start, "high": start + BATCH})


def downgrade() -> None:
    if op.get_bind().dialect.name in ("mysql", "mariadb"):
        # InnoDB dropped the index it had made for the links' foreign key to categories
        # when these indexes (which start with its columns) came; it is needed again.
        op.create_index(FK_INDEX, "product_categories", ["tenant_id", "category_id"])
    for name in LINK_INDEXES:
        op.drop_index(name, table_name="product_categories")
    for name in PRODUCT_INDEXES:
        op.drop_index(name, table_name="products")
    with op.batch_alter_table("product_categories") as batch_op:
        for column in KEYS:
            batch_op.drop_column(column)
