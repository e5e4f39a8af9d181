"""The outbox: work a change must cause, written in the change's own transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Timestamp
from ..extensions import Model
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped

PENDING, SENDING, DONE, DEAD = "pending", "sending", "done", "dead"


class OutboxMessage(Model, TenantScoped):
    """One unit of work (a mail today) for one shop; ``dedupe_key`` makes it happen once."""

    __tablename__ = "outbox"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "dedupe_key"),
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        # A shop's failing mails and webhooks, newest first (the dashboard's health panel):
        # a range of one shop's one kind and status, never its whole history.
        Index(
            "ix_outbox_tenant_id_kind_status_created_at",
            "tenant_id",
            "kind",
            "status",
            "created_at",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(160))
    payload: Mapped[str] = mapped_column(Text)  # JSON
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(Timestamp, default=None)
    # The request that queued it (empty outside one): its id and W3C ``traceparent``, so
    # the job's log lines and trace continue that request's.
    request_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    traceparent: Mapped[str] = mapped_column(String(64), default="", server_default="")

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.kind} {self.dedupe_key} {self.status}>"
