"""discount redemptions: one customer per address as the limit means it

Per-customer limits counted NFKC-lower-cased addresses, so ``a+x@ex.com``, ``A@EX.COM``
and an address with a Cyrillic ``ѕ`` were new customers each (issue 29). Redemptions now
store ``customer_key`` (case-folded, UTS #39 skeleton, ``+tag`` dropped) in the same
column, under the same unique index; this recomputes the key of the rows already there
and renumbers each customer's uses of a code in the order they were made, so a customer
who had used a code under several spellings has used it that many times. No schema
change.

Revision ID: b790e6022d62
Revises: 26b9159c3816
Create Date: 2026-12-07 12:20:00.000000

"""
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = 'b790e6022d62'
down_revision = '26b9159c3816'
branch_labels = None
depends_on = None

redemptions = sa.table(
    'discount_redemptions',
    sa.column('id', sa.Integer),
    sa.column('tenant_id', sa.Integer),
    sa.column('code_id', sa.Integer),
    sa.column('customer', sa.String),
    sa.column('sequence', sa.Integer),
)


def upgrade():
    from storefront.orders.discounts import customer_key

    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            redemptions.c.id,
            redemptions.c.tenant_id,
            redemptions.c.code_id,
            redemptions.c.customer,
            redemptions.c.sequence,
        ).order_by(redemptions.c.id)
    ).all()
    taken = defaultdict(int)
    moves = []
    for row_id, tenant_id, code_id, customer, sequence in rows:
        key = customer_key(customer)
        taken[tenant_id, code_id, key] += 1
        final = (key, taken[tenant_id, code_id, key])
        if final != (customer, sequence):
            moves.append((row_id, final))
    # Two passes under the unique (tenant, code, customer, sequence) index: moving rows
    # first step aside to a sequence no row has (minus their id), then take their place.
    for row_id, _final in moves:
        bind.execute(
            redemptions.update().where(redemptions.c.id == row_id).values(sequence=-row_id)
        )
    for row_id, (key, sequence) in moves:
        bind.execute(
            redemptions.update()
            .where(redemptions.c.id == row_id)
            .values(customer=key, sequence=sequence)
        )


def downgrade():
    # Nothing to undo in the schema; the spellings folded together are gone, so the keys
    # stay, and the older code (which counts lower-cased addresses) no longer counts the
    # uses made before the downgrade against anyone's limit.
    pass
