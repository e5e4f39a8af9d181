"""Payment methods. A real provider implements ``PaymentProvider`` and registers itself."""

from __future__ import annotations

from typing import Any, Protocol

from flask_babel import lazy_gettext as _l

from ..i18n import shop_text
from ..tenancy.context import current_tenant
from .giftcards.payment import GiftCardPayment
from .models import Order
from .stripe_payment import StripePayment


class PaymentProvider(Protocol):
    code: str
    label: Any  # a str, or a lazy translation that reads in the shopper's language

    def instructions(self, order: Order) -> str:
        """What the shopper reads on the confirmation page and in the mail."""

    def start(self, order: Order) -> str | None:
        """Begin payment; return a URL to send the shopper to, or None to stay here."""


class ManualPayment:
    """Bank transfer or cash on delivery: the shop's own instructions, paid later."""

    code = "manual"
    label = _l("Bank transfer / cash on delivery")

    def instructions(self, order: Order) -> str:
        settings = current_tenant().settings
        return shop_text(settings, "payment_instructions") if settings else ""

    def start(self, order: Order) -> str | None:
        return None


class BankTransfer(ManualPayment):
    """Paid by transfer to the shop's account (``payment.instructions``), shipped after."""

    code = "bank_transfer"
    label = _l("Bank transfer")


class CashOnDelivery(ManualPayment):
    """Paid to the courier on delivery: the order may ship while awaiting payment."""

    code = "cash_on_delivery"
    label = _l("Cash on delivery")

    def instructions(self, order: Order) -> str:
        settings = current_tenant().settings
        return shop_text(settings, "cash_on_delivery_instructions") if settings else ""


PROVIDERS: dict[str, PaymentProvider] = {
    provider.code: provider
    for provider in (
        ManualPayment(),
        BankTransfer(),
        CashOnDelivery(),
        StripePayment(),
        GiftCardPayment(),  # never offered (not in a shop's methods): checkout picks it
    )
}


def enabled_methods() -> list[PaymentProvider]:
    """The methods the bound shop offers, in its order (unknown codes are skipped)."""
    settings = current_tenant().settings
    codes = settings.payment.methods if settings else []
    offered = [PROVIDERS[code] for code in codes if code in PROVIDERS]
    # A provider that cannot take money here yet (Stripe without the shop's keys) is not
    # offered: shoppers never pick a method that cannot start.
    return [p for p in offered if getattr(p, "available", lambda: True)()]


def register(provider: PaymentProvider) -> None:
    """Offer ``provider`` at checkout (its ``start`` runs right after the order is placed)."""
    PROVIDERS[provider.code] = provider
