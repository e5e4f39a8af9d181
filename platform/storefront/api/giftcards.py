"""Gift cards in the API: a shopper tries a code on the cart (``POST /cart/gift-card``;
checkout takes it as ``gift_card_code``), and staff list cards, read a card's movements,
issue a card and switch one off (``/admin/gift-cards``). The rules are the dashboard's
and checkout's (``orders.giftcards``); wrong codes count against the guessing limit
(429 with Retry-After past it)."""

from __future__ import annotations

import hashlib
import re

from flask import Blueprint, Response, g, jsonify, request
from flask_babel import gettext as _
from flask_security import current_user
from sqlalchemy import select

from ..cart import services as cart_services
from ..db import unit_of_work
from ..extensions import csrf, db
from ..orders import giftcards
from ..orders.checkout import GiftCardRefused, usable_gift_card
from ..orders.giftcards.models import GiftCardMovement
from ..orders.giftcards.services import card_by_id, movements_after
from ..orders.models import Order
from ..orders.views_model import checkout_summary
from ..problems import Conflict
from . import serializers as out
from .access import requires_scope
from .admin import staff
from .contract import (
    CART_TOKEN,
    HEADER_STRING,
    envelope,
    in_query,
    init_contract,
    operation,
    page_of,
    param,
    ref,
)
from .errors import ApiError, body, init_api_errors, refused
from .http import limit_arg
from .idempotency import KEY, replayed
from .schemas import GiftCardCheckIn, GiftCardIn

bp = Blueprint("api_giftcards", __name__, url_prefix="/api/v1/cart/gift-card")
csrf.exempt(bp)
init_api_errors(bp)
init_contract(bp)

admin_bp = Blueprint("api_admin_giftcards", __name__, url_prefix="/api/v1/admin/gift-cards")
csrf.exempt(admin_bp)
init_api_errors(admin_bp)
init_contract(admin_bp)

ID_CURSOR = {"type": "string", "pattern": "^[0-9]{1,10}$"}
ISSUE_KEY = param(
    "Idempotency-Key",
    "header",
    {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"},
    "A new random value per card; a retry with the same key answers the card the first "
    "request issued (Idempotent-Replayed: true, code null: a code is shown once).",
)


def _refused_card(exc: GiftCardRefused) -> ApiError:
    if exc.retry_after:
        g.rate_headers = {**g.get("rate_headers", {}), "Retry-After": str(exc.retry_after)}
        return ApiError(429, str(exc))
    return refused(exc)


@bp.post("")
@operation(
    "checkGiftCard",
    "checkout",
    "What a gift card would pay of the cart's total",
    ok=(200, envelope(ref("GiftCardCheck")), "The card's balance and what it covers"),
    description="Tries the code on the cart of X-Cart-Token (or the signed-in account) "
    "for the country (and discount code): its balance, what it pays of the total, and "
    "what is left to pay. Send it at checkout as gift_card_code, with expected_total the "
    "amount_due. An unknown, switched-off or empty card is a 409 "
    "gift_card_not_applicable; wrong codes are limited per client and per shop (429).",
    body=GiftCardCheckIn,
    params=[CART_TOKEN],
    errors=(409,),
)
@requires_scope("cart:read", anonymous=True)
def check() -> Response:
    data = body(GiftCardCheckIn)
    cart = cart_services.current_cart()
    if cart is None or not cart.items:
        raise ApiError(409, _("Your cart is empty."), code=Conflict.CART_EMPTY)
    try:
        card = usable_gift_card(data.code)
    except GiftCardRefused as exc:
        raise _refused_card(exc) from None
    if card is None:  # only blanks were sent
        raise ApiError(422, _("Send a gift card code."), fields={"code": _("a code")})
    summary = checkout_summary(cart, data.country, data.discount_code, data.code)
    applied = summary.total - summary.due
    return jsonify(
        data={
            "last4": card.last4,
            "balance": out.money(card.balance, card.currency).model_dump(),
            "total": out.money(summary.total).model_dump(),
            "applied": out.money(applied).model_dump(),
            "amount_due": out.money(summary.due).model_dump(),
        }
    )


# Staff ------------------------------------------------------------------------------


def card_json(card: giftcards.GiftCard) -> dict[str, object]:
    return {
        "id": card.id,
        "last4": card.last4,
        "initial": out.money(card.initial, card.currency).model_dump(),
        "balance": out.money(card.balance, card.currency).model_dump(),
        "status": card.status,
        "source": card.source,
        "recipient_email": card.recipient_email,
        "note": card.note,
        "created_at": out.when(card.created_at),
        "updated_at": out.when(card.updated_at),
    }


def _cursor(name: str = "cursor") -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not re.fullmatch(r"[0-9]{1,10}", raw):
        raise ApiError(400, _("cursor is not one this API gave out: use meta.next_cursor."))
    return min(int(raw), 2**31)  # past every id: the first page


def _card(card_id: int) -> giftcards.GiftCard:
    card = card_by_id(card_id)
    if card is None or card.status == giftcards.PENDING:
        raise ApiError(404, _("No such gift card."))
    return card


@admin_bp.get("")
@operation(
    "listGiftCards",
    "admin: orders",
    "The shop's gift cards, newest first",
    ok=(200, page_of("GiftCard", "CursorMeta"), "A page of cards"),
    params=[
        in_query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}),
        in_query("cursor", ID_CURSOR, "meta.next_cursor of the page before."),
        in_query(
            "last4",
            {"type": "string", "pattern": "^[A-Za-z0-9]{1,4}$"},
            "Only cards whose code ends so.",
        ),
    ],
)
@staff("orders:read")
def card_list() -> Response:
    limit = limit_arg()
    page = giftcards.list_cards(before=_cursor(), last4=request.args.get("last4", ""), limit=limit)
    next_cursor = str(page.next_before) if page.next_before else None
    return out.cursor_listing([card_json(c) for c in page.cards], next_cursor, limit)


