"""Who may see an order without an account: whoever holds its signed link.

The confirmation and shipping mails link to ``/orders/<number>?key=…``; the key is an
HMAC of the order (shop uid, id, number, email) under the platform's secret, so it is
unguessable, works in any browser, and belongs to one order of one shop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from flask import current_app

from ..tenancy.context import current_tenant
from .models import Order


def order_key(order: Order) -> str:
    message = f"{current_tenant().uid}:{order.id}:{order.number}:{order.email}".encode()
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, b"order-link:" + message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def key_opens(order: Order, key: str | None) -> bool:
    return bool(key) and len(key or "") <= 64 and hmac.compare_digest(order_key(order), key or "")
