"""A shop's home page sections, and the addresses its newsletter sign-up collected."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Timestamp
from ..extensions import Model
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped


class HomeSection(Model, TenantScoped):
    """One section of the shop's home page, at ``position`` (ascending).

    ``settings`` holds what every language shares (a picture, a link, products, a
    category); ``texts`` what a shopper reads, per locale (``{"fr_FR": {"heading": …}}``),
    the shop's default locale's standing in for a missing one. Both are validated against
    ``schemas.KINDS[kind]`` whenever they are written and whenever a page reads them.
    """

    __tablename__ = "home_sections"
    __scoped_args__ = (
        # The page reads a shop's sections in order: one index range.
        Index("ix_home_sections_order", "tenant_id", "position", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(30))
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    texts: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<HomeSection {self.id} {self.kind}@{self.position}>"


class NewsletterSignup(Model, TenantScoped):
    """An address a shopper left in the home page's newsletter sign-up (once per shop)."""

    __tablename__ = "newsletter_signups"
    __scoped_args__ = (UniqueConstraint("tenant_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    def __repr__(self) -> str:
        return f"<NewsletterSignup {self.id}>"
