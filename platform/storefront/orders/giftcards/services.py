"""Gift cards: issue, look up, take from and give back, each balance change exactly once.

The discipline is the stock's and the discount uses': a balance only moves by one
conditional UPDATE (``balance = balance - :x WHERE id = :id AND balance >= :x`` for a
debit), in the same transaction as a ledger row whose key is unique per shop. Two
checkouts spending one card at once: one UPDATE changes the row, the other changes
nothing and its checkout is refused (nothing placed). A checkout retried, a refund
submitted twice, a cancel met by an expiry: the second finds the key's movement (or
fails on its unique index and rolls back) and moves nothing. Services flush; the caller
commits (``db.unit_of_work``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from ...catalog.money import shop_currency, shop_money
from ...extensions import db
from ...i18n import current_locale
from ...problems import Conflict, Refused
from ...tenancy.models import utcnow
from ..models import Order
from . import codes
from .models import ACTIVE, DISABLED, PENDING, GiftCard, GiftCardMovement

MAX_AMOUNT = 100_000_000  # minor units: a million in a two-decimal currency
PAGE = 50


class GiftCardError(Refused):
    """A code or card that cannot be used (or made); the message says why, to a person."""

    code = Conflict.GIFT_CARD_NOT_APPLICABLE


class GuessLimited(GiftCardError):
    """Too many wrong codes from this client or at this shop: try again later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(_("Too many gift card codes were tried: please wait and try again."))
        self.retry_after = retry_after


# Looking up ---------------------------------------------------------------------------


def find_usable(text: str) -> GiftCard:
    """The active card ``text`` names at the bound shop, with a balance; ``GiftCardError``
    saying why not (``GuessLimited`` over the guessing limit). A well-formed code that
    names no card counts as a guess."""
    code = codes.normalize(text)
    if not codes.well_formed(code):
        raise GiftCardError(_("A gift card code has 16 letters and digits."))
    try:
        codes.check_guessing()
    except codes.TooManyGuesses as exc:
        raise GuessLimited(exc.retry_after) from None
    card = db.session.scalar(select(GiftCard).where(GiftCard.code_hash == codes.digest(code)))
    if card is None:
        codes.count_wrong_guess()
        raise GiftCardError(_("This gift card code is not valid."))
    if card.status != ACTIVE or card.currency != shop_currency():
        raise GiftCardError(_("This gift card cannot be used any more."))
    if card.balance <= 0:
        raise GiftCardError(_("This gift card has no balance left."))
    return card


def card_by_id(card_id: int) -> GiftCard | None:
    return db.session.get(GiftCard, card_id) if 0 < card_id < 2**31 else None


@dataclass(frozen=True)
class Page:
    cards: list[GiftCard]
    next_before: int | None  # the id to pass as ``before`` for the next page


