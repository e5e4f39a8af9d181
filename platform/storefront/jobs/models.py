"""Which periodic task ran for which shop in which period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Timestamp
from ..extensions import Model
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped


class PeriodicRun(Model, TenantScoped):
    __tablename__ = "periodic_runs"
    __scoped_args__ = (UniqueConstraint("tenant_id", "task", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(64))
    period: Mapped[int] = mapped_column(Integer)  # unix time // the task's interval
    ran_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
