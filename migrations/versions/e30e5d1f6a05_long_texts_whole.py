"""a page's body and a product's description hold what their forms allow, on MariaDB too

MySQL's and MariaDB's ``TEXT`` holds 65,535 bytes: a 50,000-character page body (or a
20,000-character description) in a script of three or four bytes a character did not
fit. ``MEDIUMTEXT`` (storefront.db.LongText) holds 16 MB. Nothing changes on SQLite.

Revision ID: e30e5d1f6a05
Revises: d30e4c2b8f04
Create Date: 2026-12-07 18:30:00.000000

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "e30e5d1f6a05"
down_revision = "d30e4c2b8f04"
branch_labels = None
depends_on = None

COLUMNS = (("pages", "body"), ("products", "description"))


def _mysql() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade() -> None:
    if not _mysql():
        return
    for table, column in COLUMNS:
        op.alter_column(
            table,
            column,
            type_=mysql.MEDIUMTEXT(),
            existing_type=sa.Text(),
            existing_nullable=False,
        )


def downgrade() -> None:
    # Fails (data too long) if a row has grown beyond TEXT since: shorten it first.
    if not _mysql():
        return
    for table, column in COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.Text(),
            existing_type=mysql.MEDIUMTEXT(),
            existing_nullable=False,
        )
