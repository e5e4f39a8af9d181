"""Per-shop users and roles. The same email can hold unrelated accounts in two shops."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask_security import AsaList, RoleMixin, UserMixin, WebAuthnMixin
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy.ext.mutable import MutableList
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship, remote

from ..db import KeyBytes, Timestamp
from ..extensions import Model, db
from ..permissions import CUSTOMER, ROLE_PERMISSIONS, permissions_of, role_permissions
from ..permissions import is_staff as _is_staff
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped, scoped_fk

# The roles every shop has (what each may do: storefront.permissions), with the
# description its row carries.
SHOP_ROLES = {
    "owner": "Runs the shop: everything, including staff, domains, payments and keys",
    "manager": "Runs the daily work: products, orders, customers, discounts, pages",
    "catalog_editor": "Edits the catalog: products, categories, pages",
    "fulfilment": "Ships orders: orders, and products to read",
    "support": "Helps shoppers: reads orders, customers and products",
    "read_only": "Reads the dashboard, changes nothing",
    "customer": "Shops at the storefront",
}

# Scoped like every shop-owned table: the composite keys make a link between a user of
# one shop and a role of another impossible in the database itself.
roles_users = Table(
    "roles_users",
    db.metadata,
    Column("tenant_id", Integer, primary_key=True),
    Column("user_id", Integer, primary_key=True),
    Column("role_id", Integer, primary_key=True),
    ForeignKeyConstraint(
        ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
    ),
    ForeignKeyConstraint(
        ["tenant_id", "role_id"], ["roles.tenant_id", "roles.id"], ondelete="CASCADE"
    ),
    # A role's members (the plan's staff count reads the dashboard roles' links only,
    # not every shopper's customer link).
    Index("ix_roles_users_tenant_id_role_id", "tenant_id", "role_id", "user_id"),
)


class Role(Model, TenantScoped, RoleMixin):
    __tablename__ = "roles"
    __scoped_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(String(255))
    # Flask-Security: comma separated (its mixin declares a list, its datastore stores text).
    permissions: Mapped[str | None] = mapped_column(Text)  # type: ignore[assignment]

    def get_permissions(self) -> set[str]:
        """What the role allows (Flask-Security's ``has_permission`` and
        ``permissions_required`` ask this): the shop's built-in roles are defined in one
        place, ``storefront.permissions``, so no shop's row can drift from them; the
        ``permissions`` column is read only for a role defined nowhere there."""
        if self.name in ROLE_PERMISSIONS or self.name == CUSTOMER:
            return set(role_permissions(self.name))
        return {p.strip() for p in (self.permissions or "").split(",") if p.strip()}

    def __repr__(self) -> str:
        return f"<Role {self.name}>"


class CodeList(AsaList):
    """Flask-Security's list-in-a-text-column, safe in SQLAlchemy's statement cache (it
    holds no state of its own)."""

    cache_ok = True


class User(Model, TenantScoped, UserMixin):
    __tablename__ = "users"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "email"),
        # The shop's retention reads its longest-unseen accounts first (privacy.retention).
        Index("ix_users_tenant_id_last_seen_at", "tenant_id", "last_seen_at", "id"),
        UniqueConstraint("tenant_id", "fs_webauthn_user_handle"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(200))
    password: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Globally unique: it is what sessions, remember cookies and tokens carry.
    fs_uniquifier: Mapped[str] = mapped_column(
        String(64), unique=True, default=lambda: uuid.uuid4().hex
    )
    # What login tokens (the API's Authentication-Token) carry instead: a new one ends
    # every API login of the account (logout, a password change) and leaves its sessions
    # on the shop's pages alone (Flask-Security's fs_token_uniquifier).
    fs_token_uniquifier: Mapped[str] = mapped_column(
        String(64), unique=True, default=lambda: uuid.uuid4().hex
    )
    confirmed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    locale: Mapped[str | None] = mapped_column(String(16))  # the one they registered in
    # A mail for each new and each paid order (owner and staff only): None follows the
    # role (the owner gets them, staff do not); True or False is the person's own choice.
    order_mails: Mapped[bool | None] = mapped_column(Boolean, default=None)
    # The mail inviting a review after a delivery (storefront.reviews): None or True
    # sends it (if the shop does), False is the person's unsubscription.
    review_mails: Mapped[bool | None] = mapped_column(Boolean, default=None)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # Signing in, and a session's first use each day (accounts.sessions).
    last_seen_at: Mapped[datetime | None] = mapped_column(Timestamp, default=utcnow)
    # A second factor, kept by Flask-Security's two-factor feature (accounts.second_factor):
    # the method ("authenticator"), the TOTP secret (encrypted with a key derived from
    # SECRET_KEY) and the recovery codes (encrypted likewise, each usable once).
    tf_primary_method: Mapped[str | None] = mapped_column(String(64), default=None)
    tf_totp_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    tf_phone_number: Mapped[str | None] = mapped_column(String(128), default=None)
    mf_recovery_codes: Mapped[list[str] | None] = mapped_column(
        MutableList.as_mutable(CodeList()), default=None
    )
    # Passkeys (accounts.passkeys): the random handle a passkey carries for its account
    # (WebAuthn's user.id; never the email or the row id), and the account's passkeys.
    fs_webauthn_user_handle: Mapped[str | None] = mapped_column(  # type: ignore[assignment]
        String(64), default=None
    )  # FS: set at the first registration
    webauthn: Mapped[list[WebAuthn]] = relationship(  # type: ignore[assignment]  # FS: its mixin
        primaryjoin=lambda: and_(
            foreign(WebAuthn.user_id) == User.id, WebAuthn.tenant_id == User.tenant_id
        ),
        cascade="all, delete-orphan",
        order_by=lambda: WebAuthn.id,
    )

    roles: Mapped[list[Role]] = relationship(  # type: ignore[assignment]  # FS: RoleMixin
        secondary=roles_users,
        primaryjoin=lambda: and_(
            remote(roles_users.c.user_id) == User.id,
            remote(roles_users.c.tenant_id) == User.tenant_id,
        ),
        secondaryjoin=lambda: and_(
            foreign(roles_users.c.role_id) == Role.id,
            foreign(roles_users.c.tenant_id) == Role.tenant_id,
        ),
        lazy="selectin",
    )

    def check_tf_required(
        self, tf_setup_methods: list[tuple[str, str]], tf_fresh: bool
    ) -> tuple[bool, list[tuple[str, str]]]:
        """Flask-Security's question after the password: a code is asked of everyone who
        set up a second factor, and of staff whose shop or platform requires one (who
        set one up first)."""
        from .second_factor import required_for  # models load before the app's config

        return bool(tf_setup_methods) or required_for(self), tf_setup_methods

    def check_tf_required_setup(self) -> bool:
        from .second_factor import required_for

        return required_for(self)

    @property
    def role_names(self) -> list[str]:
        return sorted(role.name for role in self.roles)

    @property
    def is_staff(self) -> bool:
        """Whether a role of the account opens the dashboard."""
        return _is_staff(role.name for role in self.roles)

    @property
    def permissions(self) -> frozenset[str]:
        """Everything the account's roles allow."""
        return permissions_of(role.name for role in self.roles)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class WebAuthn(Model, TenantScoped, WebAuthnMixin):
    """A passkey (a WebAuthn credential) of one account of one shop, registered through
    Flask-Security's WebAuthn feature (accounts.passkeys).

    Only the public key is stored: the private key never leaves the person's device. The
    credential was made for the shop's own host (its relying party id), so a browser offers
    it nowhere else, and a signature from it verifies only for that host; the lookup by
    credential id is held to the bound shop as well.
    """

    __tablename__ = "webauthn"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "credential_id"),
        UniqueConstraint("tenant_id", "user_id", "name"),
        scoped_fk("user_id", "users"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    # What the person calls it ("Phone", "YubiKey"): unique per account.
    name: Mapped[str] = mapped_column(String(64))
    # The authenticator's id for it (WebAuthn allows up to 1,023 bytes).
    credential_id: Mapped[bytes] = mapped_column(KeyBytes(1024))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE, as registered
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    transports: Mapped[list[str] | None] = mapped_column(
        MutableList.as_mutable(CodeList()), default=None
    )
    backup_state: Mapped[bool] = mapped_column(Boolean, default=False)  # synced passkey
    device_type: Mapped[str] = mapped_column(String(64), default="single_device")
    extensions: Mapped[str | None] = mapped_column(String(255), default=None)
    # "first": signs in on its own; "secondary": asked for after the password.
    usage: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    lastuse_datetime: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    def __repr__(self) -> str:
        return f"<WebAuthn {self.name}>"


class ApiKey(Model, TenantScoped):
    """A long-lived key an integration sends as ``Authorization: Bearer sf_…``.

    Only a SHA-256 of the key is stored (the key is shown once, when made); it acts as
    the staff account that made it, and stops working when revoked, expired, or when that
    account loses every dashboard role or is deactivated; it never does more than that
    account's role allows (``storefront.permissions.key_allowed``).
    """

    __tablename__ = "api_keys"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "key_hash"),
        scoped_fk("user_id", "users"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists, to tell keys apart
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(Timestamp, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp, default=None)
    # What the key may do (``tokens.SCOPES``); None: a key made before scopes, which may
    # do ``tokens.STAFF_SCOPES``.
    scopes: Mapped[list[str] | None] = mapped_column(JSON, default=None)

    user: Mapped[User] = relationship(
        primaryjoin=lambda: and_(
            foreign(ApiKey.user_id) == User.id, ApiKey.tenant_id == User.tenant_id
        ),
        viewonly=True,
    )

    def __repr__(self) -> str:
        return f"<ApiKey {self.prefix} {self.name}>"


class UserSession(Model, TenantScoped):
    """A signed-in browser. The session cookie carries the id; logging out deletes the row,
    so a copy of the cookie taken earlier is worth nothing afterwards."""

    __tablename__ = "user_sessions"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "sid_hash"),
        scoped_fk("user_id", "users"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    sid_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class StaffInvitation(Model, TenantScoped):
    """An owner's invitation to join the shop's staff with a role, pending until it is
    accepted (the row is then deleted), revoked (deleted) or past ``expires_at``.

    The link's token is signed (``accounts.staff``) and names this row, its shop and its
    ``nonce``: a resend draws a new nonce, so the older link dies; the row's deletion kills
    it for good. One pending invitation per address and shop.
    """

    __tablename__ = "staff_invitations"
    __scoped_args__ = (UniqueConstraint("tenant_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(80))
    nonce: Mapped[str] = mapped_column(String(64))
    invited_by: Mapped[int | None] = mapped_column(Integer, default=None)  # a user id
    locale: Mapped[str | None] = mapped_column(String(16), default=None)  # the mail's
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)

    def __repr__(self) -> str:
        return f"<StaffInvitation {self.email} {self.role}>"
