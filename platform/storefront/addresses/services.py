"""The address book: a signed-in shopper's addresses in the bound shop.

Every function takes the shopper's id and reads or writes only that shopper's rows (the
scoping hook adds the shop): an id from another account, or another shop, is simply not
found. Functions flush; the request commits.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select, update

from ..extensions import db
from .countries import normalize
from .models import SavedAddress
from .views_model import values_of

MAX_ADDRESSES = 50  # a bound on what one account may store


class AddressBookFull(ValueError):
    """The shopper has ``MAX_ADDRESSES`` addresses already."""


def list_addresses(user_id: int) -> list[SavedAddress]:
    """The shopper's addresses, the default first, then the newest."""
    return list(
        db.session.scalars(
            select(SavedAddress)
            .where(SavedAddress.user_id == user_id)
            .order_by(SavedAddress.is_default.desc(), SavedAddress.id.desc())
            .limit(MAX_ADDRESSES)
        )
    )


def get_address(user_id: int, address_id: int) -> SavedAddress | None:
    """The shopper's address ``address_id``; None when there is none of theirs."""
    return db.session.scalar(
        select(SavedAddress).where(SavedAddress.id == address_id, SavedAddress.user_id == user_id)
    )


def default_address(user_id: int) -> SavedAddress | None:
    return db.session.scalar(
        select(SavedAddress)
        .where(SavedAddress.user_id == user_id)
        .order_by(SavedAddress.is_default.desc(), SavedAddress.id.desc())
        .limit(1)
    )


def add_address(
    user_id: int, values: Mapping[str, str], make_default: bool = False
) -> SavedAddress:
    """Save an address (checked for its country: ``countries.AddressInvalid``); the
    shopper's first address is their default."""
    kept = normalize(values)
    count = db.session.scalar(
        select(func.count()).select_from(SavedAddress).where(SavedAddress.user_id == user_id)
    )
    if (count or 0) >= MAX_ADDRESSES:
        raise AddressBookFull(f"at most {MAX_ADDRESSES} addresses")
    row = SavedAddress(user_id=user_id, **kept)
    db.session.add(row)
    db.session.flush()
    if make_default or not count:
        set_default(user_id, row.id)
    return row


def update_address(row: SavedAddress, values: Mapping[str, str]) -> SavedAddress:
    """Change a saved address (checked like a new one)."""
    for name, value in normalize(values).items():
        setattr(row, name, value)
    db.session.flush()
    return row


def set_default(user_id: int, address_id: int) -> bool:
    """Make one of the shopper's addresses their default (and no other); False when the
    address is not theirs."""
    if get_address(user_id, address_id) is None:
        return False
    db.session.execute(
        update(SavedAddress)
        .where(SavedAddress.user_id == user_id)
        .values(is_default=SavedAddress.id == address_id)
        .execution_options(synchronize_session="fetch")
    )
    db.session.flush()
    return True


def delete_address(user_id: int, address_id: int) -> bool:
    """Delete one of the shopper's addresses; when it was the default, the newest one left
    becomes the default. False when the address is not theirs."""
    row = get_address(user_id, address_id)
    if row is None:
        return False
    was_default = row.is_default
    db.session.delete(row)
    db.session.flush()
    if was_default:
        newest = default_address(user_id)
        if newest is not None:
            set_default(user_id, newest.id)
    return True


def remember(user_id: int, values: Mapping[str, str]) -> SavedAddress | None:
    """Checkout's "save this address": saved unless the same address is in the book
    already (or the book is full: the order matters more than the book)."""
    kept = normalize(values)
    for row in list_addresses(user_id):
        if values_of(row) == kept:
            return row
    try:
        return add_address(user_id, kept)
    except AddressBookFull:
        return None
