"""The audit trail's tables: one append-only row per recorded transaction and shop, and
one chain head per shop that every writer locks (docs/decisions.md, "The audit trail")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import LongText, Timestamp
from ..extensions import Model
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped

GENESIS = "0" * 64  # the previous hash of a shop's first entry


class AuditEntry(Model, TenantScoped):
    """What one transaction changed in one shop, who did it, when and from where.

    ``seq`` counts a shop's entries from 1 without gaps; ``prev_hash`` is the hash of
    entry ``seq - 1`` (or of the last pruned one, see ``CHECKPOINT``); ``hash`` covers
    the plain columns and the sealed digests of ``body`` (``chain.entry_hash``)."""

    __tablename__ = "audit_entries"
    __scoped_args__ = (
        UniqueConstraint("tenant_id", "seq"),
        Index("ix_audit_entries_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # user, api_key, operator, system, payment, guest
    actor_kind: Mapped[str] = mapped_column(String(16))
    # the account's or key's id, the command, the job: never a name (that is sealed)
    actor_id: Mapped[str] = mapped_column(String(100), default="")
    # dashboard, api, storefront, cli, job, payment, system
    source: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str] = mapped_column(String(64), default="")
    # ",products,variants,": the resource types it touched, for the filter
    resources: Mapped[str] = mapped_column(String(255), default="")
    body: Mapped[str] = mapped_column(LongText)  # JSON, see chain.py
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditEntry {self.seq} {self.actor_kind}:{self.actor_id} {self.resources}>"


class AuditHead(Model, TenantScoped):
    """A shop's chain head: the last entry's ``seq`` and ``hash``. Writers lock this row
    (``SELECT ... FOR UPDATE``) so two transactions can never append to the same
    predecessor; ``verify`` checks that the last entry is the head (a cut tail shows)."""

    __tablename__ = "audit_heads"
    __scoped_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS)

    def __repr__(self) -> str:
        return f"<AuditHead {self.seq}>"
