"""Platform tables of billing: each shop's Stripe customer and subscription, and each
Stripe event the platform handled (once). Not scoped to a shop: the platform bills shops,
and a webhook arrives on the platform's address before any shop is known."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Timestamp
from ..extensions import Model
from ..tenancy.models import utcnow


class ShopBilling(Model):
    """One shop's account with the platform's Stripe: ids, and Stripe's last word."""

    __tablename__ = "shop_billing"
    __table_args__ = (
        Index("uq_shop_billing_tenant_id", "tenant_id", unique=True),
        Index("uq_shop_billing_subscription_id", "subscription_id", unique=True),
        Index("uq_shop_billing_customer_id", "customer_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[str | None] = mapped_column(String(100), default=None)
    subscription_id: Mapped[str | None] = mapped_column(String(100), default=None)
    price_id: Mapped[str | None] = mapped_column(String(100), default=None)
    # Stripe's status of the subscription (trialing, active, past_due, canceled, …).
    status: Mapped[str] = mapped_column(String(32), default="")
    trial_end: Mapped[datetime | None] = mapped_column(Timestamp, default=None)
    past_due_since: Mapped[datetime | None] = mapped_column(Timestamp, default=None)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<ShopBilling {self.tenant_id} {self.subscription_id} {self.status}>"


class BillingEvent(Model):
    """A Stripe event on the platform's endpoint: handled at most once (its id is unique),
    and what came of it, for the operator."""

    __tablename__ = "billing_events"
    __table_args__ = (Index("uq_billing_events_event_id", "event_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(64))
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="SET NULL"), default=None, index=True
    )
    outcome: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    def __repr__(self) -> str:
        return f"<BillingEvent {self.event_id} {self.outcome}>"
