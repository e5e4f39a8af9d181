"""billing: where each shop's billing stands, its Stripe ids, the events handled

``tenants.billing_state`` / ``billing_until`` (read by every request through the
registry: trialing, active, past_due until the grace period's end, closed, suspended,
comped); ``shop_billing`` (one row a shop: the platform's Stripe customer and
subscription); ``billing_events`` (each Stripe event id once). storefront.billing.

Revision ID: c61e2f3a4b10
Revises: a7c3e9d1f2b4
Create Date: 2026-12-08 03:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

from storefront.db import Timestamp

revision = "c61e2f3a4b10"
down_revision = "a7c3e9d1f2b4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("billing_state", sa.String(length=16), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("billing_until", Timestamp(), nullable=True))
    op.create_table(
        "shop_billing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=True),
        sa.Column("subscription_id", sa.String(length=100), nullable=True),
        sa.Column("price_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("trial_end", Timestamp(), nullable=True),
        sa.Column("past_due_since", Timestamp(), nullable=True),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_shop_billing_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_billing")),
    )
    op.create_index("uq_shop_billing_tenant_id", "shop_billing", ["tenant_id"], unique=True)
    op.create_index(
        "uq_shop_billing_subscription_id", "shop_billing", ["subscription_id"], unique=True
    )
    op.create_index("uq_shop_billing_customer_id", "shop_billing", ["customer_id"], unique=True)
    op.create_table(
        "billing_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_billing_events_tenant_id_tenants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_events")),
    )
    op.create_index("uq_billing_events_event_id", "billing_events", ["event_id"], unique=True)
    op.create_index(
        op.f("ix_billing_events_tenant_id"), "billing_events", ["tenant_id"], unique=False
    )


def downgrade() -> None:
    # Tables with their indexes (MariaDB keeps a foreign key's index: drop the table).
    op.drop_table("billing_events")
    op.drop_table("shop_billing")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("billing_until")
        batch_op.drop_column("billing_state")
