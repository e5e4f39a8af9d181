"""A shopper's saved addresses, per shop like everything a shopper owns."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Timestamp
from ..extensions import Model
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped, scoped_fk


class SavedAddress(Model, TenantScoped):
    """One address in a shopper's address book. ``(tenant_id, user_id)`` points at the
    shopper in the same shop: the database refuses a link across shops."""

    __tablename__ = "saved_addresses"
    __scoped_args__ = (
        scoped_fk("user_id", "users"),  # the account goes, its addresses go
        Index("ix_saved_addresses_tenant_id_user_id", "tenant_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    city_area: Mapped[str] = mapped_column(String(100), default="", server_default="")
    city: Mapped[str] = mapped_column(String(100))
    country_area: Mapped[str] = mapped_column(String(100), default="", server_default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="", server_default="")
    sorting_code: Mapped[str] = mapped_column(String(20), default="", server_default="")
    country: Mapped[str] = mapped_column(String(2))
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    # One per shopper (services.set_default keeps it so).
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    def __repr__(self) -> str:
        return f"<SavedAddress {self.id} of user {self.user_id}>"
