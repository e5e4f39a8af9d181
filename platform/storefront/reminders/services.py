"""Carts that come back: consent, the owner's switch, restoring and unsubscribing.

A shopper at checkout who gives an address and ticks "remind me" (``remember``) gets, if
the owner turned reminders on, **one** mail after the owner's delay (``sending``) with
two signed links: one restores the cart in any browser (``restore``, expiring after
``LINK_DAYS``), one unsubscribes the address for good (``unsubscribe``). Placing an
order from the cart (``cart_ordered``), emptying it, or unticking the box means no mail.
What came of it is counted per day (``ReminderDay``) for the owner's dashboard.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytz
from flask import current_app, session
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import mysql, sqlite

from ..cart.models import Cart, CartItem
from ..cart.services import MAX_QUANTITY, SESSION_KEY, current_cart, signed_in_user_id
from ..emails import InvalidEmail, checked_email
from ..extensions import db
from ..i18n import current_locale
from ..problems import Refused
from ..tenancy.context import current_tenant
from ..tenancy.models import utcnow
from .models import WAITING, CartReminder, ReminderDay, ReminderOptOut, ReminderSettings

LINK_DAYS = 7  # a restore link works this long after the mail
DELAY_HOURS = (1, 720)  # what the owner may choose, in hours (an hour to a month)
STALE_DAYS = 14  # a cart left longer ago gets no reminder (the switch went on late)


class LinkRefused(Refused):
    """A reminder's link that does not open anything here: forged, another shop's, or
    expired (``expired``); the message is for the shopper."""

    def __init__(self, message: str, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


# The owner's switch -------------------------------------------------------------------


def settings() -> ReminderSettings | None:
    return db.session.scalar(select(ReminderSettings))


def enabled() -> bool:
    """Whether the owner turned reminders on (off until they do)."""
    found = settings()
    return bool(found and found.enabled)


def save_settings(on: bool, delay_hours: int) -> ReminderSettings:
    """Turn reminders on or off and set the delay (``DELAY_HOURS``); flushes."""
    low, high = DELAY_HOURS
    if not low <= delay_hours <= high:
        raise ValueError(f"the delay is {low} to {high} hours")
    found = settings()
    if found is None:
        found = ReminderSettings()
        db.session.add(found)
    found.enabled, found.delay_hours = on, delay_hours
    db.session.flush()
    return found


# Consent --------------------------------------------------------------------------------


def email_key(email: str) -> str:
    """A keyed digest of the address, bound to the shop: what an unsubscription keeps."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    message = f"cart-reminder:{current_tenant().uid}:{email.strip().lower()}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def opted_out(email: str) -> bool:
    key = email_key(email)
    return (
        db.session.scalar(select(ReminderOptOut.id).where(ReminderOptOut.email_key == key))
        is not None
    )


def for_cart(cart_id: int) -> CartReminder | None:
    return db.session.scalar(select(CartReminder).where(CartReminder.cart_id == cart_id))


def remember(cart: Cart | None, email: str, consent: bool) -> bool:
    """What the shopper said at checkout: ``consent`` to one reminder about ``cart`` at
    ``email`` (unticked: any waiting reminder is withdrawn). Nothing is kept while the
    owner's switch is off, for an address that is not one, or one that unsubscribed.
    Returns whether a reminder is now waiting or sent for the cart. Flushes."""
    if cart is None or cart.id is None:
        return False
    row = for_cart(cart.id)
    if not consent:
        if row is not None and row.state == WAITING:
            db.session.delete(row)
            db.session.flush()
        return False
    try:
        email = checked_email(email or "")
    except InvalidEmail:
        return False
    if not enabled() or opted_out(email):
        return False
    now = utcnow()
    if row is not None:  # sent already: still one reminder per cart, whatever is typed now
        if row.email != email:
            row.email, row.consented_at = email, now
        row.locale, row.left_at = current_locale(), now
        db.session.flush()
        return True
    row_values = {"cart_id": cart.id, "email": email, "locale": current_locale()}
    _insert_once(CartReminder, {**row_values, "consented_at": now, "left_at": now}, "cart_id")
    return True


