"""The gift card's mail: its code, to the recipient, in the shop's language and look.

The row in the outbox names the card, never the code: the job reads the code sealed on
the card (``codes.seal``), sends it with the shop's templates (``themes.mail``) in the
card's language, and clears it in the same unit of work, so the code is nowhere in the
shop's database once its mail is out (docs/security.md).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ...catalog.money import shop_money
from ...extensions import db
from ...i18n import shop_locale
from ...outbox.services import enqueue, handler, send_mail_now
from ...tenancy.context import current_tenant
from ...themes.mail import mail_request, render_mail
from . import codes
from .models import GiftCard

GIFT_CARD_MAIL = "giftcard.mail"


def send_card_mail(card: GiftCard) -> None:
    """Queue the card's mail in the current transaction (sent after it commits), once."""
    payload: dict[str, Any] = {
        "card": card.id,
        "message_id": f"<{secrets.token_hex(16)}@{current_tenant().slug}.storefront>",
    }
    enqueue(GIFT_CARD_MAIL, payload, dedupe_key=f"giftcard:{card.id}:mail")


@handler(GIFT_CARD_MAIL)
def deliver_card_mail(payload: dict[str, Any]) -> None:
    """The outbox job: the code, unsealed, to the card's recipient; then forgotten. A card
    gone, or whose code was sent already (or can no longer be unsealed), sends nothing."""
    card = db.session.scalar(select(GiftCard).where(GiftCard.id == payload["card"]))
    if card is None or not card.sealed_code or not card.recipient_email:
        return
    code = codes.unseal(card.sealed_code)
    if code is None:
        card.sealed_code = None
        return
    with shop_locale(card.locale), mail_request(fresh=True):
        link = url_for("pages.index", _external=True)
        rendered = render_mail(
            "giftcards/mail/card",
            code=codes.display(codes.normalize(code)),
            amount=shop_money(card.initial, card.currency),
            bought=card.source == "order",
            refund=card.source == "refund",
            link=link,
        )
        subject = _(
            "%(shop)s: your gift card of %(amount)s",
            shop=current_tenant().name,
            amount=shop_money(card.initial, card.currency),
        )
    send_mail_now(
        card.recipient_email,
        subject,
        rendered.text,
        html=rendered.html,
        message_id=payload.get("message_id"),
    )
    card.sealed_code = None  # sent: the code is no longer kept anywhere
