"""exports and imports as jobs with progress

Revision ID: d30e4c2b8f04
Revises: c30e3b9a1d03
Create Date: 2026-12-07 17:50:00.000000

"""

from alembic import op
import sqlalchemy as sa

from sqlalchemy.dialects import mysql

# A moment in UTC with its microseconds (storefront.db.Timestamp): DATETIME(6) on MariaDB.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision = "d30e4c2b8f04"
down_revision = "c30e3b9a1d03"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("busy", sa.Integer(), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("file_key", sa.String(length=512), nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("started_at", Timestamp, nullable=True),
        sa.Column("finished_at", Timestamp, nullable=True),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_transfers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_transfers_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "busy", name=op.f("uq_transfers_tenant_id_busy")),
    )
    op.create_index(
        "ix_transfers_tenant_id_created_at", "transfers", ["tenant_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_transfers_tenant_id_created_at", table_name="transfers")
    op.drop_table("transfers")
