"""The periodic job's part: send the shop's due reminders, a bounded batch per run.

A run reads only the rows that are due, in the order of ``ix_cart_reminders_due``
(``tenant_id, state, left_at, id``): ``waiting`` and left between ``STALE_DAYS`` ago and
the owner's delay ago, at most ``CART_REMINDER_BATCH`` of them (the rest wait for the
next run: one shop's backlog never holds the worker the other shops' runs need). Each
row is taken by a conditional UPDATE from ``waiting`` to ``sent``, so two workers never
send the same reminder; the mail joins the outbox in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from ..cart.models import Cart
from ..catalog.loading import load_details
from ..extensions import db
from ..i18n import localized, shop_locale
from ..outbox.services import queue_shop_mail
from ..tenancy.context import current_tenant
from ..tenancy.models import utcnow
from ..themes.mail import mail_request
from . import services
from .models import SENT, WAITING, CartReminder, ReminderOptOut

BATCH = 200  # reminders per shop and run (CART_REMINDER_BATCH overrides)
KEEP_SENT_DAYS = 30  # a sent reminder's row is kept this long: an order it brings counts


def batch_size() -> int:
    return max(1, int(current_app.config.get("CART_REMINDER_BATCH", BATCH)))


def send_due(now: datetime | None = None, limit: int | None = None) -> int:
    """Send the bound shop's due reminders (at most ``limit``); returns how many were
    sent. Nothing while the owner's switch is off. Flushes; the job commits."""
    found = services.settings()
    if found is None or not found.enabled:
        return 0
    now = now or utcnow()
    limit = limit or batch_size()
    _prune(now, limit)
    rows = db.session.scalars(
        select(CartReminder)
        .where(
            CartReminder.state == WAITING,
            CartReminder.left_at <= now - timedelta(hours=found.delay_hours),
            CartReminder.left_at >= now - timedelta(days=services.STALE_DAYS),
        )
        .order_by(CartReminder.left_at, CartReminder.id)
        .limit(limit)
    ).all()
    if not rows:
        return 0
    carts = {
        cart.id: cart
        for cart in db.session.scalars(select(Cart).where(Cart.id.in_([r.cart_id for r in rows])))
    }
    keys = {row.id: services.email_key(row.email) for row in rows}
    refused = set(
        db.session.scalars(
            select(ReminderOptOut.email_key).where(ReminderOptOut.email_key.in_(keys.values()))
        )
    )
    # One reminder a day per address, however many carts were left with it (a script
    # filling carts with someone else's address cannot flood them): the others are dropped.
    mailed = set(
        db.session.scalars(
            select(CartReminder.email).where(
                CartReminder.email.in_({r.email for r in rows}),
                CartReminder.state == SENT,
                CartReminder.sent_at >= now - timedelta(days=1),
            )
        )
    )
    load_details(item.product for cart in carts.values() for item in cart.items)
    sent = 0
    for row in rows:
        cart = carts.get(row.cart_id)
        if cart is None or not cart.items or keys[row.id] in refused or row.email in mailed:
            db.session.delete(row)  # ordered, emptied, merged away, unsubscribed, mailed
            continue
        taken = db.session.execute(
            update(CartReminder)
            .where(CartReminder.id == row.id, CartReminder.state == WAITING)
            .values(state=SENT, sent_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if taken != 1:
            continue  # another worker sent it
        _mail(row, cart)
        mailed.add(row.email)
        sent += 1
    if sent:
        services.count(sent=sent)
    db.session.flush()
    return sent


def _prune(now: datetime, limit: int) -> None:
    """Forget rows no reminder will come of (left too long ago; sent long ago), a batch at
    a time along the same index."""
    for state, before in (
        (WAITING, now - timedelta(days=services.STALE_DAYS)),
        (SENT, now - timedelta(days=KEEP_SENT_DAYS)),
    ):
        ids = list(
            db.session.scalars(
                select(CartReminder.id)
                .where(CartReminder.state == state, CartReminder.left_at < before)
                .order_by(CartReminder.left_at, CartReminder.id)
                .limit(limit)
            )
        )
        if ids:
            db.session.execute(
                delete(CartReminder)
                .where(CartReminder.id.in_(ids))
                .execution_options(synchronize_session=False)
            )


def _mail(row: CartReminder, cart: Cart) -> None:
    """Queue the reminder in the shopper's language, with the shop's look."""
    shop = current_tenant()
    with shop_locale(row.locale), mail_request(fresh=True):
        restore = url_for("reminders.restore", token=services.restore_token(row), _external=True)
        leave = url_for(
            "reminders.unsubscribe", token=services.unsubscribe_token(row), _external=True
        )
        items = [
            f"{item.quantity} × {localized(item.product.translations, 'title', item.product.title)}"
            for item in cart.items
        ]
        subject = _("%(shop)s: your cart is waiting for you", shop=shop.name)
        queue_shop_mail(
            row.email,
            "reminders/mail/reminder",
            subject,
            dedupe_key=f"cart-reminder:{row.id}",
            heading=_("You left something in your cart"),
            items=items,
            link=restore,
            unsubscribe=leave,
            days=services.LINK_DAYS,
            headers={
                "List-Unsubscribe": f"<{leave}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
