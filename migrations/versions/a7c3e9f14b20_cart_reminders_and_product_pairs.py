"""cart reminders and products bought together

``cart_reminder_settings`` holds the owner's switch (off) and delay; ``cart_reminders`` a
cart whose shopper agreed to one reminder, read by the job through
``ix_cart_reminders_due`` (shop, state, left at); ``cart_reminder_optouts`` the digests
of addresses that unsubscribed; ``cart_reminder_days`` what reminders brought back per
day. ``product_pairs`` counts the paid orders that held two products, read by a product
page through ``ix_product_pairs_best`` (shop, product, times).

Revision ID: a7c3e9f14b20
Revises: b48c9d0e1f08
Create Date: 2026-12-07 23:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

from storefront.db import Timestamp

revision = "a7c3e9f14b20"
down_revision = "b48c9d0e1f08"
branch_labels = None
depends_on = None


def _shop(table: str) -> list:
    return [
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f(f"uq_{table}_tenant_id_id")),
    ]


def upgrade() -> None:
    op.create_table(
        "cart_reminder_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("delay_hours", sa.Integer(), server_default="24", nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        *_shop("cart_reminder_settings"),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_cart_reminder_settings_tenant_id")),
    )
    op.create_table(
        "cart_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cart_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("consented_at", Timestamp(), nullable=False),
        sa.Column("left_at", Timestamp(), nullable=False),
        sa.Column("sent_at", Timestamp(), nullable=True),
        sa.Column("restored_at", Timestamp(), nullable=True),
        *_shop("cart_reminders"),
        sa.UniqueConstraint(
            "tenant_id", "cart_id", name=op.f("uq_cart_reminders_tenant_id_cart_id")
        ),
    )
    with op.batch_alter_table("cart_reminders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cart_reminders_due", ["tenant_id", "state", "left_at", "id"], unique=False
        )
        batch_op.create_index("ix_cart_reminders_email", ["tenant_id", "email"], unique=False)
    op.create_table(
        "cart_reminder_optouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", Timestamp(), nullable=False),
        *_shop("cart_reminder_optouts"),
        sa.UniqueConstraint(
            "tenant_id", "email_key", name=op.f("uq_cart_reminder_optouts_tenant_id_email_key")
        ),
    )
    op.create_table(
        "cart_reminder_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("restored", sa.Integer(), nullable=False),
        sa.Column("ordered", sa.Integer(), nullable=False),
        *_shop("cart_reminder_days"),
        sa.UniqueConstraint("tenant_id", "day", name=op.f("uq_cart_reminder_days_tenant_id_day")),
    )
    op.create_table(
        "product_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.Column("times", sa.Integer(), nullable=False),
        *_shop("product_pairs"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["products.tenant_id", "products.id"],
            name=op.f("fk_product_pairs_tenant_id_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "other_id"],
            ["products.tenant_id", "products.id"],
            name=op.f("fk_product_pairs_tenant_id_other_id_products"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "product_id",
            "other_id",
            name=op.f("uq_product_pairs_tenant_id_product_id_other_id"),
        ),
    )
    with op.batch_alter_table("product_pairs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_product_pairs_best", ["tenant_id", "product_id", "times", "other_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("product_pairs")
    op.drop_table("cart_reminder_days")
    op.drop_table("cart_reminder_optouts")
    op.drop_table("cart_reminders")
    op.drop_table("cart_reminder_settings")
