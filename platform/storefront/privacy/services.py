"""A person's data in one shop: everything it holds about them, and its erasure.

A person is an email address: their account (if they registered) and every order
placed with that address or by that account. ``person_data`` writes all of it as JSON,
a batch of orders at a time (a customer of ten years is no reason to read the order
book). ``erase`` removes the person: the account with its addresses, carts, cart
reminders (an unsubscription stays, as a digest naming nobody, so it is honoured),
sessions, tokens and passkeys goes, and so does an invitation to the staff they have not
accepted; orders stay for the shop's accounting without name, address, email,
phone or note; the customer's figures go; queued mails to them are dropped; webhook
deliveries, mails and errors kept in the outbox lose every value that named them, and
so does the audit trail (each value's salted digest stays, so its chain still verifies:
``audit.chain``); and every finished export file of the shop is deleted (any of them may
list them).

What stays, on purpose: an order's number, lines, amounts, country (taxes are due
where it was delivered) and language; a discount code's per-customer count, which
holds a keyed digest of the address (``discounts.customer_key``), never the address; a
gift card sent to them keeps its balance and ledger (whoever has the code may spend
it) but loses their address; the person's product reviews, with their rating and
words but without their account or name (what named them in the words is scrubbed like
the outbox), so the shop's figures and other shoppers' reading stay true.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from ..accounts.models import ApiKey, StaffInvitation, User, UserSession, WebAuthn, roles_users
from ..accounts.services import AccountError, normalize_email
from ..addresses.models import SavedAddress
from ..audit import services as audit
from ..cart.models import Cart
from ..extensions import db
from ..home import services as home
from ..orders.aggregates import GUEST, CustomerTotal
from ..orders.giftcards.models import GiftCard
from ..orders.models import Order
from ..orders.refunds import Refund
from ..outbox.models import DEAD, PENDING, SENDING, OutboxMessage
from ..reminders import services as reminders
from ..reviews import services as reviews
from ..tenancy.context import current_tenant
from ..tenancy.models import utcnow
from ..transfers.services import expire_files

BATCH = 500  # orders read or changed per statement
ERASED = "[erased]"  # what a scrubbed value reads as in kept text
SCRUB_MIN = 4  # shorter values (a house number, "NY") are not hunted in free text


class PrivacyRefused(AccountError):
    """An erasure the platform will not do (a staff account: remove its role first)."""


@dataclass(frozen=True)
class Erased:
    """What an erasure changed, for the owner's message and the operator's line."""

    account: bool
    orders: int
    outbox: int
    exports: int


def _account(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _order_ids(email: str, user_id: int | None) -> list[int]:
    """The person's orders, by address and by account (two index reads, no scan)."""
    ids = set(db.session.scalars(select(Order.id).where(Order.email == email)))
    if user_id is not None:
        ids.update(db.session.scalars(select(Order.id).where(Order.user_id == user_id)))
    return sorted(ids)


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _order_json(order: Order, refunds: list[Refund]) -> dict[str, Any]:
    return {
        "number": order.number,
        "created_at": _when(order.created_at),
        "status": order.status,
        "email": order.email,
        "name": order.name,
        "phone": order.phone,
        "address": {
            "address": order.address,
            "city_area": order.city_area,
            "city": order.city,
            "country_area": order.country_area,
            "postal_code": order.postal_code,
            "sorting_code": order.sorting_code,
            "country": order.country,
        },
        "note": order.note,
        "language": order.locale,
        "lines": [
            {
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "line_total": line.line_total,
            }
            for line in order.lines
        ],
        "currency": order.currency,
        "subtotal": order.subtotal,
        "shipping": order.shipping,
        "discount": order.discount,
        "discount_code": order.discount_code,
        "tax": order.tax,
        "total": order.total,
        "payment_method": order.payment_method,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "refunds": [
            {"amount": r.amount, "reason": r.reason, "created_at": _when(r.created_at)}
            for r in refunds
        ],
    }


