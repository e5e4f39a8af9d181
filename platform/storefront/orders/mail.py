"""Mails to shoppers about their orders, queued in the outbox with the change."""

from __future__ import annotations

from flask import current_app, has_request_context, render_template, url_for

from ..i18n import shop_locale
from ..outbox import enqueue_mail
from ..tenancy.context import current_tenant
from ..tenancy.request_hooks import shop_base_url
from .access import order_key
from .models import Order
from .views_model import order_view


def send_order_mail(order: Order, template: str, subject: object) -> None:
    """Queue a mail to the shopper in the current transaction (sent after it commits).

    Written in the language the shopper ordered in (whoever's request marks the order
    shipped); ``subject`` is a lazy translation, read inside that language. Links come
    from the shop's primary domain, with the shopper's language prefix.
    """
    with shop_locale(order.locale):
        link = order_link(order)
        body = render_template(template, order=order_view(order), link=link)
        subject_text = str(subject)
    kind = template.rsplit("/", 1)[-1].split(".")[0]
    # One confirmation per order, whatever happens; other mails once per event.
    key = f"order:{order.number}:confirmation" if kind == "confirmation" else None
    enqueue_mail(order.email, subject_text, body, dedupe_key=key)


def order_link(order: Order) -> str:
    """The order page in the shopper's language, on the shop's primary domain, with the
    key that opens it in any browser. Outside a request (a CLI command, a job) the URL is
    built for the shop's primary domain all the same."""
    if has_request_context():
        return url_for("orders.detail", number=order.number, key=order_key(order), _external=True)
    ctx = current_tenant()
    with current_app.test_request_context(base_url=shop_base_url(ctx) + "/"):
        return url_for("orders.detail", number=order.number, key=order_key(order), _external=True)
