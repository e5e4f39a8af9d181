"""exports and imports as jobs with progress

(Placeholder in the chain; filled in by the change that needs it.)

Revision ID: d30e4c2b8f04
Revises: c30e3b9a1d03
Create Date: 2026-12-07 17:50:00.000000

"""

revision = "d30e4c2b8f04"
down_revision = "c30e3b9a1d03"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
