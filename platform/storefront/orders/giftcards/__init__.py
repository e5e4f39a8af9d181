"""Gift cards and store credit: cards sold as products or issued by hand, spent at
checkout for part or all of an order, given back when an unpaid order is cancelled,
refilled by refunds; every balance change is a ledger movement, made exactly once."""

from __future__ import annotations

from typing import Any

from ..signals import order_paid
from . import mail as _mail  # noqa: F401 - registers the outbox handler
from .models import ACTIVE, DISABLED, PENDING, GiftCard, GiftCardMovement
from .services import (
    GiftCardError,
    GuessLimited,
    disable,
    find_usable,
    issue,
    issue_for_order,
    list_cards,
    movements_of,
    redeem,
    redeemed_for,
    refund_to_card,
    refunded_to_cards,
    release_for_order,
    reserve_for_order,
    revoke_for_order,
)

__all__ = [
    "ACTIVE",
    "DISABLED",
    "PENDING",
    "GiftCard",
    "GiftCardError",
    "GiftCardMovement",
    "GuessLimited",
    "disable",
    "find_usable",
    "issue",
    "issue_for_order",
    "list_cards",
    "movements_of",
    "redeem",
    "redeemed_for",
    "refund_to_card",
    "refunded_to_cards",
    "release_for_order",
    "revoke_for_order",
    "reserve_for_order",
]


@order_paid.connect
def _issue_bought_cards(order: Any, **_extra: Any) -> None:
    """A paid order's gift cards get their codes (in the paying transaction)."""
    issue_for_order(order)
