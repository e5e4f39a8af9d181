"""Mails about orders, queued in the outbox with the change and drawn by the outbox job.

The shopper hears when an order is placed, paid, shipped, cancelled (or released unpaid)
and refunded; the shop's staff who want it (``accounts.notifications`` picks them) hear
of each new and each paid order. A row holds what the mail is about (the order, the
kind, the refund), never its text: the job renders it with the shop's templates and
branding (``themes.mail``), in the language the order was placed in (the staff member's
own for staff mails), so nothing is rendered in the shopper's request.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..catalog.money import shop_money
from ..extensions import db
from ..i18n import format_when, shop_locale
from ..outbox.services import enqueue, handler, send_mail_now
from ..shared import SafeView
from ..tenancy.context import current_tenant
from ..themes.mail import mail_request, render_mail
from .access import order_key
from .models import Order
from .views_model import order_view

ORDER_MAIL = "order.mail"
SHOPPER_KINDS = ("confirmation", "paid", "shipped", "cancelled", "released", "refund")
STAFF_KINDS = ("staff_new", "staff_paid")


def send_order_mail(order: Order, kind: str, *, refund_id: int | None = None) -> None:
    """Queue the shopper's mail of ``kind`` about ``order`` in the current transaction
    (sent after it commits). One confirmation per order, whatever happens; the others
    once per event."""
    if kind not in SHOPPER_KINDS:
        raise ValueError(f"no shopper mail {kind!r}")
    key = f"order:{order.number}:confirmation" if kind == "confirmation" else None
    payload: dict[str, Any] = {"order": order.id, "kind": kind}
    if refund_id is not None:
        payload["refund"] = refund_id
        key = f"order:{order.number}:refund:{refund_id}"
    _enqueue(payload, key)


def send_staff_mail(order: Order, kind: str, *, user_id: int, to: str, locale: str | None) -> None:
    """Queue the mail of ``kind`` about ``order`` to one member of the shop's staff, in
    their language (None: the shop's default)."""
    if kind not in STAFF_KINDS:
        raise ValueError(f"no staff mail {kind!r}")
    payload = {"order": order.id, "kind": kind, "to": to, "locale": locale}
    _enqueue(payload, f"order:{order.number}:{kind}:{user_id}")


def _enqueue(payload: dict[str, Any], key: str | None) -> None:
    # One Message-ID per row: a retry after a crash mid-send carries the same id.
    payload["message_id"] = f"<{secrets.token_hex(16)}@{current_tenant().slug}.storefront>"
    enqueue(ORDER_MAIL, payload, dedupe_key=key)


@dataclass(frozen=True)
class RefundView(SafeView):
    """A refund as the shopper reads it."""

    amount_display: str
    created_at: str
    refunded_display: str  # everything refunded of the order so far
    kept_display: str  # what the shopper has paid, net of the refunds
    full: bool


@handler(ORDER_MAIL)
def deliver_order_mail(payload: dict[str, Any]) -> None:
    """The outbox job: draw the mail about the order as it is now and send it. An order
    or refund gone since (the shop was emptied) sends nothing."""
    order = db.session.scalar(select(Order).where(Order.id == payload["order"]))
    if order is None:
        return
    kind = payload["kind"]
    staff = kind in STAFF_KINDS
    to = payload["to"] if staff else order.email
    with shop_locale(payload.get("locale") if staff else order.locale), mail_request(fresh=True):
        context: dict[str, Any] = {}
        if kind == "refund":
            refund = _refund_view(order, payload.get("refund"))
            if refund is None:
                return
            context["refund"] = refund
        link = _link(order, staff)
        rendered = render_mail(f"orders/mail/{kind}", order=order_view(order), link=link, **context)
        subject = subject_for(kind, order, context.get("refund"))
    send_mail_now(
        to, subject, rendered.text, html=rendered.html, message_id=payload.get("message_id")
    )


def subject_for(kind: str, order: Order, refund: RefundView | None = None) -> str:
    """The subject of an order mail in the current language: the shop, the order's
    number and what happened."""
    shop, number = current_tenant().name, order.number
    subjects: dict[str, Callable[[], str]] = {
        "confirmation": lambda: _(
            "%(shop)s: thank you for your order %(number)s", shop=shop, number=number
        ),
        "paid": lambda: _(
            "%(shop)s: we received the payment for your order %(number)s",
            shop=shop,
            number=number,
        ),
        "shipped": lambda: _(
            "%(shop)s: your order %(number)s has shipped", shop=shop, number=number
        ),
        "cancelled": lambda: _(
            "%(shop)s: your order %(number)s was cancelled", shop=shop, number=number
        ),
        "released": lambda: _(
            "%(shop)s: your order %(number)s was cancelled", shop=shop, number=number
        ),
        "refund": lambda: _(
            "%(shop)s: %(amount)s refunded for your order %(number)s",
            shop=shop,
            number=number,
            amount=refund.amount_display if refund else "",
        ),
        "staff_new": lambda: _(
            "%(shop)s: new order %(number)s (%(total)s)",
            shop=shop,
            number=number,
            total=shop_money(order.total, order.currency),
        ),
        "staff_paid": lambda: _(
            "%(shop)s: order %(number)s is paid (%(total)s)",
            shop=shop,
            number=number,
            total=shop_money(order.total, order.currency),
        ),
    }
    return subjects[kind]()


def _refund_view(order: Order, refund_id: Any) -> RefundView | None:
    from .refunds import Refund  # refunds imports payments; mail is imported by checkout

    row = db.session.scalar(
        select(Refund).where(Refund.id == refund_id, Refund.order_id == order.id)
    )
    if row is None:
        return None
    refunded = int(order.refunded or 0)
    return RefundView(
        amount_display=shop_money(row.amount, order.currency),
        created_at=format_when(row.created_at),
        refunded_display=shop_money(refunded, order.currency),
        kept_display=shop_money(max(order.total - refunded, 0), order.currency),
        full=refunded >= order.total,
    )


def _link(order: Order, staff: bool) -> str:
    """The shopper's order page, or the order in the dashboard for staff."""
    with mail_request():
        if staff:
            return url_for("admin.order_detail", number=order.number, _external=True)
        return order_link(order)


def order_link(order: Order) -> str:
    """The order page in the shopper's language, on the shop's primary domain, with the
    key that opens it in any browser. Outside a request (a CLI command, a job) the URL is
    built for the shop's primary domain all the same."""
    with mail_request():
        return url_for("orders.detail", number=order.number, key=order_key(order), _external=True)