def person_data(email: str) -> Iterator[str]:
    """Everything the bound shop holds about ``email``, as JSON text in pieces (the
    orders a batch at a time). Amounts are in the currency's minor units."""
    email = normalize_email(email)
    user = _account(email)
    head: dict[str, Any] = {
        "shop": current_tenant().slug,
        "exported_at": _when(utcnow()),
        "email": email,
        "account": None,
        "addresses": [],
        "consents": {},
        # The address and consents kept for cart reminders (storefront.reminders).
        "cart_reminders": reminders.person_data(email),
        "gift_cards": _gift_cards_json(email),
        "reviews": [],
        # The home page's newsletter sign-up (storefront.home), if they left the address.
        "newsletter": home.person_signup(email),
    }
    if user is not None:
        head["account"] = {
            "email": user.email,
            "name": user.name,
            "created_at": _when(user.created_at),
            "confirmed_at": _when(user.confirmed_at),
            "language": user.locale,
            "roles": user.role_names,
            "active": user.active,
            "authenticator_app": bool(user.tf_primary_method),
            # What the shop keeps of each passkey: its name and use (the public key and
            # the ids are the device's, and say nothing about the person).
            "passkeys": [
                {
                    "name": cred.name,
                    "use": cred.usage,
                    "created_at": _when(cred.created_at),
                    "last_used_at": _when(cred.lastuse_datetime),
                }
                for cred in user.webauthn
            ],
        }
        head["consents"] = {"order_mails": user.order_mails} if user.order_mails is not None else {}
        head["reviews"] = reviews.person_reviews(user.id)
        head["addresses"] = [
            {
                "name": a.name,
                "address": a.address,
                "city_area": a.city_area,
                "city": a.city,
                "country_area": a.country_area,
                "postal_code": a.postal_code,
                "sorting_code": a.sorting_code,
                "country": a.country,
                "phone": a.phone,
                "default": a.is_default,
                "created_at": _when(a.created_at),
            }
            for a in db.session.scalars(
                select(SavedAddress)
                .where(SavedAddress.user_id == user.id)
                .order_by(SavedAddress.id)
            )
        ]
    text = json.dumps(head, ensure_ascii=False, indent=1)
    yield text[: text.rindex("}")].rstrip() + ',\n "orders": ['
    first = True
    for chunk in _chunks(_order_ids(email, user.id if user is not None else None)):
        orders = db.session.scalars(select(Order).where(Order.id.in_(chunk)).order_by(Order.id))
        refunds: dict[int, list[Refund]] = {}
        for refund in db.session.scalars(
            select(Refund).where(Refund.order_id.in_(chunk)).order_by(Refund.id)
        ):
            refunds.setdefault(refund.order_id, []).append(refund)
        for order in orders:
            piece = json.dumps(_order_json(order, refunds.get(order.id, [])), ensure_ascii=False)
            yield ("\n  " if first else ",\n  ") + piece
            first = False
        db.session.expunge_all()  # a long history is not kept in memory
    yield "\n ]\n}\n"


def _gift_cards_of(email: str) -> Any:
    return select(GiftCard).where(func.lower(GiftCard.recipient_email) == email.lower())


def _gift_cards_json(email: str) -> list[dict[str, Any]]:
    """The gift cards sent to ``email`` (never their codes: the shop has only the last
    four characters)."""
    return [
        {
            "last4": card.last4,
            "initial": card.initial,
            "balance": card.balance,
            "currency": card.currency,
            "status": card.status,
            "created_at": _when(card.created_at),
        }
        for card in db.session.scalars(_gift_cards_of(email).order_by(GiftCard.id))
    ]


def _forget_gift_card_recipient(email: str, values: list[str]) -> None:
    """Cards sent to ``email`` keep their balance (the code still spends it) but no
    longer name them: the address goes, the staff's note is scrubbed."""
    for card in db.session.scalars(_gift_cards_of(email)):
        card.recipient_email = ""
        card.note = scrub(card.note, values)
    db.session.flush()


# Erasure --------------------------------------------------------------------------------

_ORDER_BLANKS = {
    "user_id": None,
    "email": "",
    "name": "",
    "address": "",
    "postal_code": "",
    "city": "",
    "city_area": "",
    "country_area": "",
    "sorting_code": "",
    "phone": "",
    "note": "",
    "request_fingerprint": None,  # a digest of a request that carried the address
}


def _values(email: str, user: User | None, ids: list[int]) -> list[str]:
    """What named the person, to hunt in kept free text: the address, names, street
    lines, phones and cities of their account, address book and orders."""
    found = {email}
    if user is not None:
        found.add(user.name or "")
        for a in db.session.scalars(select(SavedAddress).where(SavedAddress.user_id == user.id)):
            found.update((a.name, a.address, a.phone, a.city_area))
    for chunk in _chunks(ids):
        rows = db.session.execute(
            select(Order.name, Order.address, Order.phone, Order.city_area).where(
                Order.id.in_(chunk)
            )
        )
        for row in rows:
            found.update(row)
    return sorted((v for v in found if v and len(v.strip()) >= SCRUB_MIN), key=len, reverse=True)


def _spellings(value: str) -> set[str]:
    """How a value may be written in kept text: as typed, in JSON, in HTML, in both."""
    escaped = html.escape(value)
    spellings = {value, escaped}
    for text in (value, escaped):
        spellings.add(json.dumps(text)[1:-1])
        spellings.add(json.dumps(text, ensure_ascii=False)[1:-1])
    return spellings


def scrub(text: str, values: Iterable[str]) -> str:
    """``text`` with every spelling of every value replaced by ``[erased]``."""
    for value in values:
        for spelling in sorted(_spellings(value), key=len, reverse=True):
            if spelling:
                text = text.replace(spelling, ERASED)
    return text


