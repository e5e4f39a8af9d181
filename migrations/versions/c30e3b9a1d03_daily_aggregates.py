"""per-shop daily sales aggregates

(Placeholder in the chain; filled in by the change that needs it.)

Revision ID: c30e3b9a1d03
Revises: b30e2a7d4c02
Create Date: 2026-12-07 17:50:00.000000

"""

revision = "c30e3b9a1d03"
down_revision = "b30e2a7d4c02"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
