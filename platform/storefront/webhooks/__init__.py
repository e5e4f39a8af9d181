"""Signed webhooks per shop (``services``), delivered through the outbox."""

from __future__ import annotations

from .models import EVENTS, WebhookEndpoint
from .services import emit, emit_many, listeners

__all__ = ["EVENTS", "WebhookEndpoint", "emit", "emit_many", "listeners"]
