"""passkeys: each account's WebAuthn credentials, and the handle they carry

``webauthn`` keeps the passkeys Flask-Security's WebAuthn feature registers
(accounts.passkeys), one row each: the authenticator's credential id (unique per shop),
the public key, the signature counter, the person's name for it and its use (signing in
on its own, or after the password). Scoped like every shop table: the composite key to
``users`` cannot point into another shop. ``users.fs_webauthn_user_handle`` is the
random id a passkey carries for its account (set at the first registration).

Revision ID: a37b8c9d0e07
Revises: c59d0e1f2a09
Create Date: 2026-12-07 23:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

from storefront.db import KeyBytes, Timestamp

revision = "a37b8c9d0e07"
down_revision = "c59d0e1f2a09"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fs_webauthn_user_handle", sa.String(64), nullable=True))
        batch_op.create_unique_constraint(
            op.f("uq_users_tenant_id_fs_webauthn_user_handle"),
            ["tenant_id", "fs_webauthn_user_handle"],
        )
    op.create_table(
        "webauthn",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("credential_id", KeyBytes(length=1024), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.Integer(), nullable=False),
        sa.Column("transports", sa.UnicodeText(), nullable=True),
        sa.Column("backup_state", sa.Boolean(), nullable=False),
        sa.Column("device_type", sa.String(length=64), nullable=False),
        sa.Column("extensions", sa.String(length=255), nullable=True),
        sa.Column("usage", sa.String(length=64), nullable=False),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("lastuse_datetime", Timestamp(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_webauthn_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_webauthn_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webauthn")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_webauthn_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id", "credential_id", name=op.f("uq_webauthn_tenant_id_credential_id")
        ),
        sa.UniqueConstraint(
            "tenant_id", "user_id", "name", name=op.f("uq_webauthn_tenant_id_user_id_name")
        ),
    )


def downgrade() -> None:
    op.drop_table("webauthn")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("uq_users_tenant_id_fs_webauthn_user_handle"), type_="unique"
        )
        batch_op.drop_column("fs_webauthn_user_handle")
