"""indexes for what the first big-shop pass left unserved

The dashboard's "running low" (orders.reports.running_low) lists a shop's active products
at or under the low-stock threshold, fewest in stock first, then by title: read in the
order of ``(tenant_id, active, stock, title, id)``, it stops after its ten rows instead
of sorting every active product of the shop.

Revision ID: f30e6a7b8c06
Revises: e30e5d1f6a05
Create Date: 2026-12-07 19:00:00.000000

"""

from alembic import op

revision = "f30e6a7b8c06"
down_revision = "e30e5d1f6a05"
branch_labels = None
depends_on = None

INDEX = "ix_products_running_low"


def upgrade() -> None:
    op.create_index(INDEX, "products", ["tenant_id", "active", "stock", "title", "id"])


def downgrade() -> None:
    # No foreign key needs it on InnoDB: the shop's key leads the products' other indexes.
    op.drop_index(INDEX, table_name="products")
