"""What sign-up announces. Billing connects to ``shop_signed_up`` to start a trial."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: sender: the new ``Tenant`` row (bound, inside create_shop's transaction, before the
#: commit: a receiver that raises undoes the whole sign-up); kwarg ``signup`` (the row).
#: The shop is on the plans file's default plan (``Tenant.plan`` None) unless a receiver
#: sets another (a trial).
shop_signed_up = _signals.signal("storefront.shop-signed-up")
