"""accounts: staff roles with permissions (staff becomes manager) and staff invitations

Every shop gets the dashboard roles of ``storefront.permissions`` (owner, manager,
catalog_editor, fulfilment, support, read_only, customer). Its ``staff`` role, which
could do everything but the settings, becomes ``manager``: the row is renamed, so
everyone who held it keeps working, with the same rights. What each role may do is
defined in code (``Role.get_permissions``), not in the rows.
``staff_invitations`` holds the pending invitations (one per address and shop).

Revision ID: a7c3e9f1d2b4
Revises: a7d1e3c5b9f2
Create Date: 2026-12-07 23:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

from storefront.db import Timestamp

revision = "a7c3e9f1d2b4"
down_revision = "a7d1e3c5b9f2"
branch_labels = None
depends_on = None

NEW_ROLES = {
    "manager": "Runs the daily work: products, orders, customers, discounts, pages",
    "catalog_editor": "Edits the catalog: products, categories, pages",
    "fulfilment": "Ships orders: orders, and products to read",
    "support": "Helps shoppers: reads orders, customers and products",
    "read_only": "Reads the dashboard, changes nothing",
}

roles = sa.table(
    "roles",
    sa.column("id", sa.Integer),
    sa.column("tenant_id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("description", sa.String),
)
tenants = sa.table("tenants", sa.column("id", sa.Integer))


def upgrade() -> None:
    op.create_table(
        "staff_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=80), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("invited_by", sa.Integer(), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("sent_at", Timestamp(), nullable=False),
        sa.Column("expires_at", Timestamp(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_staff_invitations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_invitations")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_staff_invitations_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id", "email", name=op.f("uq_staff_invitations_tenant_id_email")
        ),
    )
    bind = op.get_bind()
    # staff -> manager, where a shop has no manager yet (it cannot: the name is new).
    bind.execute(
        roles.update()
        .where(roles.c.name == "staff")
        .values(name="manager", description=NEW_ROLES["manager"])
    )
    shop_ids = bind.execute(sa.select(tenants.c.id)).scalars().all()
    for shop_id in shop_ids:
        have = set(
            bind.execute(sa.select(roles.c.name).where(roles.c.tenant_id == shop_id)).scalars()
        )
        missing = [
            {"tenant_id": shop_id, "name": name, "description": description}
            for name, description in NEW_ROLES.items()
            if name not in have
        ]
        if missing:
            bind.execute(roles.insert(), missing)


def downgrade() -> None:
    op.drop_table("staff_invitations")
    bind = op.get_bind()
    # Everyone with a newer dashboard role keeps a dashboard, as staff (manager's row
    # becomes staff again; the other roles' holders move onto it).
    bind.execute(
        roles.update()
        .where(roles.c.name == "manager")
        .values(name="staff", description="Works in the dashboard: products and orders")
    )
    links = sa.table(
        "roles_users",
        sa.column("tenant_id", sa.Integer),
        sa.column("user_id", sa.Integer),
        sa.column("role_id", sa.Integer),
    )
    newer = ("catalog_editor", "fulfilment", "support", "read_only")
    rows = bind.execute(
        sa.select(links.c.tenant_id, links.c.user_id, roles.c.name)
        .join(roles, sa.and_(roles.c.id == links.c.role_id, roles.c.tenant_id == links.c.tenant_id))
        .where(roles.c.name.in_(newer))
    ).all()
    staff_ids = dict(
        bind.execute(sa.select(roles.c.tenant_id, roles.c.id).where(roles.c.name == "staff")).all()
    )
    held = {
        (t, u)
        for t, u in bind.execute(
            sa.select(links.c.tenant_id, links.c.user_id).where(
                links.c.role_id.in_(list(staff_ids.values()) or [0])
            )
        ).all()
    }
    for tenant_id, user_id, _name in rows:
        if (tenant_id, user_id) not in held and tenant_id in staff_ids:
            bind.execute(
                links.insert().values(
                    tenant_id=tenant_id, user_id=user_id, role_id=staff_ids[tenant_id]
                )
            )
            held.add((tenant_id, user_id))
    newer_ids = sa.select(roles.c.id).where(roles.c.name.in_(newer))
    bind.execute(links.delete().where(links.c.role_id.in_(newer_ids)))
    bind.execute(roles.delete().where(roles.c.name.in_(newer)))