def _insert_once(model: Any, values: dict[str, Any], key: str) -> None:
    """Insert the row unless the shop has one with the same ``key`` already (two tabs, two
    clicks at the same moment: one row, and no error for the second)."""
    if db.session.get_bind().dialect.name == "sqlite":
        stmt: Any = sqlite.insert(model).on_conflict_do_nothing(index_elements=["tenant_id", key])
    else:
        stmt = mysql.insert(model)
        stmt = stmt.on_duplicate_key_update({key: stmt.inserted[key]})
    db.session.execute(stmt, [values])


def cart_ordered(cart_id: int) -> None:
    """The cart became an order: no reminder; an order from a restored cart counts."""
    row = for_cart(cart_id)
    if row is None:
        return
    if row.restored_at is not None:
        count(ordered=1)
    db.session.delete(row)
    db.session.flush()


# Figures -------------------------------------------------------------------------------


def shop_today(moment: datetime | None = None) -> date:
    shop = current_tenant().settings
    zone = pytz.timezone(shop.timezone if shop else "UTC")
    return pytz.utc.localize(moment or utcnow()).astimezone(zone).date()


def count(sent: int = 0, restored: int = 0, ordered: int = 0) -> None:
    """Add to today's figures: one atomic upsert, so racing requests add up."""
    row = {"tenant_id": current_tenant().id, "day": shop_today()}
    row.update(sent=sent, restored=restored, ordered=ordered)
    table = ReminderDay.__table__
    sums = {name: table.c[name] + row[name] for name in ("sent", "restored", "ordered")}
    if db.session.get_bind().dialect.name == "sqlite":
        stmt: Any = sqlite.insert(ReminderDay)
        stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "day"], set_=sums)
    else:
        stmt = mysql.insert(ReminderDay).on_duplicate_key_update(sums)
    db.session.execute(stmt, [row])


@dataclass(frozen=True)
class Figures:
    days: int
    sent: int
    restored: int
    ordered: int


def figures(days: int) -> Figures:
    """Reminders sent, carts restored and orders placed from them over the last ``days``
    (a day's row each: at most ``days`` rows read)."""
    since = shop_today() - timedelta(days=days - 1)
    sent, restored, ordered = db.session.execute(
        select(
            func.coalesce(func.sum(ReminderDay.sent), 0),
            func.coalesce(func.sum(ReminderDay.restored), 0),
            func.coalesce(func.sum(ReminderDay.ordered), 0),
        ).where(ReminderDay.day >= since)
    ).one()
    return Figures(days, int(sent), int(restored), int(ordered))


# Links ---------------------------------------------------------------------------------


def _signer(purpose: str) -> URLSafeTimedSerializer:
    # The shop's uid in the salt: a link made for one shop is a bad signature at another.
    return URLSafeTimedSerializer(
        str(current_app.config["SECRET_KEY"]), salt=f"cart-{purpose}:{current_tenant().uid}"
    )


def restore_token(row: CartReminder) -> str:
    return str(_signer("restore").dumps([row.id, row.cart_id]))


def unsubscribe_token(row: CartReminder) -> str:
    return str(_signer("unsubscribe").dumps([row.id, email_key(row.email)]))


def _not_a_link() -> str:
    return _("This link does not work. Please use the link from your mail.")


def _read(purpose: str, token: str, max_age: int | None) -> Any:
    if not token or len(token) > 300:
        raise LinkRefused(_not_a_link())
    try:
        return _signer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkRefused(
            _("This link has expired. Your cart may still be waiting for you."), expired=True
        ) from None
    except BadSignature:
        raise LinkRefused(_not_a_link()) from None


