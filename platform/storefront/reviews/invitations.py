"""The mail inviting a buyer to review what was delivered, and the owner's switch for it.

Off until the owner turns it on (``ReviewSettings.invite``). A periodic job per shop
(``send_due``) reads the orders delivered at least the owner's number of days ago and not
yet looked at, through ``ix_orders_review_invites`` (``tenant_id, status,
review_invited_at, updated_at, id``), at most ``REVIEW_INVITE_BATCH`` a run and none
delivered more than ``STALE_DAYS`` before that (the switch turned on late mails nobody
about last year's orders). Each order is taken by a conditional UPDATE of
``review_invited_at``, so two workers never mail it twice and an order is looked at once:
a guest's order (reviews are written from an account), an unsubscribed buyer's, or one
whose lines are all reviewed is passed over, never mailed later. The mail speaks the
order's language, wears the shop's look and carries an unsubscribe link (and the
List-Unsubscribe headers) that stops every later invitation for that account.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update

from ..accounts.models import User
from ..extensions import db
from ..i18n import shop_locale
from ..orders.models import Order
from ..outbox.services import queue_shop_mail
from ..problems import Refused
from ..tenancy.context import current_tenant
from ..tenancy.models import utcnow
from ..themes.mail import mail_request
from .models import ReviewSettings

BATCH = 200  # orders per shop and run (REVIEW_INVITE_BATCH overrides)
DAYS = (1, 60)  # what the owner may choose: days after the delivery
STALE_DAYS = 30  # an order delivered longer before its due day is never mailed
MAX_LINES = 10  # lines one mail lists (an order of fifty things asks about ten)


class LinkRefused(Refused):
    """An unsubscribe link that names nobody here (forged, another shop's)."""


def settings() -> ReviewSettings | None:
    return db.session.scalar(select(ReviewSettings))


def save_settings(on: bool, days: int) -> ReviewSettings:
    """Turn the invitations on or off and set the days after delivery; flushes."""
    low, high = DAYS
    if not low <= days <= high:
        raise ValueError(f"the delay is {low} to {high} days")
    found = settings()
    if found is None:
        found = ReviewSettings()
        db.session.add(found)
    found.invite, found.invite_days = bool(on), days
    db.session.flush()
    return found


def batch_size() -> int:
    return max(1, int(current_app.config.get("REVIEW_INVITE_BATCH", BATCH)))


def send_due(now: datetime | None = None, limit: int | None = None) -> int:
    """Invite the buyers of the bound shop's due orders (at most ``limit`` orders looked
    at); returns how many mails were queued. Nothing while the switch is off. Flushes;
    the job commits (the mails join the outbox in the same transaction)."""
    found = settings()
    if found is None or not found.invite:
        return 0
    now = now or utcnow()
    due = now - timedelta(days=found.invite_days)
    orders = db.session.scalars(
        select(Order)
        .where(
            Order.status == "delivered",
            Order.review_invited_at.is_(None),
            Order.updated_at <= due,
            Order.updated_at >= due - timedelta(days=STALE_DAYS),
        )
        .order_by(Order.updated_at, Order.id)
        .limit(limit or batch_size())
    ).all()
    if not orders:
        return 0
    wanted = {o.user_id for o in orders if o.user_id is not None}
    users = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(wanted)))}
        if wanted
        else {}
    )
    sent = 0
    for order in orders:
        taken = db.session.execute(
            update(Order)
            .where(Order.id == order.id, Order.review_invited_at.is_(None))
            # updated_at kept: integrations sync by it, and a mail changes nothing they hold
            .values(review_invited_at=now, updated_at=Order.updated_at)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if taken != 1:
            continue  # another worker has it
        user = users.get(order.user_id) if order.user_id is not None else None
        lines = [
            line for line in order.lines if line.reviewed_at is None and line.product_id is not None
        ][:MAX_LINES]
        if user is None or user.review_mails is False or not user.active or not lines:
            continue  # a guest, unsubscribed, closed, or nothing left to review
        _mail(order, user, lines)
        sent += 1
    db.session.flush()
    return sent


def _signer() -> URLSafeSerializer:
    # The shop's uid in the salt: a link made for one shop is a bad signature at another.
    return URLSafeSerializer(
        str(current_app.config["SECRET_KEY"]), salt=f"review-mails:{current_tenant().uid}"
    )


def unsubscribe_token(user: User) -> str:
    return str(_signer().dumps([user.id]))


def read_unsubscribe(token: str) -> User:
    """The account an unsubscribe link names (it never expires); ``LinkRefused`` if none."""
    refused = LinkRefused(_("This link does not work. Please use the link from your mail."))
    if not token or len(token) > 300:
        raise refused
    try:
        payload = _signer().loads(token)
    except BadSignature:
        raise refused from None
    if not (isinstance(payload, list) and len(payload) == 1 and type(payload[0]) is int):
        raise refused
    user = db.session.get(User, payload[0]) if 0 < payload[0] < 2**31 else None
    if user is None:  # erased since: nobody to mail anyway
        raise refused
    return user


def unsubscribe(token: str) -> None:
    """No more review invitations for the account the link names; flushes."""
    read_unsubscribe(token).review_mails = False
    db.session.flush()


def _mail(order: Order, user: User, lines: list) -> None:  # type: ignore[type-arg]
    """Queue the invitation in the order's language, with the shop's look."""
    shop = current_tenant()
    with shop_locale(order.locale or user.locale), mail_request(fresh=True):
        leave = url_for("reviews.unsubscribe", token=unsubscribe_token(user), _external=True)
        items = [
            (
                f"{line.title} ({line.variant})" if line.variant else line.title,
                url_for("reviews.new", line_id=line.id, _external=True),
            )
            for line in lines
        ]
        queue_shop_mail(
            user.email,
            "reviews/mail/invitation",
            _("%(shop)s: how do you like what you bought?", shop=shop.name),
            dedupe_key=f"review-invitation:{order.id}",
            heading=_("Tell others what you think"),
            number=order.number,
            items=items,
            unsubscribe=leave,
            headers={
                "List-Unsubscribe": f"<{leave}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
