"""addresses: a shopper's address book, and the lines some countries' addresses have on orders

Revision ID: c8d2e6f1a4b9
Revises: e4c1d2a9b7f3
Create Date: 2026-12-07 15:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c8d2e6f1a4b9'
down_revision = 'e4c1d2a9b7f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('saved_addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('city_area', sa.String(length=100), server_default='', nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('country_area', sa.String(length=100), server_default='', nullable=False),
    sa.Column('postal_code', sa.String(length=20), server_default='', nullable=False),
    sa.Column('sorting_code', sa.String(length=20), server_default='', nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('phone', sa.String(length=40), server_default='', nullable=False),
    sa.Column('is_default', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_saved_addresses_tenant_id_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_saved_addresses_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_addresses')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_saved_addresses_tenant_id_id'))
    )
    op.create_index('ix_saved_addresses_tenant_id_user_id', 'saved_addresses', ['tenant_id', 'user_id', 'id'], unique=False)
    # Older orders keep "" in the new lines: they print as they always did.
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('country_area', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('city_area', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('sorting_code', sa.String(length=20), server_default='', nullable=False))
        batch_op.add_column(sa.Column('phone', sa.String(length=40), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('phone')
        batch_op.drop_column('sorting_code')
        batch_op.drop_column('city_area')
        batch_op.drop_column('country_area')
    # The table takes its index along (MariaDB refuses to drop it alone: the foreign key
    # to users needs it).
    op.drop_table('saved_addresses')
