"""roles_users: an index by role, so a role's members are found without every shopper

The plan's staff count (storefront.plans) reads the links of the dashboard roles only;
without this index SQLite reads every link of the shop (a customer link per shopper).
MariaDB had one already for the (tenant_id, role_id) foreign key; this one also covers
``user_id``.

Revision ID: c59d0e1f2a09
Revises: a7c3e9f14b20
Create Date: 2026-12-08 00:25:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "c59d0e1f2a09"
down_revision = "a7c3e9f14b20"
branch_labels = None
depends_on = None


FK_INDEX = "fk_roles_users_tenant_id_role_id_roles"  # MariaDB's index for the foreign key


def upgrade() -> None:
    with op.batch_alter_table("roles_users", schema=None) as batch_op:
        batch_op.create_index(
            "ix_roles_users_tenant_id_role_id", ["tenant_id", "role_id", "user_id"], unique=False
        )
    bind = op.get_bind()
    if bind.dialect.name in ("mysql", "mariadb"):
        # MariaDB drops the foreign key's own index once another covers its columns, unless
        # a downgrade made it by hand: then it goes here, so every way up ends the same.
        names = {index["name"] for index in sa.inspect(bind).get_indexes("roles_users")}
        if FK_INDEX in names:
            op.drop_index(FK_INDEX, "roles_users")


def downgrade() -> None:
    # MariaDB dropped the foreign key's own index when this one took over its columns: put
    # it back, under its old name, before this one goes (a foreign key needs an index).
    if op.get_bind().dialect.name in ("mysql", "mariadb"):
        op.create_index(FK_INDEX, "roles_users", ["tenant_id", "role_id"])
    with op.batch_alter_table("roles_users", schema=None) as batch_op:
        batch_op.drop_index("ix_roles_users_tenant_id_role_id")
