"""home_sections: the owner's home page sections; newsletter_signups: its sign-up's addresses

``home_sections`` holds one row per section of a shop's home page, in ``position`` order,
with its kind, a hidden flag, the settings every language shares and the texts per
locale (both JSON, validated by ``storefront.home.schemas``). ``newsletter_signups``
keeps the addresses the home page's newsletter sign-up collected, once per shop. Existing
shops have no sections: their home page stays as it was.

Revision ID: b5d2e8f1a9c3
Revises: b8d4f0e2a3c5
Create Date: 2026-12-08 03:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

from storefront.db import Timestamp

revision = "b5d2e8f1a9c3"
down_revision = "b8d4f0e2a3c5"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "home_sections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=True),
        sa.Column("texts", sa.JSON(), nullable=True),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_home_sections_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_home_sections")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_home_sections_tenant_id_id")),
    )
    with op.batch_alter_table("home_sections", schema=None) as batch_op:
        batch_op.create_index(
            "ix_home_sections_order", ["tenant_id", "position", "id"], unique=False
        )
    op.create_table(
        "newsletter_signups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_newsletter_signups_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_newsletter_signups")),
        sa.UniqueConstraint("tenant_id", "email", name=op.f("uq_newsletter_signups_tenant_id_email")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_newsletter_signups_tenant_id_id")),
    )


def downgrade() -> None:
    op.drop_table("newsletter_signups")
    op.drop_table("home_sections")
