"""signups: shops that open themselves (sign-up rows, refused attempts)

``signups`` keeps each sign-up before its shop exists (the name it holds while its
confirmation link lives, ``slug_hold``, unique) and after (the per-address and
per-network limits read it; ``checklist_dismissed`` hides the owner's onboarding
checklist). ``signup_failures`` counts refused attempts per network for the cooling-off.

Revision ID: b5d2e8f41c07
Revises: b5d2e8f1a9c3
Create Date: 2026-12-08 03:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

from storefront.db import Timestamp

revision = "b5d2e8f41c07"
down_revision = "b5d2e8f1a9c3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("shop_name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("slug_hold", sa.String(length=63), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", Timestamp(), nullable=False),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("confirmed_at", Timestamp(), nullable=True),
        sa.Column("decided_at", Timestamp(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), server_default="", nullable=False),
        sa.Column("note", sa.String(length=500), server_default="", nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=True),
        sa.Column("checklist_dismissed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["tenants.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug_hold"),
    )
    with op.batch_alter_table("signups", schema=None) as batch_op:
        batch_op.create_index("ix_signups_email_created_at", ["email", "created_at"], unique=False)
        batch_op.create_index(
            "ix_signups_network_created_at", ["network", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_signups_status_created_at", ["status", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_signups_shop_id"), ["shop_id"], unique=False)
    op.create_table(
        "signup_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=False),
        sa.Column("at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("signup_failures", schema=None) as batch_op:
        batch_op.create_index("ix_signup_failures_network_at", ["network", "at"], unique=False)


def downgrade() -> None:
    # Tables, not indexes: MariaDB keeps an index a foreign key needs.
    op.drop_table("signup_failures")
    op.drop_table("signups")
