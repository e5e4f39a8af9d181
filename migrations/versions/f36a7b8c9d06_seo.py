"""seo: meta titles and descriptions, redirects, the shop's robots.txt, a sitemap index

Products, categories and pages get an optional ``meta_title`` and ``meta_description``
(what search engines show; empty: made from the content). ``redirects`` keeps a shop's
moved addresses (old path -> new path, unique per shop), ``seo_settings`` its own
robots.txt. ``ix_products_sitemap`` (shop, active, id) lets the sitemap read a shop's
products a page at a time in id order, by keyset.

Revision ID: f36a7b8c9d06
Revises: e35f6a7b8c05
Create Date: 2026-12-07 22:05:00.000000

"""

import sqlalchemy as sa
from alembic import op

from storefront.db import Identifier, LongText, Timestamp

revision = "f36a7b8c9d06"
down_revision = "e35f6a7b8c05"
branch_labels = None
depends_on = None

META_TABLES = ("products", "categories", "pages")


def upgrade() -> None:
    for table in META_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("meta_title", sa.String(length=200), nullable=True))
            batch_op.add_column(sa.Column("meta_description", sa.String(length=320), nullable=True))
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index("ix_products_sitemap", ["tenant_id", "active", "id"], unique=False)
    op.create_table(
        "redirects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("old_path", Identifier(500), nullable=False),
        sa.Column("new_path", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_redirects_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redirects")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_redirects_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "old_path", name=op.f("uq_redirects_tenant_id_old_path")),
    )
    op.create_table(
        "seo_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("robots_txt", LongText(), nullable=True),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_seo_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seo_settings")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_seo_settings_tenant_id_id")),
    )


def downgrade() -> None:
    op.drop_table("seo_settings")
    op.drop_table("redirects")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index("ix_products_sitemap")
    for table in META_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("meta_description")
            batch_op.drop_column("meta_title")
