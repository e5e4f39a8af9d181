"""Payment methods. A real provider implements ``PaymentProvider`` and registers itself."""

from __future__ import annotations

from typing import Protocol

from ..tenancy.context import current_tenant
from .models import Order


class PaymentProvider(Protocol):
    code: str
    label: str

    def instructions(self, order: Order) -> str:
        """What the shopper reads on the confirmation page and in the mail."""

    def start(self, order: Order) -> str | None:
        """Begin payment; return a URL to send the shopper to, or None to stay here."""


class ManualPayment:
    """Bank transfer or cash on delivery: the shop's own instructions, paid later."""

    code = "manual"
    label = "Bank transfer / cash on delivery"

    def instructions(self, order: Order) -> str:
        settings = current_tenant().settings
        return settings.payment.instructions if settings else ""

    def start(self, order: Order) -> str | None:
        return None


PROVIDERS: dict[str, PaymentProvider] = {ManualPayment.code: ManualPayment()}


def register(provider: PaymentProvider) -> None:
    """Offer ``provider`` at checkout (its ``start`` runs right after the order is placed)."""
    PROVIDERS[provider.code] = provider
