"""the languages each shop's search index was stemmed in

A search that finds its shop speaking other languages than its index was built in
queues a rebuild (catalog.search). Existing shops start with an empty row: the first
search records what the index was built with (the migration that built it used the
shop's languages of that day) and rebuilds from then on only when they change.

Revision ID: b33c2d3e4f02
Revises: a33b1c2d3e01
Create Date: 2026-12-07 21:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "b33c2d3e4f02"
down_revision = "a33b1c2d3e01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_state",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("languages", sa.String(120), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_search_state_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_search_state"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("search_state")
