"""Gift cards and their ledger: a card's balance moves only together with a movement row,
and each movement carries a key that is unique per shop, so a replayed or raced change
(a checkout retried, a refund submitted twice, a cancel met by an expiry) moves once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ...db import Timestamp
from ...extensions import Model
from ...tenancy.models import utcnow
from ...tenancy.scoping import TenantScoped, scoped_fk

PENDING, ACTIVE, DISABLED = "pending", "active", "disabled"
STATUSES = (PENDING, ACTIVE, DISABLED)
# Where a card comes from: issued by hand in the dashboard or the API, bought as a
# product (active once the order is paid), or made for a refund to store credit.
SOURCES = ("manual", "order", "refund")
# What a movement is: the first balance, a checkout taking from it, a cancelled order
# giving it back, a refund put on it, an owner's correction, the card switched off.
# "revoke": a card bought in an order later cancelled or refunded in full, switched off
# with what it held (paid back with the order, it is no longer the shopper's to spend).
KINDS = ("issue", "redeem", "release", "refund", "adjust", "disable", "revoke")


class GiftCard(Model, TenantScoped):
    __tablename__ = "gift_cards"
    __scoped_args__ = (
        # Lookups by the code's keyed digest only; NULL while a bought card awaits payment.
        Index("uq_gift_cards_tenant_id_code_hash", "tenant_id", "code_hash", unique=True),
        # The dashboard's list walks (tenant_id, id), the unique key every scoped table has,
        # newest first by keyset; its search by the last four walks this one.
        Index("ix_gift_cards_tenant_id_last4", "tenant_id", "last4", "id"),
        # The cards an order bought (made when it is placed, issued when it is paid).
        Index("ix_gift_cards_tenant_id_order_id", "tenant_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str | None] = mapped_column(String(64))  # HMAC-SHA256, hex
    last4: Mapped[str] = mapped_column(String(4), default="")  # shown: "•••• 7KQ2"
    initial: Mapped[int] = mapped_column(Integer)  # minor units
    balance: Mapped[int] = mapped_column(Integer, default=0)  # minor units, never below 0
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    order_id: Mapped[int | None] = mapped_column(Integer)  # the order that bought it
    recipient_email: Mapped[str] = mapped_column(String(255), default="")
    note: Mapped[str] = mapped_column(String(500), default="")  # the owner's, never shown
    locale: Mapped[str | None] = mapped_column(String(16))  # the language its mail speaks
    # The code, encrypted with a key derived from SECRET_KEY, only until its mail is sent.
    sealed_code: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<GiftCard {self.id} …{self.last4}>"


class GiftCardMovement(Model, TenantScoped):
    __tablename__ = "gift_card_movements"
    __scoped_args__ = (
        scoped_fk("card_id", "gift_cards"),
        # The exactly-once guard: "redeem:<order>:<card>", "release:<order>:<card>",
        # "refund:<refund>", "issue:<card>". Inserted before the balance moves.
        Index("uq_gift_card_movements_tenant_id_key", "tenant_id", "key", unique=True),
        Index("ix_gift_card_movements_tenant_id_card_id", "tenant_id", "card_id", "id"),
        Index("ix_gift_card_movements_tenant_id_order_id", "tenant_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Integer)  # signed minor units: + credit, - debit
    balance_after: Mapped[int] = mapped_column(Integer, default=0)
    key: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(Integer)
    refund_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(255), default="")  # staff email, "checkout"
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    def __repr__(self) -> str:
        return f"<GiftCardMovement {self.kind} {self.amount}>"
