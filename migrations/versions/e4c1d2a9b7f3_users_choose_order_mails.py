"""users: each owner or staff member chooses whether to get order mails

Revision ID: e4c1d2a9b7f3
Revises: a3c5e7f90b12
Create Date: 2026-12-07 15:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4c1d2a9b7f3'
down_revision = 'a3c5e7f90b12'
branch_labels = None
depends_on = None


def upgrade():
    # NULL follows the role (the owner gets the mails, staff do not): no row to rewrite.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_mails', sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('order_mails')
