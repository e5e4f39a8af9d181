"""roles_users: an index by role, so a role's members are found without every shopper

The plan's staff count (storefront.plans) reads the links of the dashboard roles only;
without this index SQLite reads every link of the shop (a customer link per shopper).
MariaDB had one already for the (tenant_id, role_id) foreign key; this one also covers
``user_id``.

Revision ID: c59d0e1f2a09
Revises: a7c3e9f14b20
Create Date: 2026-12-08 00:25:00.000000

"""

from alembic import op

revision = "c59d0e1f2a09"
down_revision = "a7c3e9f14b20"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("roles_users", schema=None) as batch_op:
        batch_op.create_index(
            "ix_roles_users_tenant_id_role_id", ["tenant_id", "role_id", "user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("roles_users", schema=None) as batch_op:
        batch_op.drop_index("ix_roles_users_tenant_id_role_id")
