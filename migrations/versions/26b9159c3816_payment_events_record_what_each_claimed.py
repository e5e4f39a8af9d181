"""payment events: what each claimed and what came of it

A signed Stripe event is applied only when it is the order's own session for exactly its
total; the others are kept with the reason, for the owner to read. Rows from before were
all handled as before: their outcome reads "applied" with no reason.

Revision ID: 26b9159c3816
Revises: 3e1b7c9d5a20
Create Date: 2026-12-07 12:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '26b9159c3816'
down_revision = '3e1b7c9d5a20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_number', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('reference', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('amount', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('currency', sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column('outcome', sa.String(length=16), server_default='applied', nullable=False)
        )
        batch_op.add_column(
            sa.Column('reason', sa.String(length=32), server_default='', nullable=False)
        )
        batch_op.create_index(
            'ix_payment_events_tenant_id_order_number', ['tenant_id', 'order_number'], unique=False
        )


def downgrade():
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_events_tenant_id_order_number')
        batch_op.drop_column('reason')
        batch_op.drop_column('outcome')
        batch_op.drop_column('currency')
        batch_op.drop_column('amount')
        batch_op.drop_column('reference')
        batch_op.drop_column('order_number')
