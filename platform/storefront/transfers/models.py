"""A shop's long exports and imports, and how far each has come."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Timestamp
from ..extensions import Model
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped

EXPORT, IMPORT = "export", "import"
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
FINISHED = (DONE, FAILED)


class Transfer(Model, TenantScoped):
    """One export or import of one shop, run as a job.

    ``busy`` is 1 while the transfer is queued or running and NULL once it has finished:
    the unique key on ``(tenant_id, busy)`` lets each shop have one unfinished transfer
    at a time, enforced by the database even when two requests race (NULLs never clash).
    """

    __tablename__ = "transfers"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "busy"),
        Index("ix_transfers_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # export, import
    subject: Mapped[str] = mapped_column(String(16))  # orders, catalog
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    busy: Mapped[int | None] = mapped_column(Integer, default=1)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)  # None until known
    message: Mapped[str] = mapped_column(Text, default="")
    # What the job was asked for ({"status": "paid"}) and, for an import, what it made of
    # the file ({"created": 3, "updated": 1, "refused": [[12, "price: …"]], "through": 40}).
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    file_key: Mapped[str | None] = mapped_column(String(512))  # in the shop's storage
    filename: Mapped[str] = mapped_column(String(200), default="")
    requested_by: Mapped[int | None] = mapped_column(Integer)  # a user id, kept as a number
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(Timestamp)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Moved at every batch: a running transfer whose heartbeat stops has died.
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    def __repr__(self) -> str:
        return f"<Transfer {self.id} {self.kind} {self.subject} {self.status}>"
