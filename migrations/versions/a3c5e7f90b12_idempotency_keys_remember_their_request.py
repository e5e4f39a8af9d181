"""idempotency keys remember their request: orders and refunds keep its fingerprint

An API checkout or refund stores the SHA-256 of what its Idempotency-Key was first sent
with (method, path, canonical JSON body), so the same key with another body is refused
(422 idempotency_key_reused) instead of answered with the first result. Rows made before
keep NULL: their replays are answered as before (storefront/idempotency.py).

Revision ID: a3c5e7f90b12
Revises: b790e6022d62
Create Date: 2026-12-07 13:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3c5e7f90b12'
down_revision = 'b790e6022d62'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_fingerprint', sa.String(length=64), nullable=True))
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_fingerprint', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_column('request_fingerprint')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('request_fingerprint')