@admin_bp.get("/<int:card_id>")
@operation(
    "getGiftCard",
    "admin: orders",
    "One gift card",
    ok=(200, envelope(ref("GiftCard")), "The card"),
)
@staff("orders:read")
def card_detail(card_id: int) -> Response:
    return jsonify(data=card_json(_card(card_id)))


@admin_bp.get("/<int:card_id>/movements")
@operation(
    "listGiftCardMovements",
    "admin: orders",
    "Every change of a gift card's balance, oldest first",
    ok=(200, page_of("GiftCardMovement", "CursorMeta"), "A page of movements"),
    params=[
        in_query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}),
        in_query("cursor", ID_CURSOR, "meta.next_cursor of the page before."),
    ],
)
@staff("orders:read")
def card_movements(card_id: int) -> Response:
    card = _card(card_id)
    limit = limit_arg()
    rows = movements_after(card, _cursor(), limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    ids = {m.order_id for m in rows if m.order_id is not None}
    numbers = (
        {
            row[0]: row[1]
            for row in db.session.execute(select(Order.id, Order.number).where(Order.id.in_(ids)))
        }
        if ids
        else {}
    )
    items = [
        {
            "id": m.id,
            "kind": m.kind,
            "amount": out.money(m.amount, card.currency).model_dump(),
            "balance_after": out.money(m.balance_after, card.currency).model_dump(),
            "order_number": numbers.get(m.order_id) if m.order_id else None,
            "actor": m.actor,
            "created_at": out.when(m.created_at),
        }
        for m in rows
    ]
    return out.cursor_listing(items, str(rows[-1].id) if more and rows else None, limit)


@admin_bp.post("")
@operation(
    "issueGiftCard",
    "admin: orders",
    "Issue a gift card by hand",
    ok=(201, envelope(ref("IssuedGiftCard")), "The card, and its code (shown this once)"),
    description="A new active card worth amount (minor units, the shop's currency). With "
    "recipient_email its code is mailed to them. The code is in this answer only: the "
    "shop keeps a keyed digest and the last four characters.",
    body=GiftCardIn,
    params=[ISSUE_KEY],
    ok_headers={"Idempotent-Replayed": {"schema": HEADER_STRING}},
    errors=(422,),
)
@staff("orders:write")
def card_issue() -> tuple[Response, int]:
    data = body(GiftCardIn)
    recipient = data.recipient_email or ""  # held to the one email rule by its type
    sent = request.headers.get("Idempotency-Key", "").strip()
    if sent and not KEY.fullmatch(sent):
        raise ApiError(400, _("Idempotency-Key: 16 to 64 letters, digits, - or _."))
    key = None
    if sent:
        digest = hashlib.sha256(f"{current_user.id}:{sent}".encode()).hexdigest()[:48]
        key = f"issue:api:{digest}"
        earlier = db.session.scalar(
            select(GiftCardMovement.card_id).where(GiftCardMovement.key == key)
        )
        if earlier is not None:
            card = _card(earlier)
            response = jsonify(data={"card": card_json(card), "code": None})
            return replayed(response), 201

    def make() -> tuple[giftcards.GiftCard, str]:
        return giftcards.issue(
            data.amount,
            recipient=recipient,
            note=data.note,
            actor=current_user.email,
            key=key,
        )

    try:
        card, code = unit_of_work(make, keep_loaded=True)
    except giftcards.GiftCardError as exc:
        raise refused(exc) from None
    return jsonify(data={"card": card_json(card), "code": code}), 201


@admin_bp.post("/<int:card_id>/disable")
@operation(
    "disableGiftCard",
    "admin: orders",
    "Switch a gift card off: checkout refuses it from now on",
    ok=(200, envelope(ref("GiftCard")), "The card, switched off"),
)
@staff("orders:write")
def card_disable(card_id: int) -> Response:
    card = _card(card_id)
    unit_of_work(lambda: giftcards.disable(card, actor=current_user.email))
    return jsonify(data=card_json(card))
