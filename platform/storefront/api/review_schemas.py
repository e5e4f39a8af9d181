"""The API's review models: what it answers and what it takes (one model each)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..catalog.schemas import WHOLE
from ..listing import MAX_ID
from ..reviews.models import BODY_MAX, REPLY_MAX, TITLE_MAX

ReviewState = Literal["pending", "published", "hidden"]  # reviews.models.STATES
Rating = Annotated[int, Field(ge=1, le=5, description="Stars, 1 to 5."), WHOLE]


class Review(BaseModel):
    """A published review: the shopper's words as they wrote them (plain text, never
    markup: show it escaped), the shop's reply, the labels up to the client."""

    id: int
    product: str = Field(description="The product's slug.")
    rating: int = Field(ge=1, le=5)
    title: str
    body: str = Field(description="Plain text as written; paragraphs split by blank lines.")
    author: str | None = Field(description="First name and initial; null when not shown.")
    language: str | None = Field(description="The language it was written in, e.g. de.")
    reply: str | None = Field(description="The shop's answer, plain text.")
    replied_at: datetime | None
    created_at: datetime


class AdminReview(Review):
    """A review as the shop moderates it: any state, and the order line it reviews."""

    status: ReviewState
    order_line_id: int
    published_at: datetime | None


class ReviewPageMeta(BaseModel):
    limit: int
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last one."
    )
    rating_count: int = Field(description="The product's published reviews.")
    rating_average: str | None = Field(description='Their average to one decimal, e.g. "4.5".')


class ReviewIn(BaseModel):
    """A shopper's review of something they bought (a paid, shipped or delivered order)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    rating: Rating
    title: str = Field(default="", max_length=TITLE_MAX)
    body: str = Field(default="", max_length=BODY_MAX)
    order_line_id: Annotated[int, Field(ge=1, le=MAX_ID), WHOLE] | None = Field(
        default=None,
        description="Which purchase it reviews; without it, the oldest one not reviewed yet.",
    )


class ReviewPatch(BaseModel):
    """The shop's moderation: a new state, a reply (empty removes it), or both."""

    model_config = ConfigDict(extra="forbid", strict=True)

    status: ReviewState | None = None
    reply: str | None = Field(default=None, max_length=REPLY_MAX)


REVIEW_MODELS: tuple[type[BaseModel], ...] = (
    Review,
    AdminReview,
    ReviewPageMeta,
    ReviewIn,
    ReviewPatch,
)