def list_cards(before: int | None = None, last4: str = "", limit: int = PAGE) -> Page:
    """The bound shop's cards, newest first, a page at a time (keyset on the id); with
    ``last4``, those whose code ends so."""
    stmt = select(GiftCard).where(GiftCard.status != PENDING)
    ending = codes.normalize(last4)[-4:]
    if ending:
        stmt = stmt.where(GiftCard.last4 == ending)
    if before is not None:
        stmt = stmt.where(GiftCard.id < before)
    rows = list(db.session.scalars(stmt.order_by(GiftCard.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].id if more and rows else None)


def movements_of(card: GiftCard, limit: int = 1000) -> list[GiftCardMovement]:
    """A card's ledger, oldest first."""
    return list(
        db.session.scalars(
            select(GiftCardMovement)
            .where(GiftCardMovement.card_id == card.id)
            .order_by(GiftCardMovement.id)
            .limit(limit)
        )
    )


def movements_after(card: GiftCard, after: int | None, limit: int) -> list[GiftCardMovement]:
    stmt = select(GiftCardMovement).where(GiftCardMovement.card_id == card.id)
    if after is not None:
        stmt = stmt.where(GiftCardMovement.id > after)
    return list(db.session.scalars(stmt.order_by(GiftCardMovement.id).limit(limit)))


def redeemed_for(order: Order) -> list[tuple[GiftCardMovement, str]]:
    """The cards ``order`` was (partly) paid with: each redemption and its card's last
    four (one query; none for an order that used no card)."""
    if not order.gift_card_amount:
        return []
    rows = db.session.execute(
        select(GiftCardMovement, GiftCard.last4)
        .join(GiftCard, GiftCard.id == GiftCardMovement.card_id)
        .where(GiftCardMovement.order_id == order.id, GiftCardMovement.kind == "redeem")
        .order_by(GiftCardMovement.id)
    ).all()
    return [(movement, last4) for movement, last4 in rows]


# Moving money ---------------------------------------------------------------------------


def _move(
    card_id: int,
    kind: str,
    amount: int,
    key: str,
    *,
    order_id: int | None = None,
    refund_id: int | None = None,
    actor: str = "",
) -> GiftCardMovement | None:
    """Move ``amount`` (signed) on the card, once per ``key``: None when the key's
    movement exists already. A debit only while the card is active and holds enough:
    ``GiftCardError`` otherwise (the caller's transaction rolls back). A racing twin of
    the same key fails at the movement's unique index (the caller rolls back)."""
    key = key[:64]
    if db.session.scalar(select(GiftCardMovement.id).where(GiftCardMovement.key == key)):
        return None
    stmt = update(GiftCard).where(GiftCard.id == card_id)
    if amount < 0:
        stmt = stmt.where(GiftCard.status == ACTIVE, GiftCard.balance >= -amount)
    moved = db.session.execute(
        stmt.values(balance=GiftCard.balance + amount, updated_at=utcnow()).execution_options(
            synchronize_session=False
        )
    ).rowcount  # type: ignore[attr-defined]
    if moved != 1:
        raise GiftCardError(
            _("The gift card's balance changed while you were checking out: check the total.")
        )
    after = int(db.session.scalar(select(GiftCard.balance).where(GiftCard.id == card_id)) or 0)
    row = GiftCardMovement(
        card_id=card_id,
        kind=kind,
        amount=amount,
        balance_after=after,
        key=key,
        order_id=order_id,
        refund_id=refund_id,
        actor=actor[:255],
    )
    db.session.add(row)
    db.session.flush()
    _refresh(card_id)
    return row


def _refresh(card_id: int) -> None:
    """Loaded copies of the card read the balance the UPDATE wrote."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, GiftCard) and obj.id == card_id:
            db.session.expire(obj, ["balance", "status", "updated_at"])


def redeem(card: GiftCard, order: Order, amount: int) -> GiftCardMovement:
    """Take ``amount`` from ``card`` for ``order`` (placed, flushed), or raise
    ``GiftCardError`` when the card no longer holds it."""
    if amount < 1:
        raise GiftCardError(_("This gift card has no balance left."))
    row = _move(card.id, "redeem", -amount, f"redeem:{order.id}:{card.id}", order_id=order.id)
    if row is None:  # the same order cannot take twice
        raise GiftCardError(_("This gift card is already used for this order."))
    return row


def release_for_order(order: Order, actor: str = "") -> int:
    """A cancelled order: what it took from cards goes back, once however often this
    runs; cards it bought and that were never paid are switched off. Returns the amount
    given back."""
    back = 0
    redeemed = db.session.scalars(
        select(GiftCardMovement).where(
            GiftCardMovement.order_id == order.id, GiftCardMovement.kind == "redeem"
        )
    ).all()
    for movement in redeemed:
        key = f"release:{order.id}:{movement.card_id}"
        if _move(
            movement.card_id, "release", -movement.amount, key, order_id=order.id, actor=actor
        ):
            back += -movement.amount
    db.session.execute(
        update(GiftCard)
        .where(GiftCard.order_id == order.id, GiftCard.status == PENDING)
        .values(status=DISABLED, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return back


def revoke_for_order(order: Order, actor: str = "") -> int:
    """An order cancelled or refunded in full after its cards were issued: each card it
    bought is switched off and what it still holds taken off (the buyer has the money
    back), with a "revoke" movement, once however often this runs. A card spent since
    keeps its movements; only what is left goes. Returns how many cards were revoked."""
    revoked = 0
    cards = db.session.scalars(
        select(GiftCard.id)
        .where(GiftCard.order_id == order.id, GiftCard.status == ACTIVE)
        .order_by(GiftCard.id)
        .limit(1000)  # an order's units: bounded by the cart's quantity limit
    ).all()
    for card_id in cards:
        # Locked, then moved only from the balance read: a checkout taking from the card
        # meanwhile waits, then finds it off.
        balance = db.session.scalar(
            select(GiftCard.balance)
            .where(GiftCard.id == card_id, GiftCard.status == ACTIVE)
            .with_for_update()
        )
        if balance is None:
            continue
        moved = db.session.execute(
            update(GiftCard)
            .where(GiftCard.id == card_id, GiftCard.status == ACTIVE, GiftCard.balance == balance)
            .values(status=DISABLED, balance=0, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if moved != 1:
            continue
        db.session.add(
            GiftCardMovement(
                card_id=card_id,
                kind="revoke",
                amount=-balance,
                balance_after=0,
                key=f"revoke:{order.id}:{card_id}",
                order_id=order.id,
                actor=actor[:255],
            )
        )
        db.session.flush()
        _refresh(card_id)
        revoked += 1
    return revoked


def refunded_to_cards(order: Order) -> int:
    """What of ``order`` has been refunded onto gift cards so far."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(GiftCardMovement.amount), 0)).where(
            GiftCardMovement.order_id == order.id, GiftCardMovement.kind == "refund"
        )
    )
    return int(total or 0)


