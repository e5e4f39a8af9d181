"""shop identity: a random uid per shop, shop ids from a counter that never goes back

Revision ID: 7c1f0a3d9e21
Revises: 2be9e20ae63a
Create Date: 2026-11-25 00:30:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "7c1f0a3d9e21"
down_revision = "2be9e20ae63a"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no table copy on SQLite: copying the shop table would cascade).
    op.add_column("tenants", sa.Column("uid", sa.String(length=32), nullable=False, server_default=""))
    op.add_column(
        "registry_state",
        sa.Column("next_tenant_id", sa.Integer(), nullable=False, server_default="1"),
    )
    bind = op.get_bind()
    tenants = sa.table("tenants", sa.column("id", sa.Integer), sa.column("uid", sa.String))
    for (shop_id,) in bind.execute(sa.select(tenants.c.id)).all():
        bind.execute(
            tenants.update().where(tenants.c.id == shop_id).values(uid=secrets.token_hex(16))
        )
    op.create_index("uq_tenants_uid", "tenants", ["uid"], unique=True)
    top = bind.execute(sa.select(sa.func.max(tenants.c.id))).scalar() or 0
    state = sa.table(
        "registry_state",
        sa.column("id", sa.Integer),
        sa.column("generation", sa.Integer),
        sa.column("next_tenant_id", sa.Integer),
    )
    if bind.execute(sa.select(state.c.id).where(state.c.id == 1)).first() is None:
        bind.execute(state.insert().values(id=1, generation=1, next_tenant_id=top + 1))
    else:
        bind.execute(state.update().where(state.c.id == 1).values(next_tenant_id=top + 1))


def downgrade():
    op.drop_index("uq_tenants_uid", table_name="tenants")
    with op.batch_alter_table("registry_state") as batch:
        batch.drop_column("next_tenant_id")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("uid")
