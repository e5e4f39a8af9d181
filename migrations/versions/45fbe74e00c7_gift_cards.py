"""gift cards: cards with a keyed digest of their code, and their ledger

``gift_cards`` holds a card's balance and where it came from (by hand, bought, a
refund); ``gift_card_movements`` every change of it, each with a key unique per shop (a
replayed change moves nothing). ``orders.gift_card_amount``: what cards paid of an
order's total; ``products.gift_card``: a product that is a gift card (its variants are
the amounts; no stock is counted, nothing ships).

Revision ID: 45fbe74e00c7
Revises: a7c3e9f1d2b4
Create Date: 2026-12-07 23:32:45.019357

"""

import sqlalchemy as sa
from alembic import op

from storefront.db import Timestamp

revision = "45fbe74e00c7"
down_revision = "a7c3e9f1d2b4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gift_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("initial", sa.Integer(), nullable=False),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("recipient_email", sa.String(length=255), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("sealed_code", sa.Text(), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_gift_cards_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gift_cards")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_gift_cards_tenant_id_id")),
    )
    with op.batch_alter_table("gift_cards", schema=None) as batch_op:
        batch_op.create_index(
            "ix_gift_cards_tenant_id_last4", ["tenant_id", "last4", "id"], unique=False
        )
        batch_op.create_index(
            "ix_gift_cards_tenant_id_order_id", ["tenant_id", "order_id"], unique=False
        )
        batch_op.create_index(
            "uq_gift_cards_tenant_id_code_hash", ["tenant_id", "code_hash"], unique=True
        )

    op.create_table(
        "gift_card_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("refund_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "card_id"],
            ["gift_cards.tenant_id", "gift_cards.id"],
            name=op.f("fk_gift_card_movements_tenant_id_card_id_gift_cards"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_gift_card_movements_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gift_card_movements")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_gift_card_movements_tenant_id_id")),
    )
    with op.batch_alter_table("gift_card_movements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_gift_card_movements_tenant_id_card_id", ["tenant_id", "card_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_gift_card_movements_tenant_id_order_id", ["tenant_id", "order_id"], unique=False
        )
        batch_op.create_index(
            "uq_gift_card_movements_tenant_id_key", ["tenant_id", "key"], unique=True
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("gift_card_amount", sa.Integer(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("gift_card", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("gift_card")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("gift_card_amount")

    # A table's indexes go with it (MariaDB refuses to drop one a foreign key still needs).
    op.drop_table("gift_card_movements")
    op.drop_table("gift_cards")
