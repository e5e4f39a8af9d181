"""Orders: checkout, order numbers, statuses, mails, CSV."""

from __future__ import annotations

from typing import Any

from ..tenancy.signals import shop_created
from .checkout import create_counter


@shop_created.connect
def _give_new_shop_a_counter(tenant: Any, **extra: Any) -> None:
    """A new shop numbers its orders from 1001."""
    create_counter()