def restore(token: str) -> Cart | None:
    """Bring the reminded cart into this browser: the same cart when nobody else's is in
    the way, else its lines copied into the visitor's own. None when the cart is gone or
    empty (ordered, emptied). ``LinkRefused`` for a bad or expired link. Flushes."""
    payload = _read("restore", token, LINK_DAYS * 86_400)
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)):
        raise LinkRefused(_not_a_link())
    row = db.session.scalar(select(CartReminder).where(CartReminder.id == payload[0]))
    source = db.session.get(Cart, row.cart_id) if row is not None else None
    if row is None or source is None or not source.items:
        return None
    target = _into_this_browser(source)
    if target.id != source.id:
        db.session.execute(delete(CartReminder).where(CartReminder.cart_id == target.id))
        row.cart_id = target.id  # an order from it is one "from a restored cart"
    first = db.session.execute(
        update(CartReminder)
        .where(CartReminder.id == row.id, CartReminder.restored_at.is_(None))
        .values(restored_at=utcnow(), cart_id=row.cart_id)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if first == 1:
        count(restored=1)
    db.session.flush()
    return target


def _into_this_browser(source: Cart) -> Cart:
    user_id = signed_in_user_id()
    mine = current_cart()
    if mine is not None and mine.id == source.id:
        return source
    if user_id is None and source.user_id is None and (mine is None or not mine.items):
        session[SESSION_KEY] = source.token  # the very cart, now in this browser too
        return source
    target = mine or current_cart(create=True)
    assert target is not None  # noqa: S101 - create=True always returns one
    for item in source.items:
        if not item.product.active:
            continue
        same = next(
            (
                i
                for i in target.items
                if i.product_id == item.product_id and i.variant_id == item.variant_id
            ),
            None,
        )
        if same is None:
            target.items.append(
                CartItem(
                    product_id=item.product_id, variant_id=item.variant_id, quantity=item.quantity
                )
            )
        else:
            same.quantity = min(max(same.quantity, item.quantity), MAX_QUANTITY)
    db.session.flush()
    return target


def read_unsubscribe(token: str) -> tuple[int, str]:
    """The reminder and the address's digest an unsubscribe link names (it never expires:
    whoever was mailed can always say no more); ``LinkRefused`` if it is none."""
    payload = _read("unsubscribe", token, None)
    if not (isinstance(payload, list) and len(payload) == 2):
        raise LinkRefused(_not_a_link())
    reminder_id, key = payload
    if not (isinstance(reminder_id, int) and isinstance(key, str) and len(key) == 64):
        raise LinkRefused(_not_a_link())
    return reminder_id, key


def unsubscribe(token: str) -> None:
    """Record that the address wants no more reminders from this shop (any link it was
    sent, however old): its waiting reminders go, and later ones are never kept or sent.
    Flushes."""
    reminder_id, key = read_unsubscribe(token)
    _insert_once(ReminderOptOut, {"email_key": key, "created_at": utcnow()}, "email_key")
    row = db.session.scalar(select(CartReminder).where(CartReminder.id == reminder_id))
    if row is not None and email_key(row.email) == key:
        # The address's other carts too (by ix_cart_reminders_email: a few rows).
        db.session.execute(
            delete(CartReminder)
            .where(CartReminder.email == row.email, CartReminder.state == WAITING)
            .execution_options(synchronize_session=False)
        )
    db.session.flush()


# Privacy -------------------------------------------------------------------------------


def person_data(email: str) -> dict[str, Any]:
    """What reminders hold about ``email``: its consents, and whether it unsubscribed."""
    rows = db.session.scalars(
        select(CartReminder).where(CartReminder.email == email).order_by(CartReminder.id)
    )
    return {
        "reminders": [
            {
                "consented_at": row.consented_at.isoformat(),
                "left_at": row.left_at.isoformat(),
                "sent_at": row.sent_at.isoformat() if row.sent_at else None,
                "restored_at": row.restored_at.isoformat() if row.restored_at else None,
                "language": row.locale,
            }
            for row in rows
        ],
        "unsubscribed": opted_out(email),
    }


def erase(email: str) -> int:
    """Forget ``email``'s reminders (consents and waiting mails); an unsubscription stays,
    as a digest that names nobody, so it is still honoured. Returns how many went."""
    gone = db.session.execute(
        delete(CartReminder)
        .where(CartReminder.email == email)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return int(gone or 0)
