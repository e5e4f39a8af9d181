"""indexes for the catalog's sort orders and listings

(Placeholder in the chain; filled in by the change that needs it.)

Revision ID: b30e2a7d4c02
Revises: a30e1f0c5e01
Create Date: 2026-12-07 17:50:00.000000

"""

revision = "b30e2a7d4c02"
down_revision = "a30e1f0c5e01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
