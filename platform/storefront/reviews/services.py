"""Reviews: who may write one, writing it, moderating it, and the product's figures.

Plain functions on the bound shop; they flush, the caller commits (``db.unit_of_work``).

- Eligibility: a signed-in shopper may review a line of one of their own orders once
  the order is paid, shipped or delivered (not while it awaits payment, not once it is
  cancelled or refunded), one review per order line.
- Moderation: a review is ``pending`` until the shop publishes it, unless the shop's
  setting publishes new reviews at once; the shop may hide a published one, reply to
  any, or delete it.
- Figures: a product's ``rating_count`` and ``rating_total`` count its *published*
  reviews. Every move in or out of ``published`` is a conditional UPDATE of the review
  (``WHERE status = <the state read>``) followed, when it took, by an UPDATE of the
  product's two columns by the review's rating: one transaction, and two moderators
  clicking at once move the figures once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select, update

from ..caching import invalidate_shop_cache
from ..catalog.models import Product
from ..extensions import db
from ..orders.models import Order, OrderLine
from ..shared import SafeView
from ..tenancy.models import utcnow
from .models import (
    AUTHOR_MAX,
    BODY_MAX,
    HIDDEN,
    PENDING,
    PUBLISHED,
    REPLY_MAX,
    STATES,
    TITLE_MAX,
    Review,
    ReviewSettings,
)

# The order states in which what was bought may be reviewed (docs/decisions.md).
REVIEWABLE = ("paid", "shipped", "delivered")
MAX_LINKS = 2  # more web addresses than this in one review reads as spam: refused
PAGE_MAX = 100
_LINK = re.compile(r"(?:https?://|www\.)", re.IGNORECASE)
# Control characters but tab and newline: nothing a person types, sometimes what a bot does.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


class ReviewError(ValueError):
    """A review that cannot be written or changed; the message says why.

    ``code``: ``not_a_buyer`` (nothing to review here), ``already_reviewed``, ``invalid``.
    """

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


# Settings ------------------------------------------------------------------------------


def auto_publish() -> bool:
    """Whether the shop publishes new reviews at once (default: after its approval)."""
    return bool(db.session.scalar(select(ReviewSettings.auto_publish)))


def set_auto_publish(value: bool) -> None:
    row = db.session.scalar(select(ReviewSettings))
    if row is None:
        row = ReviewSettings()
        db.session.add(row)
    row.auto_publish = bool(value)
    db.session.flush()


# Eligibility ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reviewable(SafeView):
    """A line of the shopper's orders they may still review (plain values: pages show it)."""

    line_id: int
    product_id: int
    product_slug: str
    title: str
    variant: str | None
    order_number: str
    ordered_at: datetime


def _eligible_lines(user_id: int, *columns: Any) -> Any:
    """The shopper's order lines that may be reviewed (any state of review)."""
    return (
        select(*(columns or (OrderLine, Order.number, Order.created_at, Product.slug)))
        .select_from(OrderLine)
        .join(Order, and_(Order.id == OrderLine.order_id, Order.tenant_id == OrderLine.tenant_id))
        .join(
            Product,
            and_(Product.id == OrderLine.product_id, Product.tenant_id == OrderLine.tenant_id),
        )
        .where(Order.user_id == user_id, Order.status.in_(REVIEWABLE))
    )


def reviewable_lines(user_id: int, limit: int = 50) -> list[Reviewable]:
    """What the shopper bought and has not reviewed yet, newest order first (bounded)."""
    reviewed = select(Review.order_line_id).where(Review.user_id == user_id)
    rows = db.session.execute(
        _eligible_lines(user_id)
        .where(OrderLine.reviewed_at.is_(None), OrderLine.id.not_in(reviewed))
        .order_by(Order.created_at.desc(), OrderLine.id)
        .limit(limit)
    ).all()
    return [
        Reviewable(line.id, line.product_id, slug, line.title, line.variant, number, created)
        for line, number, created, slug in rows
    ]


