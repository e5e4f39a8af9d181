"""a per-shop search index

(Placeholder in the chain; filled in by the change that needs it.)

Revision ID: a30e1f0c5e01
Revises: 5c56edbf0ab1
Create Date: 2026-12-07 17:50:00.000000

"""

revision = "a30e1f0c5e01"
down_revision = "5c56edbf0ab1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