def _scrub_outbox(email: str, values: list[str]) -> int:
    """Queued mails to the person are dropped; every outbox row (mails, webhook
    deliveries, their errors) loses the values that named them. Rows are found by the
    database (a LIKE per value over the shop's rows), then rewritten here."""
    if not values:
        return 0
    likes = []
    for value in values:
        for spelling in _spellings(value):
            pattern = spelling.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            likes.append(OutboxMessage.payload.like(f"%{pattern}%", escape="\\"))
            likes.append(OutboxMessage.last_error.like(f"%{pattern}%", escape="\\"))
    changed, after = 0, 0
    while True:
        rows = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.id > after, or_(*likes))
            .order_by(OutboxMessage.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return changed
        for row in rows:
            if row.kind == "mail" and row.status in (PENDING, SENDING):
                to = json.loads(row.payload).get("to", "")
                if normalize_email(str(to)) == email:
                    row.status, row.last_error = DEAD, "erased"
            row.payload = scrub(row.payload, values)
            row.last_error = scrub(row.last_error, values)
            changed += 1
        after = rows[-1].id
        db.session.flush()


def _is_staff(user: User) -> bool:
    return bool(
        user.is_staff
        or db.session.scalar(select(ApiKey.id).where(ApiKey.user_id == user.id).limit(1))
    )


def erase(email: str) -> Erased:
    """Remove ``email`` from the bound shop (see the module's docstring). The caller
    commits; one transaction, so an erasure happens whole or not at all."""
    email = normalize_email(email)
    user = _account(email)
    if user is not None and _is_staff(user):
        raise PrivacyRefused(
            f"{email} is staff of this shop: take their staff roles away before erasing them"
        )
    user_id = user.id if user is not None else None
    ids = _order_ids(email, user_id)
    values = _values(email, user, ids)
    _anonymise(ids, values)
    audit.erase_values(values)  # the trail keeps its hashes, not their values
    _forget_gift_card_recipient(email, values)
    if user_id is not None:  # the words stay, without their author (docs/decisions.md)
        reviews.anonymise(user_id, lambda text: scrub(text, values))
    figures = CustomerTotal.email == email
    if user_id is not None:
        figures = or_(figures, CustomerTotal.user_id == user_id)
    db.session.execute(delete(CustomerTotal).where(figures))
    reminders.erase(email)
    # An invitation to the staff they have not accepted: withdrawn (its link dies with it).
    db.session.execute(
        delete(StaffInvitation).where(func.lower(StaffInvitation.email) == email.lower())
    )
    home.erase_signup(email)
    if user is not None:
        for cart in db.session.scalars(select(Cart).where(Cart.user_id == user.id)):
            db.session.delete(cart)
        db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
        db.session.execute(delete(WebAuthn).where(WebAuthn.user_id == user.id))
        db.session.execute(delete(SavedAddress).where(SavedAddress.user_id == user.id))
        db.session.execute(
            delete(roles_users).where(
                roles_users.c.tenant_id == user.tenant_id, roles_users.c.user_id == user.id
            )
        )
        db.session.execute(delete(User).where(User.id == user.id))
    db.session.expire_all()
    outbox = _scrub_outbox(email, values)
    exports = expire_files(limit=None, days=0)
    return Erased(account=user is not None, orders=len(ids), outbox=outbox, exports=exports)


def erase_guest(email: str) -> Erased:
    """The retention of guests' data: the orders ``email`` placed without an account are
    anonymised and its guest figures go. When the address has an account since, the
    account's own retention decides about it, so its mails stay as they are."""
    email = normalize_email(email)
    user = _account(email)
    ids = list(
        db.session.scalars(select(Order.id).where(Order.email == email, Order.user_id.is_(None)))
    )
    values = _values(email, None, ids)
    if user is not None:  # the account's mails are not the guest's to scrub
        values = [v for v in values if v != email]
    _anonymise(ids, values)
    audit.erase_values(values)
    if user is None:  # the account's own retention decides about its cards
        _forget_gift_card_recipient(email, values)
    db.session.execute(
        delete(CustomerTotal).where(CustomerTotal.user_id == GUEST, CustomerTotal.email == email)
    )
    if user is None:  # an account's address is the account's retention's to decide
        reminders.erase(email)
        home.erase_signup(email)
    db.session.expire_all()
    outbox = _scrub_outbox(email, values) if user is None else 0
    exports = expire_files(limit=None, days=0) if ids else 0
    return Erased(account=False, orders=len(ids), outbox=outbox, exports=exports)


def _anonymise(ids: list[int], values: list[str]) -> None:
    for chunk in _chunks(ids):
        db.session.execute(
            update(Order)
            .where(Order.id.in_(chunk))
            .values(**_ORDER_BLANKS, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        for refund in db.session.scalars(select(Refund).where(Refund.order_id.in_(chunk))):
            refund.reason = scrub(refund.reason, values)