def reviewable_line(user_id: int, line_id: int) -> Reviewable:
    """The line, if the shopper may review it now; ``ReviewError`` says why not."""
    row = db.session.execute(_eligible_lines(user_id).where(OrderLine.id == line_id)).first()
    if row is None:
        raise ReviewError(
            _("Only a buyer can review a product, once the order is paid."), "not_a_buyer"
        )
    line, number, created, slug = row
    if (
        line.reviewed_at is not None  # reviewed once, even if that review is deleted since
        or db.session.scalar(select(Review.id).where(Review.order_line_id == line.id)) is not None
    ):
        raise ReviewError(_("You have already reviewed this purchase."), "already_reviewed")
    return Reviewable(line.id, line.product_id, slug, line.title, line.variant, number, created)


def line_for_product(user_id: int, product_id: int) -> Reviewable:
    """The shopper's oldest purchase of the product that is not reviewed yet."""
    found = db.session.execute(
        _eligible_lines(user_id, OrderLine.id, OrderLine.reviewed_at)
        .where(OrderLine.product_id == product_id)
        .order_by(OrderLine.id)
        .limit(50)
    ).all()
    if not found:
        raise ReviewError(
            _("Only a buyer can review a product, once the order is paid."), "not_a_buyer"
        )
    lines = [line_id for line_id, _reviewed in found]
    done = {line_id for line_id, reviewed in found if reviewed is not None} | set(
        db.session.scalars(select(Review.order_line_id).where(Review.order_line_id.in_(lines)))
    )
    for line_id in lines:
        if line_id not in done:
            return reviewable_line(user_id, line_id)
    raise ReviewError(_("You have already reviewed this purchase."), "already_reviewed")


# Writing -------------------------------------------------------------------------------


def clean_text(value: str | None, limit: int, what: str) -> str:
    """Text as the shopper wrote it, trimmed, without control characters; bounded."""
    text = _CONTROL.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n")).strip()
    # A lone surrogate (JSON can spell one) is no text any database stores: "?" instead.
    text = text.encode("utf-8", "replace").decode("utf-8")
    if len(text) > limit:
        raise ReviewError(_("%(what)s may be at most %(num)s characters.", what=what, num=limit))
    return text


def _check_spam(*texts: str) -> None:
    if sum(len(_LINK.findall(text)) for text in texts) > MAX_LINKS:
        raise ReviewError(_("A review may contain at most %(num)s web addresses.", num=MAX_LINKS))


def display_name(name: str | None) -> str:
    """What a review shows of its author: the first name and the last name's initial."""
    words = (name or "").split()
    if not words:
        return ""
    shown = words[0] if len(words) == 1 else f"{words[0]} {words[-1][0]}."
    return shown[:AUTHOR_MAX]


