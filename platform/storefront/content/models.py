"""A shop's content pages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Identifier, LongText, Timestamp
from ..extensions import Model
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped

MAX_BODY = 50_000


class Page(Model, TenantScoped):
    """``/pages/<slug>``: a title and a Markdown body, with both in the shop's other
    locales in ``translations`` (``{"fr_FR": {"title": …, "body": …}}``)."""

    __tablename__ = "pages"
    __scoped_args__ = (UniqueConstraint("tenant_id", "slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # active_history: the old slug is known when it changes, for its redirect (seo).
    slug: Mapped[str] = mapped_column(Identifier(120), active_history=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(LongText, default="")
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    translations: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)
    # What search engines show (storefront.seo); empty: made from the title and body.
    meta_title: Mapped[str | None] = mapped_column(String(200))
    meta_description: Mapped[str | None] = mapped_column(String(320))

    def __repr__(self) -> str:
        return f"<Page {self.slug}>"
