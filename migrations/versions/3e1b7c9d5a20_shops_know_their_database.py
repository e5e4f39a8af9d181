"""shops: the database (cluster) holding each shop's rows

Revision ID: 3e1b7c9d5a20
Revises: d38b4d4731e6
Create Date: 2026-12-04 23:25:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3e1b7c9d5a20'
down_revision = 'd38b4d4731e6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('database', sa.String(length=63), server_default='main', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('database')
