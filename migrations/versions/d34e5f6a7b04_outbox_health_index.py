"""outbox: an index for a shop's failing mails and webhook deliveries

The dashboard's overview shows the shop's health: its mails and webhook deliveries that
gave up in the last days or are being retried, newest first. Read in the order of
``(tenant_id, kind, status, created_at, id)`` that is a short range of one shop's rows of
one kind and status, however many mails the shop has sent; the platform-wide
``(status, next_attempt_at)`` index would walk every shop's.

Revision ID: d34e5f6a7b04
Revises: c33d3e4f5a03
Create Date: 2026-12-07 21:40:00.000000

"""

from alembic import op

revision = "d34e5f6a7b04"
down_revision = "c33d3e4f5a03"
branch_labels = None
depends_on = None

INDEX = "ix_outbox_tenant_id_kind_status_created_at"


def upgrade() -> None:
    op.create_index(INDEX, "outbox", ["tenant_id", "kind", "status", "created_at", "id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="outbox")