def refund_to_card(order: Order, refund_id: int, amount: int, actor: str = "") -> GiftCard:
    """Put a refund of ``order`` on a gift card: the card the order was paid with (the
    first, if several), else a new card for the order's address (its code is mailed).
    Once per refund (its id is the movement's key)."""
    first = db.session.scalar(
        select(GiftCardMovement.card_id)
        .where(GiftCardMovement.order_id == order.id, GiftCardMovement.kind == "redeem")
        .order_by(GiftCardMovement.id)
        .limit(1)
    )
    card = db.session.get(GiftCard, first) if first is not None else None
    if card is None:
        card, _code = _new_card(
            0,
            source="refund",
            recipient=order.email,
            locale=order.locale,
            order_id=order.id,
            currency=order.currency,
            initial=amount,
        )
        _queue_mail(card)
    _move(
        card.id,
        "refund",
        amount,
        f"refund:{refund_id}",
        order_id=order.id,
        refund_id=refund_id,
        actor=actor,
    )
    return card


# Issuing --------------------------------------------------------------------------------


def _new_card(
    balance_from_issue: int,
    *,
    source: str,
    recipient: str,
    locale: str | None,
    note: str = "",
    order_id: int | None = None,
    currency: str | None = None,
    initial: int | None = None,
) -> tuple[GiftCard, str]:
    code = codes.new_code()
    card = GiftCard(
        code_hash=codes.digest(code),
        last4=codes.last4(code),
        initial=initial if initial is not None else balance_from_issue,
        balance=0,
        currency=currency or shop_currency(),
        status=ACTIVE,
        source=source,
        order_id=order_id,
        recipient_email=(recipient or "").strip()[:255],
        note=(note or "").strip()[:500],
        locale=locale,
        sealed_code=codes.seal(code) if recipient else None,
    )
    db.session.add(card)
    db.session.flush()
    return card, code


