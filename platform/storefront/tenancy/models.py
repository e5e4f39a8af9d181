"""Platform tables: the shop registry. These are the only tables not scoped to a shop."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Tenant(Model):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    suspended_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Bumped to drop every cached value of this shop at once (cache keys carry it).
    cache_generation: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    domains: Mapped[list[Domain]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="Domain.hostname"
    )

    @property
    def primary_domain(self) -> Domain | None:
        return next((d for d in self.domains if d.is_primary), None)

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


class Domain(Model):
    __tablename__ = "domains"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    # Unique across the platform: no two shops can claim one host.
    hostname: Mapped[str] = mapped_column(String(253), unique=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    tenant: Mapped[Tenant] = relationship(back_populates="domains")

    def __repr__(self) -> str:
        return f"<Domain {self.hostname}{' primary' if self.is_primary else ''}>"


class RegistryState(Model):
    """One row: a counter every registry change bumps, so workers know to reload."""

    __tablename__ = "registry_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=1)
