"""Sign-ups: the platform's own rows, kept before a shop exists (and after, for the limits).

Not shop-owned (no ``TenantScoped``): a sign-up belongs to no shop until its address is
confirmed, and the abuse limits count sign-ups across the platform by address and network.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Timestamp
from ..extensions import Model
from ..tenancy.models import utcnow

# waiting (mail sent, not confirmed) -> pending (confirmed, the operator approves) ->
# live; or rejected; a waiting row past its link's life is simply expired (checked).
WAITING, PENDING, LIVE, REJECTED = "waiting", "pending", "live", "rejected"


class Signup(Model):
    """One sign-up: who, which shop, from where, and how far it got."""

    __tablename__ = "signups"
    __table_args__ = (
        # The limits: one address's and one network's sign-ups of the last day, newest
        # first, read with a LIMIT (never a count of the table).
        Index("ix_signups_email_created_at", "email", "created_at"),
        Index("ix_signups_network_created_at", "network", "created_at"),
        Index("ix_signups_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    # Flask-Security's hash of the chosen password (the plain one is never stored).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    shop_name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63))
    # The slug while this sign-up holds it (waiting, link alive): unique, so two sign-ups
    # can never hold one name; NULL once the shop exists (tenants.slug holds it then) or
    # the sign-up lapsed.
    slug_hold: Mapped[str | None] = mapped_column(String(63), unique=True)
    locale: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    network: Mapped[str] = mapped_column(String(64))  # 203.0.113.0/24, 2001:db8::/64
    status: Mapped[str] = mapped_column(String(16), default=WAITING)
    nonce: Mapped[str] = mapped_column(String(64))  # sha256 of the link's secret
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    decided_by: Mapped[str] = mapped_column(String(200), default="", server_default="")
    note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    shop_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="SET NULL"), index=True
    )
    # The dashboard's onboarding checklist: shown until the owner dismisses it.
    checklist_dismissed: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )

    def __repr__(self) -> str:
        return f"<Signup {self.id} {self.slug} {self.status}>"


class SignupFailure(Model):
    """A refused sign-up attempt from a network: enough of them start a cooling-off."""

    __tablename__ = "signup_failures"
    __table_args__ = (Index("ix_signup_failures_network_at", "network", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
