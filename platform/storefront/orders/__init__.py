"""Orders: checkout, order numbers, statuses, mails, CSV."""

from __future__ import annotations

from typing import Any

from ..tenancy.signals import shop_created


@shop_created.connect
def _give_new_shop_a_counter(tenant: Any, **extra: Any) -> None:
    from .services import create_counter  # lazy: services pull in catalog and cart

    create_counter()
