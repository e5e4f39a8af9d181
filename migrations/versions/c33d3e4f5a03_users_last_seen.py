"""users: when each account was last seen, for the shop's retention of inactive accounts

Set at sign-in and at most once a day while a session is used; an account unseen for the
period its shop sets (``[privacy] inactive_account_days``) is erased by the daily
retention task, which reads the oldest first from the index. Existing accounts start at
their creation.

Revision ID: c33d3e4f5a03
Revises: b33c2d3e4f02
Create Date: 2026-12-07 21:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

from storefront.db import Timestamp

revision = "c33d3e4f5a03"
down_revision = "b33c2d3e4f02"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("last_seen_at", Timestamp(), nullable=True))
    op.execute("UPDATE users SET last_seen_at = created_at")
    op.create_index("ix_users_tenant_id_last_seen_at", "users", ["tenant_id", "last_seen_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_users_tenant_id_last_seen_at", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_seen_at")
