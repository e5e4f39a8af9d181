"""Platform tables: the shop registry. These are the only tables not scoped to a shop."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
    select,
    true,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Timestamp
from ..extensions import Model


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Tenant(Model):
    __tablename__ = "tenants"
    __table_args__ = (Index("uq_tenants_uid", "uid", unique=True),)

    # Never reused on any database: taken from registry_state.next_tenant_id (see below).
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # A random identity that dies with the shop: cache keys, session signatures and
    # compiled templates are bound to it, so nothing of a deleted shop reaches a new one.
    uid: Mapped[str] = mapped_column(
        String(32), default=lambda: secrets.token_hex(16), server_default=""
    )
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    suspended_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Bumped to drop every cached value of this shop at once (cache keys carry it).
    cache_generation: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # The database (cluster) that holds the shop's rows, by name: this installation serves
    # the shops whose name is its DATABASE_NAME and refuses the others (docs/deploy.md).
    database: Mapped[str] = mapped_column(String(63), default="main", server_default="main")
    # The plan the shop is on, by name in the plans file (storefront.plans); None: the
    # file's default plan, or no limits when there is no file. Here rather than in
    # tenant.toml: billing changes it in a transaction (docs/decisions.md).
    plan: Mapped[str | None] = mapped_column(String(63), default=None)
    # Where the platform's billing of the shop stands (storefront.billing): "" (not
    # billed), trialing, active, past_due (in its grace period), closed (grace over:
    # closed to shoppers), suspended (by the operator, for non-payment) or comped. Here,
    # with ``billing_until`` (the trial's or the grace period's end), because every
    # request reads them through the registry: no query on the hot path.
    billing_state: Mapped[str] = mapped_column(String(16), default="", server_default="")
    billing_until: Mapped[datetime | None] = mapped_column(Timestamp, default=None)

    domains: Mapped[list[Domain]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="Domain.hostname"
    )

    @property
    def primary_domain(self) -> Domain | None:
        return next((d for d in self.domains if d.is_primary), None)

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


SERVING = ("verified", "failing")


class Domain(Model):
    __tablename__ = "domains"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    # Unique across the platform: no two shops can claim one host.
    hostname: Mapped[str] = mapped_column(String(253), unique=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    # pending (added, not proven) | verified | failing (records gone; still served for a
    # grace period) | lapsed (no longer served). Only verified and failing serve a shop.
    status: Mapped[str] = mapped_column(String(16), default="verified", server_default="verified")
    # Set by the operator (`--trust`, or the domains a shop is created with): not checked.
    trusted: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    verify_token: Mapped[str | None] = mapped_column(String(64))
    last_checked_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_check: Mapped[str] = mapped_column(String(300), default="", server_default="")
    failing_since: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    tenant: Mapped[Tenant] = relationship(back_populates="domains")

    @property
    def serves(self) -> bool:
        return self.status in SERVING

    def __repr__(self) -> str:
        return f"<Domain {self.hostname}{' primary' if self.is_primary else ''}>"


class RegistryState(Model):
    """One row: a counter every registry change bumps, so workers know to reload."""

    __tablename__ = "registry_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    # The next shop id. A counter, not the table's auto-increment: SQLite hands a deleted
    # row's id to the next insert, and some MySQL versions reset the counter on restart.
    next_tenant_id: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


@event.listens_for(Tenant, "before_insert")
def _allocate_shop_id(_mapper: Any, connection: Any, tenant: Tenant) -> None:
    """Give a new shop the next id from the counter row (locked until commit)."""
    if tenant.id is not None:
        return
    state = RegistryState.__table__
    moved = connection.execute(
        update(state).where(state.c.id == 1).values(next_tenant_id=state.c.next_tenant_id + 1)
    ).rowcount
    if not moved:
        connection.execute(state.insert().values(id=1, generation=1, next_tenant_id=2))
        tenant.id = 1
        return
    tenant.id = connection.scalar(select(state.c.next_tenant_id).where(state.c.id == 1)) - 1
