"""per-shop daily sales aggregates

Daily sales, product sales by day and customer totals kept with the orders (so the
dashboard reads figures, not the order book), the moments they move on (``paid_at``,
``cancelled_at``) and the indexes the order listings walk.

Orders from before this step have no record of when they were paid: those whose status
says they were (paid, delivered, refunded; shipped when paid by card) count as paid when
placed. Each shop's figures are then computed by ``orders.aggregates.rebuild_shop`` in
SQL, a batch of orders at a time, by the shop's own calendar days (its tenant.toml
``timezone``; UTC when the shop's folder cannot be read — ``tenantctl report rebuild
<shop>`` recomputes them later).

Revision ID: c30e3b9a1d03
Revises: b30e2a7d4c02
Create Date: 2026-12-07 17:50:00.000000

"""

import logging

import sqlalchemy as sa
from alembic import op

from storefront.db import Identifier, Timestamp

revision = "c30e3b9a1d03"
down_revision = "b30e2a7d4c02"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

MANUAL = ("bank_transfer", "cash_on_delivery", "manual")  # may ship before they are paid


def _scoped_table(name: str, *columns: sa.Column, unique: tuple[str, ...]) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        *columns,
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f(f"fk_{name}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f(f"uq_{name}_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id", *unique, name=op.f(f"uq_{name}_tenant_id_{'_'.join(unique)}")
        ),
    )


def upgrade():
    _scoped_table(
        "sales_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Integer(), nullable=False),
        sa.Column("refunded", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("cancelled_revenue", sa.Integer(), nullable=False),
        unique=("day", "currency"),
    )
    _scoped_table(
        "product_sales_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sku", Identifier(length=64), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Integer(), nullable=False),
        unique=("day", "sku"),
    )
    _scoped_table(
        "customer_totals",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("spent", sa.Integer(), nullable=False),
        sa.Column("last_order_at", Timestamp(), nullable=True),
        unique=("user_id", "email"),
    )
    with op.batch_alter_table("customer_totals") as batch_op:
        batch_op.create_index(
            "ix_customer_totals_tenant_id_user_id_last", ["tenant_id", "user_id", "last_order_at"]
        )

    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("paid_at", Timestamp(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", Timestamp(), nullable=True))
        # The new ones first: MariaDB keeps an index its foreign keys need until another
        # one leads with the same columns.
        batch_op.create_index("ix_orders_tenant_id_created_at", ["tenant_id", "created_at", "id"])
        batch_op.create_index(
            "ix_orders_tenant_id_email", ["tenant_id", "email", "created_at", "id"]
        )
        batch_op.create_index(
            "ix_orders_tenant_id_status_updated_at", ["tenant_id", "status", "updated_at", "id"]
        )
        batch_op.create_index(
            "ix_orders_tenant_id_user_id_created_at", ["tenant_id", "user_id", "created_at", "id"]
        )
        batch_op.create_index(
            "ix_orders_tenant_id_status_created_at", ["tenant_id", "status", "created_at", "id"]
        )
    with op.batch_alter_table("orders") as batch_op:  # covered by the two above
        batch_op.drop_index("ix_orders_tenant_id_user_id")
        batch_op.drop_index("ix_orders_tenant_id_status")
    with op.batch_alter_table("order_lines") as batch_op:
        batch_op.create_index("ix_order_lines_tenant_id_order_id", ["tenant_id", "order_id"])
    bind = op.get_bind()
    if bind.dialect.name in ("mysql", "mariadb"):  # the one a downgrade made for the key
        fk_index = "fk_order_lines_tenant_id_order_id_orders"
        shown = sa.text("SHOW INDEX FROM order_lines WHERE Key_name = :name")
        if bind.execute(shown.bindparams(name=fk_index)).first():
            op.drop_index(fk_index, table_name="order_lines")

    _backfill()


def _backfill() -> None:
    import pytz

    from storefront.orders.aggregates import rebuild_shop
    from storefront.tenancy.services import tenants_dir
    from storefront.tenancy.settings import load_settings

    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE orders SET paid_at = created_at WHERE status IN ('paid', 'delivered', "
            "'refunded') OR (status = 'shipped' AND payment_method NOT IN :manual)"
        ).bindparams(sa.bindparam("manual", MANUAL, expanding=True))
    )
    shops = bind.execute(
        sa.text("SELECT id, slug FROM tenants WHERE id IN (SELECT DISTINCT tenant_id FROM orders)")
    ).all()
    for tenant_id, slug in shops:
        try:
            zone = pytz.timezone(load_settings(tenants_dir(), slug).timezone)
        except Exception as exc:  # noqa: BLE001 - any unreadable folder: UTC, and say so
            zone = pytz.utc
            log.warning(
                "shop %s: figures by UTC days (%s); run tenantctl report rebuild", slug, exc
            )
        counted = rebuild_shop((bind.execute, bind.dialect.name), tenant_id, zone)
        log.info("shop %s: daily figures from %s orders", slug, counted)


def downgrade():
    if op.get_bind().dialect.name in ("mysql", "mariadb"):
        # MariaDB dropped the index it had made for the foreign key when ours came; one
        # must serve the key before ours can go (errno 1553). Named as it was.
        op.create_index(
            "fk_order_lines_tenant_id_order_id_orders", "order_lines", ["tenant_id", "order_id"]
        )
    with op.batch_alter_table("order_lines") as batch_op:
        batch_op.drop_index("ix_order_lines_tenant_id_order_id")
    with op.batch_alter_table("orders") as batch_op:
        batch_op.create_index("ix_orders_tenant_id_user_id", ["tenant_id", "user_id"])
        batch_op.create_index("ix_orders_tenant_id_status", ["tenant_id", "status"])
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_index("ix_orders_tenant_id_user_id_created_at")
        batch_op.drop_index("ix_orders_tenant_id_status_created_at")
        batch_op.drop_index("ix_orders_tenant_id_status_updated_at")
        batch_op.drop_index("ix_orders_tenant_id_email")
        batch_op.drop_index("ix_orders_tenant_id_created_at")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("paid_at")
    op.drop_table("customer_totals")
    op.drop_table("product_sales_days")
    op.drop_table("sales_days")
