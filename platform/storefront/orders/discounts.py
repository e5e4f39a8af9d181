"""Discount codes: a percentage, an amount or free shipping, with a minimum order, dates,
a total limit and a per-customer limit that hold under concurrent checkouts.

Uses are counted by one conditional UPDATE (``uses < max_uses``): of 50 checkouts racing
for a code limited to 10, exactly 10 change the row. Per customer, each redemption gets
the next number for that customer, under a unique index: two checkouts by one customer
racing for the same last use cannot both get it. A customer is their address as the
limit means it (``customer_key``): case, ``+tags`` and look-alike letters do not make a
second one. A use is not given back when an order is cancelled (documented in
docs/operators.md).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

import icu  # type: ignore[import-untyped]
from flask_babel import gettext as _
from sqlalchemy import Index, Integer, String, UniqueConstraint, func, select, true, update
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Identifier, Timestamp
from ..extensions import Model, db
from ..problems import Conflict, Refused
from ..tenancy.models import utcnow
from ..tenancy.scoping import TenantScoped, scoped_fk
from .pricing import DISCOUNT_KINDS, DiscountIn

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,39}$")


class DiscountError(Refused):
    """A code that cannot be used (or made); the message says why, to the shopper."""

    code = Conflict.DISCOUNT_NOT_APPLICABLE


class DiscountCode(Model, TenantScoped):
    __tablename__ = "discount_codes"
    __scoped_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(Identifier(40))
    kind: Mapped[str] = mapped_column(String(16))  # percent | amount | free_shipping
    value: Mapped[int] = mapped_column(Integer, default=0)  # percent, or minor units
    min_order: Mapped[int] = mapped_column(Integer, default=0)  # minor units
    starts_at: Mapped[datetime | None] = mapped_column(Timestamp)
    ends_at: Mapped[datetime | None] = mapped_column(Timestamp)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    max_uses_per_customer: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    def as_discount(self) -> DiscountIn:
        return DiscountIn(self.kind, self.value)


class DiscountRedemption(Model, TenantScoped):
    __tablename__ = "discount_redemptions"
    __scoped_args__ = (
        Index(
            "uq_discount_redemptions_customer_use",
            "tenant_id",
            "code_id",
            "customer",
            "sequence",
            unique=True,
        ),
        scoped_fk("code_id", "discount_codes"),
        scoped_fk("order_id", "orders"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_id: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[int] = mapped_column(Integer)
    customer: Mapped[str] = mapped_column(String(255))  # customer_key(email), not the address
    sequence: Mapped[int] = mapped_column(Integer)  # this customer's nth use of the code
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


# ICU's SpoofChecker: the skeleton of UTS #39 (confusables.txt of the ICU it runs on).
# Its const methods are thread-safe, so one serves every request.
_SPOOF = icu.SpoofChecker()


def customer_key(email: str) -> str:
    """One customer per address as a per-customer limit means it: ``A@EX.COM``,
    ``a+promo@ex.com`` and ``а@ex.com`` (a Cyrillic ``а``) are all ``a@ex.com``'s key.

    NFKC and case-folding first (UTS #39 compares case-insensitively by folding before
    the skeleton), then the skeleton folds look-alike letters to one prototype, then the
    ``+tag`` of the local part goes (after the skeleton, so a look-alike plus is a plus).
    The key is for comparing only: it is not an address (``m`` becomes ``rn``).
    """
    text = unicodedata.normalize("NFKC", (email or "")[:1000]).strip().casefold()
    text = _SPOOF.getSkeleton(0, text)  # the type argument is ignored by ICU since 58
    local, at, domain = text.rpartition("@")
    if at:
        text = f"{local.split('+', 1)[0]}@{domain.rstrip('.')}"
    return text[:255]


def normalize_code(text: str) -> str:
    return (text or "").strip().upper()[:40]


def create_code(
    code: str,
    kind: str,
    value: int = 0,
    *,
    min_order: int = 0,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    max_uses: int | None = None,
    max_uses_per_customer: int | None = None,
) -> DiscountCode:
    """A new code for the bound shop (flushes; the caller commits)."""
    code = normalize_code(code)
    if not CODE.match(code):
        raise DiscountError(_("A code is 2 to 40 letters, digits, dashes or underscores."))
    if kind not in DISCOUNT_KINDS:
        raise DiscountError(_("Choose a percentage, an amount or free shipping."))
    if kind == "percent" and not 1 <= value <= 100:
        raise DiscountError(_("A percentage is between 1 and 100."))
    if kind == "amount" and not 1 <= value <= 2_000_000_000:
        raise DiscountError(_("An amount is more than zero."))
    for limit in (max_uses, max_uses_per_customer):
        if limit is not None and not 1 <= limit <= 10_000_000:
            raise DiscountError(_("A limit is a whole number from 1 up."))
    if starts_at and ends_at and ends_at <= starts_at:
        raise DiscountError(_("The end must come after the start."))
    if db.session.scalar(select(DiscountCode.id).where(DiscountCode.code == code)) is not None:
        raise DiscountError(_("The code %(code)s exists already.", code=code))
    row = DiscountCode(
        code=code,
        kind=kind,
        value=value if kind != "free_shipping" else 0,
        min_order=max(0, min_order),
        starts_at=starts_at,
        ends_at=ends_at,
        max_uses=max_uses,
        max_uses_per_customer=max_uses_per_customer,
    )
    db.session.add(row)
    db.session.flush()
    return row


def list_codes() -> list[DiscountCode]:
    return list(db.session.scalars(select(DiscountCode).order_by(DiscountCode.created_at.desc())))


def find_usable(text: str, merchandise: int, now: datetime | None = None) -> DiscountCode:
    """The code ``text`` names, if it can be used on merchandise worth ``merchandise``
    right now; ``DiscountError`` saying why not otherwise (limits are checked again, for
    good, when the order is placed)."""
    code = normalize_code(text)
    row = db.session.scalar(select(DiscountCode).where(DiscountCode.code == code))
    now = now or utcnow()
    if row is None or not row.active:
        raise DiscountError(_("The code %(code)s is not valid.", code=code or "—"))
    if row.starts_at and now < row.starts_at:
        raise DiscountError(_("The code %(code)s is not valid yet.", code=code))
    if row.ends_at and now >= row.ends_at:
        raise DiscountError(_("The code %(code)s has expired.", code=code))
    if row.max_uses is not None and row.uses >= row.max_uses:
        raise DiscountError(_("The code %(code)s has been used up.", code=code))
    if merchandise < row.min_order:
        raise DiscountError(_("The code %(code)s needs a larger order.", code=code))
    return row


def redeem(row: DiscountCode, order_id: int, email: str) -> None:
    """Take one use of ``row`` for the order, or raise ``DiscountError``: the total limit by
    a conditional UPDATE, the per-customer one by a numbered redemption under a unique
    index (a racing duplicate fails at flush; the checkout rolls back)."""
    taken = db.session.execute(
        update(DiscountCode)
        .where(
            DiscountCode.id == row.id,
            DiscountCode.active == true(),
            (DiscountCode.max_uses.is_(None)) | (DiscountCode.uses < DiscountCode.max_uses),
        )
        .values(uses=DiscountCode.uses + 1)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if taken != 1:
        raise DiscountError(_("The code %(code)s has been used up.", code=row.code))
    customer = customer_key(email)
    used = _uses_by(row, customer)
    db.session.add(
        DiscountRedemption(code_id=row.id, order_id=order_id, customer=customer, sequence=used + 1)
    )
    db.session.flush()


def check_customer(row: DiscountCode, email: str) -> None:
    """``DiscountError`` when this customer has used ``row`` as often as it allows. Said
    before anything is priced, so the shopper hears about the code, not a changed total;
    ``redeem`` holds the limit for good."""
    _uses_by(row, customer_key(email))


def _uses_by(row: DiscountCode, customer: str) -> int:
    """How often ``customer`` has used ``row``; ``DiscountError`` once that is its limit."""
    used = db.session.scalar(
        select(func.count())
        .select_from(DiscountRedemption)
        .where(DiscountRedemption.code_id == row.id, DiscountRedemption.customer == customer)
    )
    if row.max_uses_per_customer is not None and (used or 0) >= row.max_uses_per_customer:
        raise DiscountError(_("You have already used the code %(code)s.", code=row.code))
    return used or 0
