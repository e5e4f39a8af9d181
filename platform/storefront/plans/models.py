"""What a shop has used of its plan where no row can be counted: per-day and running totals."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model
from ..tenancy.scoping import TenantScoped


class PlanCounter(Model, TenantScoped):
    """One figure of one shop: ``mails_per_day`` for one UTC day (``day`` YYYYMMDD), or a
    running total such as ``storage_bytes`` (``day`` empty). Moved by a conditional
    UPDATE in the transaction of the change it counts, so it never passes the limit and
    never counts what rolled back."""

    __tablename__ = "plan_counters"
    __scoped_args__ = (UniqueConstraint("tenant_id", "name", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    day: Mapped[str] = mapped_column(String(8), default="")
    value: Mapped[int] = mapped_column(BigInteger, default=0)

    def __repr__(self) -> str:
        return f"<PlanCounter {self.name} {self.day or 'total'} {self.value}>"
