"""What pages and shop templates see of reviews: plain, read-only values.

A review's words are the shopper's, shown as they wrote them in the language they wrote
them in (``lang``), always as text: templates autoescape them, nothing turns them into
markup or links. Only the labels around them are translated.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g
from flask_babel import format_date

from ..shared import SafeView
from .models import Review
from .services import cursor_text, published_reviews

FIRST_PAGE = 5  # what a product page shows; the rest on its reviews page


@dataclass(frozen=True)
class ReviewView(SafeView):
    id: int
    rating: int
    title: str
    body: str
    author: str  # "" once erased or never named: the template says "A shopper"
    date: str  # in the reader's language
    iso_date: str  # for <time datetime> and JSON-LD
    lang: str  # the language it was written in, e.g. "de" ("" unknown)
    reply: str
    status: str

    @property
    def paragraphs(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.body.split("\n\n") if p.strip())


@dataclass(frozen=True)
class ReviewsView(SafeView):
    """A page of a product's published reviews with the product's figures."""

    count: int
    average: str
    reviews: tuple[ReviewView, ...]
    next_cursor: str  # "" on the last page


def review_view(review: Review) -> ReviewView:
    created = review.created_at
    return ReviewView(
        id=review.id,
        rating=review.rating,
        title=review.title or "",
        body=review.body or "",
        author=review.author_name or "",
        date=format_date(created, "medium") if created else "",
        iso_date=created.date().isoformat() if created else "",
        lang=(review.locale or "").split("_")[0],
        reply=review.reply or "",
        status=review.status,
    )


def product_reviews(product_id: int, count: int = 0, average: str = "") -> ReviewsView:
    """The first page of the product's published reviews (none read when ``count`` is 0),
    kept for the request: the page and its JSON-LD read it once."""
    kept = g.setdefault("storefront_reviews", {})
    if product_id in kept:
        return kept[product_id]  # type: ignore[no-any-return]
    rows, nxt = published_reviews(product_id, None, FIRST_PAGE) if count else ([], None)
    view = ReviewsView(
        count=count,
        average=average,
        reviews=tuple(review_view(r) for r in rows),
        next_cursor=cursor_text(nxt),
    )
    kept[product_id] = view
    return view
