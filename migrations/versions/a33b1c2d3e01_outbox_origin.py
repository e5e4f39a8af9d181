"""outbox rows remember the request that queued them

A job's log lines and trace continue the request that caused it: each outbox row keeps
that request's id and its W3C ``traceparent`` (empty when tracing is off or the row was
queued outside a request: a periodic task, ``tenantctl``).

Revision ID: a33b1c2d3e01
Revises: f30e6a7b8c06
Create Date: 2026-12-07 21:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "a33b1c2d3e01"
down_revision = "f30e6a7b8c06"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("traceparent", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("traceparent")
        batch.drop_column("request_id")