def create_review(
    user: Any,
    line: Reviewable,
    rating: int,
    title: str | None = "",
    body: str | None = "",
    locale: str | None = None,
) -> Review:
    """The shopper's review of ``line`` (from ``reviewable_line``): published at once
    when the shop says so, else pending. Flushes; a second review of the same line loses
    to the unique key (the caller turns the IntegrityError into "already reviewed")."""
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ReviewError(_("Choose a rating from 1 to 5 stars."))
    title = clean_text(title, TITLE_MAX, _("The title"))
    body = clean_text(body, BODY_MAX, _("The review"))
    _check_spam(title, body)
    review = Review(
        product_id=line.product_id,
        order_line_id=line.line_id,
        user_id=user.id,
        author_name=display_name(user.name),
        rating=rating,
        title=title,
        body=body,
        locale=(locale or "")[:16] or None,
        status=PENDING,
    )
    db.session.add(review)
    db.session.flush()
    # The line is reviewed for good: a review deleted later does not open it again. A
    # review written meanwhile of a line whose review was deleted finds it taken.
    claimed = db.session.execute(
        update(OrderLine)
        .where(OrderLine.id == line.line_id, OrderLine.reviewed_at.is_(None))
        .values(reviewed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        raise ReviewError(_("You have already reviewed this purchase."), "already_reviewed")
    if auto_publish():
        set_state(review, PUBLISHED)
    return review


# Moderation ----------------------------------------------------------------------------


def get_review(review_id: int) -> Review | None:
    return db.session.get(Review, review_id) if 0 < review_id < 2**31 else None


def _move_figures(product_id: int, count: int, total: int) -> None:
    db.session.execute(
        update(Product)
        .where(Product.id == product_id)
        .values(
            rating_count=Product.rating_count + count,
            rating_total=Product.rating_total + total,
        )
        .execution_options(synchronize_session=False)
    )


def set_state(review: Review, state: str) -> bool:
    """Move ``review`` to ``state`` (pending, published, hidden); its product's figures
    follow in the same transaction. False when it was there already. Flushes."""
    if state not in STATES:
        raise ReviewError(_("Unknown review state."))
    db.session.flush()
    # The state as the database has it now, the row locked until the commit (a locking
    # read sees the latest commit, not the transaction's snapshot): a delete or a second
    # move that follows in this transaction works from it.
    before = db.session.scalar(
        select(Review.status).where(Review.id == review.id).with_for_update()
    )
    if before is None or before == state:
        return False
    now = utcnow()
    values: dict[str, Any] = {"status": state, "updated_at": now}
    if state == PUBLISHED and review.published_at is None:
        values["published_at"] = now
    moved = db.session.execute(
        update(Review)
        .where(Review.id == review.id, Review.status == before)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not moved:  # another moderator moved it first: their move counted
        db.session.refresh(review)
        return False
    if state == PUBLISHED:
        _move_figures(review.product_id, 1, review.rating)
    elif before == PUBLISHED:
        _move_figures(review.product_id, -1, -review.rating)
    db.session.expire(review)
    invalidate_shop_cache()  # product pages and listings show the figures
    return True


def publish(review: Review) -> bool:
    return set_state(review, PUBLISHED)


def hide(review: Review) -> bool:
    return set_state(review, HIDDEN)


def set_reply(review: Review, text: str | None) -> None:
    """The shop's answer under the review (empty: none). Flushes."""
    reply = clean_text(text, REPLY_MAX, _("The reply"))
    review.reply = reply or None
    review.replied_at = utcnow() if reply else None
    db.session.flush()
    if review.status == PUBLISHED:
        invalidate_shop_cache()


def delete_review(review: Review) -> None:
    """Remove a review; a published one leaves its product's figures first."""
    set_state(review, HIDDEN)
    db.session.delete(review)
    db.session.flush()


# Reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where a newest-first listing stopped: the last row's (created_at, id)."""

    created_at: datetime
    id: int


EPOCH = datetime(1970, 1, 1)
CURSOR_PATTERN = r"^[0-9]{1,16}\.[0-9]{1,10}$"  # the API's: microseconds, then the id


def cursor_text(cursor: Cursor | None) -> str:
    """``<microseconds since 1970>.<id>``, opaque to readers ("" for none)."""
    if cursor is None:
        return ""
    micros = (cursor.created_at - EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{cursor.id}"


def parse_cursor(text: str | None) -> Cursor | None:
    """A cursor from ``cursor_text``; None for none, ``ReviewError`` for one off its shape."""
    if not text:
        return None
    if not re.fullmatch(CURSOR_PATTERN, text):
        raise ReviewError(_("That page of reviews does not exist."))
    micros, row_id = text.split(".")
    return Cursor(EPOCH + timedelta(microseconds=int(micros)), min(int(row_id), 2**31 - 1))


def _before(cursor: Cursor | None) -> Any:
    if cursor is None:
        return None
    return and_(
        Review.created_at <= cursor.created_at,
        or_(
            Review.created_at < cursor.created_at,
            and_(Review.created_at == cursor.created_at, Review.id < cursor.id),
        ),
    )


def _page(stmt: Any, cursor: Cursor | None, limit: int) -> tuple[list[Review], Cursor | None]:
    limit = max(1, min(limit, PAGE_MAX))
    after = _before(cursor)
    if after is not None:
        stmt = stmt.where(after)
    rows = list(
        db.session.scalars(
            stmt.order_by(Review.created_at.desc(), Review.id.desc()).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = Cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return rows, nxt


def published_reviews(
    product_id: int, cursor: Cursor | None = None, limit: int = 10
) -> tuple[list[Review], Cursor | None]:
    """A page of the product's published reviews, newest first (``ix_reviews_product_state``)."""
    stmt = select(Review).where(Review.product_id == product_id, Review.status == PUBLISHED)
    return _page(stmt, cursor, limit)


def queue(
    state: str | None = None, cursor: Cursor | None = None, limit: int = 25
) -> tuple[list[Review], Cursor | None]:
    """The moderation queue: every review, or those in ``state``, newest first."""
    stmt = select(Review)
    if state:
        if state not in STATES:
            raise ReviewError(_("Unknown review state."))
        stmt = stmt.where(Review.status == state)
    return _page(stmt, cursor, limit)


def pending_count(limit: int = 1000) -> int:
    """How many reviews wait for the shop (counted up to ``limit``: a badge, not a report)."""
    ids = select(Review.id).where(Review.status == PENDING).limit(limit).subquery()
    return int(db.session.scalar(select(func.count()).select_from(ids)) or 0)


def products_of(reviews: Sequence[Review]) -> dict[int, tuple[str, str]]:
    """(slug, title) of the reviews' products, in one statement."""
    ids = {r.product_id for r in reviews}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Product.id, Product.slug, Product.title).where(Product.id.in_(ids))
    )
    return {pid: (slug, title) for pid, slug, title in rows}


def user_reviews(user_id: int, limit: int = 200) -> list[Review]:
    """The shopper's own reviews, newest first (bounded)."""
    return list(
        db.session.scalars(
            select(Review).where(Review.user_id == user_id).order_by(Review.id.desc()).limit(limit)
        )
    )


def figures(product_id: int) -> tuple[int, int]:
    """(count, total) of the product's published reviews, as stored on its row."""
    row = db.session.execute(
        select(Product.rating_count, Product.rating_total).where(Product.id == product_id)
    ).first()
    return (row[0], row[1]) if row else (0, 0)


def recount(product_id: int) -> tuple[int, int]:
    """The figures counted from the reviews themselves (tests and the operator's check)."""
    row = db.session.execute(
        select(func.count(Review.id), func.coalesce(func.sum(Review.rating), 0)).where(
            Review.product_id == product_id, Review.status == PUBLISHED
        )
    ).one()
    return int(row[0]), int(row[1])


# Privacy -------------------------------------------------------------------------------


def person_reviews(user_id: int) -> list[dict[str, Any]]:
    """The person's reviews for their data export."""
    reviews = user_reviews(user_id, limit=10_000)
    products = products_of(reviews)
    return [
        {
            "product": products.get(r.product_id, ("", ""))[1],
            "rating": r.rating,
            "title": r.title,
            "body": r.body,
            "status": r.status,
            "shop_reply": r.reply,
            "created_at": r.created_at.isoformat() if r.created_at else None,
        }
        for r in reviews
    ]


def anonymise(user_id: int, scrub: Any) -> int:
    """The person's reviews stay (the shop's other shoppers read them, the figures count
    them) without their author: no account, no name, and ``scrub`` takes what named them
    out of the words. Returns how many. Flushes."""
    reviews = user_reviews(user_id, limit=10_000)
    for review in reviews:
        review.user_id = None
        review.author_name = ""
        review.title = scrub(review.title)[:TITLE_MAX]
        review.body = scrub(review.body)
        if review.reply:
            review.reply = scrub(review.reply)
    if reviews:
        db.session.flush()
        invalidate_shop_cache()
    return len(reviews)


def review_limit() -> tuple[str, str]:
    """The per-account and per-shop limits on new reviews (Flask-Limiter's notation)."""
    config = current_app.config
    return (
        str(config.get("REVIEW_RATE_LIMIT", "5 per hour")),
        str(config.get("REVIEW_RATE_LIMIT_SHOP", "300 per hour")),
    )
