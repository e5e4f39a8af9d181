"""indexes for what the first big-shop pass left unserved

(Placeholder in the chain; filled in by the change that needs it.)

Revision ID: f30e6a7b8c06
Revises: e30e5d1f6a05
Create Date: 2026-12-07 19:00:00.000000

"""

revision = "f30e6a7b8c06"
down_revision = "e30e5d1f6a05"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