def issue(
    amount: int,
    *,
    recipient: str = "",
    note: str = "",
    actor: str = "",
    locale: str | None = None,
    key: str | None = None,
) -> tuple[GiftCard, str]:
    """A new active card worth ``amount`` (minor units, the shop's currency), issued by
    hand. Returns the card and its code, shown this once; with a ``recipient`` the code
    is also mailed to them (in ``locale``, else the shop's language). ``key``: the issue
    movement's key (an API request's), so a racing retry of it fails at flush."""
    if not 1 <= amount <= MAX_AMOUNT:
        raise GiftCardError(
            _(
                "A gift card is worth more than nothing and at most %(max)s.",
                max=shop_money(MAX_AMOUNT),
            )
        )
    card, code = _new_card(amount, source="manual", recipient=recipient, locale=locale, note=note)
    if _move(card.id, "issue", amount, key or f"issue:{card.id}", actor=actor) is None:
        raise GiftCardError(_("This gift card was issued already."))
    if recipient:
        _queue_mail(card)
    return card, codes.display(codes.normalize(code))


def reserve_for_order(order: Order, unit_price: int, quantity: int, recipient: str) -> None:
    """Cards a gift card line of ``order`` buys: made now, without a code, and issued
    when the order is paid (``issue_for_order``)."""
    for _n in range(quantity):
        db.session.add(
            GiftCard(
                code_hash=None,
                last4="",
                initial=unit_price,
                balance=0,
                currency=order.currency,
                status=PENDING,
                source="order",
                order_id=order.id,
                recipient_email=(recipient or order.email).strip()[:255],
                locale=current_locale(),
            )
        )
    db.session.flush()


def issue_for_order(order: Order) -> int:
    """The order is paid: each card it bought gets its code and balance, once (a
    conditional UPDATE on the card's pending status), and its mail. Returns how many."""
    issued = 0
    pending = db.session.scalars(
        select(GiftCard).where(GiftCard.order_id == order.id, GiftCard.status == PENDING)
    ).all()
    for card in pending:
        code = codes.new_code()
        moved = db.session.execute(
            update(GiftCard)
            .where(GiftCard.id == card.id, GiftCard.status == PENDING)
            .values(
                status=ACTIVE,
                code_hash=codes.digest(code),
                last4=codes.last4(code),
                sealed_code=codes.seal(code),
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if moved != 1:
            continue
        db.session.refresh(card)
        _move(card.id, "issue", card.initial, f"issue:{card.id}", order_id=order.id)
        _queue_mail(card)
        issued += 1
    return issued


def disable(card: GiftCard, actor: str = "") -> bool:
    """Switch the card off: no checkout can take from it any more (what it holds stays on
    the ledger). True if it was on."""
    moved = db.session.execute(
        update(GiftCard)
        .where(GiftCard.id == card.id, GiftCard.status == ACTIVE)
        .values(status=DISABLED, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if moved == 1:
        db.session.add(
            GiftCardMovement(
                card_id=card.id,
                kind="disable",
                amount=0,
                balance_after=card.balance,
                key=f"disable:{card.id}:{secrets.token_hex(8)}",
                actor=actor[:255],
            )
        )
    db.session.flush()
    db.session.refresh(card)
    return moved == 1


def _queue_mail(card: GiftCard) -> None:
    from .mail import send_card_mail  # mail renders with themes: imported when needed

    send_card_mail(card)


def summary_amount(card: GiftCard | None, total: int) -> int:
    """What ``card`` covers of ``total``: all of it, or its balance."""
    return min(card.balance, total) if card is not None else 0


def card_view_rows(cards: Sequence[GiftCard]) -> list[dict[str, Any]]:
    """Cards as the dashboard lists them."""
    return [
        {
            "card": card,
            "initial": shop_money(card.initial, card.currency),
            "balance": shop_money(card.balance, card.currency),
        }
        for card in cards
    ]
