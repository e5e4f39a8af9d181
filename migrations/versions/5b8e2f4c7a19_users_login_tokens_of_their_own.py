"""users: login tokens carry a uniquifier of their own (API logout ends them alone)

Revision ID: 5b8e2f4c7a19
Revises: c8d2e6f1a4b9
Create Date: 2026-12-07 16:10:00.000000

"""
import uuid

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b8e2f4c7a19'
down_revision = 'c8d2e6f1a4b9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fs_token_uniquifier', sa.String(length=64), nullable=True))
    # A value of its own for every account (Flask-Security refuses to make a token
    # without one). Tokens made before this name the account by fs_uniquifier, which
    # Flask-Security still accepts: they live out their day.
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('fs_token_uniquifier'))
    bind = op.get_bind()
    ids = bind.execute(sa.select(users.c.id)).scalars().all()
    for user_id in ids:
        bind.execute(
            users.update().where(users.c.id == user_id).values(fs_token_uniquifier=uuid.uuid4().hex)
        )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column(
            'fs_token_uniquifier', existing_type=sa.String(length=64), nullable=False
        )
        batch_op.create_unique_constraint(
            batch_op.f('uq_users_fs_token_uniquifier'), ['fs_token_uniquifier']
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_fs_token_uniquifier'), type_='unique')
        batch_op.drop_column('fs_token_uniquifier')
