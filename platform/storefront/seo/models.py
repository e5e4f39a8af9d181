"""A shop's redirects (an old address answering 301 to its new one) and its robots.txt."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Identifier, LongText, Timestamp
from ..extensions import Model
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped

PATH_MAX = 500


class Redirect(Model, TenantScoped):
    """``old_path`` (a local path, no language prefix) answers 301 to ``new_path``.

    Written when a product's or page's slug changes (``kind`` "slug") or by the owner in
    the dashboard (``kind`` "owner"). Read only when a request would otherwise be a 404.
    """

    __tablename__ = "redirects"
    __scoped_args__ = (UniqueConstraint("tenant_id", "old_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    old_path: Mapped[str] = mapped_column(Identifier(PATH_MAX))
    new_path: Mapped[str] = mapped_column(String(PATH_MAX))
    kind: Mapped[str] = mapped_column(String(8), default="owner")
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    def __repr__(self) -> str:
        return f"<Redirect {self.old_path} -> {self.new_path}>"


class SeoSettings(Model, TenantScoped):
    """The shop's own robots.txt (None or empty: the platform's default)."""

    __tablename__ = "seo_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    robots_txt: Mapped[str | None] = mapped_column(LongText)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)
