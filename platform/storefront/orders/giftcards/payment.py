"""An order its gift cards paid in full: no provider step, paid when placed."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..models import Order

CODE = "gift_card"


class GiftCardPayment:
    """Not offered as a choice: checkout uses it when the cards cover the whole total."""

    code = CODE
    label = _l("Gift card")

    def instructions(self, order: Order) -> str:
        return str(_l("Paid in full with a gift card."))

    def start(self, order: Order) -> str | None:
        return None
