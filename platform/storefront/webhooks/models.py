"""A shop's webhook endpoints. Each delivery is an outbox row (kind ``webhook``): its
attempts, last error and status are the delivery log."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Timestamp
from ..extensions import Model
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped

EVENTS = (
    "order.created",
    "order.paid",
    "order.shipped",
    "order.delivered",
    "order.cancelled",
    "order.refunded",
    "product.created",
    "product.updated",
    "product.deleted",
)


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes one: ``whsec_`` and 24 random bytes in
    base64, which receivers' libraries decode to the HMAC key."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class WebhookEndpoint(Model, TenantScoped):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    # Signs every delivery (HMAC-SHA256); shown to the owner, never in exports or logs.
    secret: Mapped[str] = mapped_column(String(64), default=new_secret)
    events: Mapped[str] = mapped_column(Text)  # space-separated event names
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Deliveries that gave up in a row; at DISABLE_AFTER the endpoint is switched off.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    @property
    def event_list(self) -> list[str]:
        return self.events.split()

    def __repr__(self) -> str:
        return f"<WebhookEndpoint {self.url}>"
