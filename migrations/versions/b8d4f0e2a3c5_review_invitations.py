"""review invitations and reviewed lines: the mail after a delivery, a line reviewed once

``review_settings.invite`` and ``invite_days``: the owner's switch (off) for the mail
inviting a buyer to review a delivered order, and how many days after the delivery.
``orders.review_invited_at``: when the job looked at the order (mailed or passed over),
set once; ``ix_orders_review_invites`` is the job's way to the due orders. Orders
delivered before this revision count as looked at: turning the mail on does not mail
every past buyer. ``users.review_mails``: False once the person unsubscribed.
``order_lines.reviewed_at``: when the line was first reviewed, kept when the review is
deleted, so a line is reviewed once; filled from the existing reviews.

Revision ID: b8d4f0e2a3c5
Revises: c61e2f3a4b10
Create Date: 2026-12-08 03:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

from storefront.db import Timestamp

revision = "b8d4f0e2a3c5"
down_revision = "c61e2f3a4b10"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("invite", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("invite_days", sa.Integer(), server_default="7", nullable=False)
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_invited_at", Timestamp(), nullable=True))
        batch_op.create_index(
            "ix_orders_review_invites",
            ["tenant_id", "status", "review_invited_at", "updated_at", "id"],
            unique=False,
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_mails", sa.Boolean(), nullable=True))
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reviewed_at", Timestamp(), nullable=True))
    orders = sa.table(
        "orders",
        sa.column("status", sa.String),
        sa.column("updated_at", Timestamp),
        sa.column("review_invited_at", Timestamp),
    )
    op.execute(
        orders.update()
        .where(orders.c.status.in_(("delivered", "refunded", "cancelled")))
        .values(review_invited_at=orders.c.updated_at)
    )
    lines = sa.table(
        "order_lines",
        sa.column("id", sa.Integer),
        sa.column("tenant_id", sa.Integer),
        sa.column("reviewed_at", Timestamp),
    )
    reviews = sa.table(
        "reviews",
        sa.column("order_line_id", sa.Integer),
        sa.column("tenant_id", sa.Integer),
        sa.column("created_at", Timestamp),
    )
    first = (
        sa.select(sa.func.min(reviews.c.created_at))
        .where(reviews.c.order_line_id == lines.c.id, reviews.c.tenant_id == lines.c.tenant_id)
        .scalar_subquery()
    )
    reviewed = sa.exists().where(
        reviews.c.order_line_id == lines.c.id, reviews.c.tenant_id == lines.c.tenant_id
    )
    op.execute(lines.update().where(reviewed).values(reviewed_at=first))


def downgrade() -> None:
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_column("reviewed_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("review_mails")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_review_invites")
        batch_op.drop_column("review_invited_at")
    with op.batch_alter_table("review_settings", schema=None) as batch_op:
        batch_op.drop_column("invite_days")
        batch_op.drop_column("invite")
