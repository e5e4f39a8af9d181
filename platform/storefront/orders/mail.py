"""Mails to shoppers about their orders, queued in the outbox with the change."""

from __future__ import annotations

from flask import render_template, url_for

from ..outbox import enqueue_mail
from .models import Order
from .views_model import order_view


def send_order_mail(order: Order, template: str, subject: str) -> None:
    """Queue a mail to the shopper in the current transaction (sent after it commits);
    links come from the shop's primary domain."""
    link = url_for("orders.detail", number=order.number, _external=True)
    body = render_template(template, order=order_view(order), link=link)
    kind = template.rsplit("/", 1)[-1].split(".")[0]
    # One confirmation per order, whatever happens; other mails once per event.
    key = f"order:{order.number}:confirmation" if kind == "confirmation" else None
    enqueue_mail(order.email, subject, body, dedupe_key=key)
