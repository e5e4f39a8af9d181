"""users: a second factor (an authenticator app's TOTP secret and recovery codes)

Flask-Security's two-factor feature keeps them on the account: the method, the TOTP
secret and the recovery codes, the last two encrypted with keys derived from the
installation's SECRET_KEY (accounts.second_factor). Every account starts without one.

Revision ID: e35f6a7b8c05
Revises: d34e5f6a7b04
Create Date: 2026-12-07 21:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "e35f6a7b8c05"
down_revision = "d34e5f6a7b04"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("tf_primary_method", sa.String(64), nullable=True))
        batch.add_column(sa.Column("tf_totp_secret", sa.String(255), nullable=True))
        batch.add_column(sa.Column("tf_phone_number", sa.String(128), nullable=True))
        batch.add_column(sa.Column("mf_recovery_codes", sa.UnicodeText(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        for column in (
            "mf_recovery_codes",
            "tf_phone_number",
            "tf_totp_secret",
            "tf_primary_method",
        ):
            batch.drop_column(column)
