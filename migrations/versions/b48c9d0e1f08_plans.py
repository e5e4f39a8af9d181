"""plans: a shop's plan, and the counters of what cannot be counted by rows

``tenants.plan`` names the shop's plan in the plans file (NULL: the file's default plan,
or no limits without a file). ``plan_counters`` keeps per shop the mails sent a UTC day
(``mails_per_day``) and the bytes of media stored (``storage_bytes``), one row each,
moved by conditional UPDATEs (storefront.plans).

Revision ID: b48c9d0e1f08
Revises: f36a7b8c9d06
Create Date: 2026-12-07 23:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "b48c9d0e1f08"
down_revision = "f36a7b8c9d06"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan", sa.String(length=63), nullable=True))
    op.create_table(
        "plan_counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("day", sa.String(length=8), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_plan_counters_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_counters")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_plan_counters_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id", "name", "day", name=op.f("uq_plan_counters_tenant_id_name_day")
        ),
    )


def downgrade() -> None:
    op.drop_table("plan_counters")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("plan")
