"""reviews: shoppers' ratings and words per order line, moderated; products' figures

``reviews`` holds one review per order line (unique per shop), in a state (pending,
published, hidden), with the shop's reply. ``review_settings`` says whether new reviews
publish at once. ``products.rating_count`` and ``rating_total`` count the published
reviews, moved with every publish, hide and delete: listings read them, never the
reviews. Existing products start at zero (there are no reviews yet).

Revision ID: a7c3e9d1f2b4
Revises: 45fbe74e00c7
Create Date: 2026-12-07 23:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

from storefront.db import Timestamp

revision = "a7c3e9d1f2b4"
down_revision = "45fbe74e00c7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rating_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("rating_total", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=80), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("replied_at", Timestamp(), nullable=True),
        sa.Column("published_at", Timestamp(), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_line_id"],
            ["order_lines.tenant_id", "order_lines.id"],
            name=op.f("fk_reviews_tenant_id_order_line_id_order_lines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["products.tenant_id", "products.id"],
            name=op.f("fk_reviews_tenant_id_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_reviews_tenant_id_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_reviews_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_reviews_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id", "order_line_id", name=op.f("uq_reviews_tenant_id_order_line_id")
        ),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reviews_product_state",
            ["tenant_id", "product_id", "status", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_reviews_state", ["tenant_id", "status", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_reviews_newest", ["tenant_id", "created_at", "id"], unique=False)
        batch_op.create_index("ix_reviews_user", ["tenant_id", "user_id", "id"], unique=False)
    op.create_table(
        "review_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("auto_publish", sa.Boolean(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_review_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_settings")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_review_settings_tenant_id")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_review_settings_tenant_id_id")),
    )


def downgrade() -> None:
    op.drop_table("review_settings")
    op.drop_table("reviews")  # its indexes go with it (MariaDB keeps a foreign key's)
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("rating_total")
        batch_op.drop_column("rating_count")
