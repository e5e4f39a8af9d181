"""Reviews in the API: a product's published reviews (public, by cursor), a shopper's
review of what they bought, and the shop's moderation under ``/api/v1/admin/reviews``.

Review text is the shopper's, returned as plain text: a client shows it escaped.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _
from flask_security import current_user
from sqlalchemy.exc import IntegrityError

from ..catalog import services as catalog
from ..catalog.views_model import rating_average
from ..db import unit_of_work
from ..extensions import csrf, db
from ..i18n import current_locale
from ..problems import Conflict
from ..reviews import services as reviews
from ..reviews.limits import TooManyReviews, count_review
from ..reviews.models import Review
from . import serializers as out
from .access import public, requires_scope
from .admin import staff
from .contract import CURSOR, LOCATION, envelope, in_query, init_contract, operation, page_of, ref
from .errors import ApiError, body, init_api_errors
from .http import cacheable, limit_arg
from .review_schemas import AdminReview, ReviewIn, ReviewPageMeta, ReviewPatch
from .review_schemas import Review as ReviewOut

bp = Blueprint("api_reviews", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
init_api_errors(bp)
init_contract(bp)


def _when(value: Any) -> Any:
    """A moment in UTC as the API writes every timestamp (serializers.when: a trailing Z)."""
    return out.when(value) if value is not None else None


def review_data(row: Review, slug: str) -> dict[str, Any]:
    data = {
        "id": row.id,
        "product": slug,
        "rating": row.rating,
        "title": row.title or "",
        "body": row.body or "",
        "author": row.author_name or None,
        "language": (row.locale or "").split("_")[0] or None,
        "reply": row.reply,
        "replied_at": _when(row.replied_at),
        "created_at": _when(row.created_at),
    }
    return ReviewOut.model_validate(data).model_dump(mode="json")


def admin_review_data(row: Review, slug: str) -> dict[str, Any]:
    data = {
        **review_data(row, slug),
        "status": row.status,
        "order_line_id": row.order_line_id,
        "published_at": _when(row.published_at),
    }
    return AdminReview.model_validate(data).model_dump(mode="json")


def _cursor() -> reviews.Cursor | None:
    try:
        return reviews.parse_cursor(request.args.get("cursor"))
    except reviews.ReviewError:
        raise ApiError(
            400, _("cursor is not one this API gave out: use meta.next_cursor.")
        ) from None


def _product(slug: str) -> Any:
    found = catalog.get_product(slug) if len(slug) <= 120 else None
    if found is None:
        raise ApiError(404, _("No such product."))
    return found


@bp.get("/products/<slug>/reviews")
@operation(
    "listProductReviews",
    "reviews",
    "A product's published reviews, newest first, by cursor",
    ok=(200, page_of("Review", "ReviewPageMeta"), "A page of reviews and the product's figures"),
    description="meta has the product's review count and average rating (of every "
    "published review, not only this page's). Review text is plain text as the shopper "
    "wrote it: show it escaped.",
    params=CURSOR,
    cached=True,
)
@public
def product_reviews(slug: str) -> Response:
    product = _product(slug)
    limit = limit_arg()
    rows, nxt = reviews.published_reviews(product.id, _cursor(), limit)
    meta = ReviewPageMeta(
        limit=limit,
        next_cursor=reviews.cursor_text(nxt) or None,
        rating_count=product.rating_count,
        rating_average=rating_average(product.rating_count, product.rating_total) or None,
    )
    response = jsonify(data=[review_data(r, product.slug) for r in rows], meta=meta.model_dump())
    if nxt is not None:
        response.headers["Link"] = (
            f'<{request.base_url}?cursor={reviews.cursor_text(nxt)}&limit={limit}>; rel="next"'
        )
    return cacheable(response)


@bp.post("/products/<slug>/reviews")
@operation(
    "createProductReview",
    "reviews",
    "Review a product the signed-in shopper bought",
    ok=(201, envelope(ref("AdminReview")), "The review, published or waiting for approval"),
    description="The shopper must have bought the product in an order that is paid, "
    "shipped or delivered; one review per order line (409 already_reviewed). The shop "
    "publishes it at once or after its approval (status says which). Limited per "
    "account and per shop (429).",
    body=ReviewIn,
    errors=(409,),
    ok_headers=LOCATION,
)
@requires_scope("reviews:write")
def create_review(slug: str) -> tuple[Response, int, dict[str, str]]:
    product = _product(slug)
    data = body(ReviewIn)
    user = current_user._get_current_object()
    try:
        if data.order_line_id is not None:
            line = reviews.reviewable_line(user.id, data.order_line_id)
            if line.product_id != product.id:
                raise reviews.ReviewError("That order line is not this product.", "not_a_buyer")
        else:
            line = reviews.line_for_product(user.id, product.id)
    except reviews.ReviewError as exc:
        raise _refusal(exc) from None
    try:
        count_review(user.id)
    except TooManyReviews as busy:
        raise ApiError(
            429, _("Too many reviews: try again in %(seconds)s s.", seconds=busy.retry_after)
        ) from None
    try:
        row = unit_of_work(
            lambda: reviews.create_review(
                user, line, data.rating, data.title, data.body, locale=current_locale()
            )
        )
    except reviews.ReviewError as exc:
        raise _refusal(exc) from None
    except IntegrityError:
        db.session.rollback()
        raise _refusal(reviews.ReviewError("already reviewed", "already_reviewed")) from None
    # Where it shows once published: the product's reviews.
    return jsonify(data=admin_review_data(row, product.slug)), 201, {"Location": request.base_url}


def _refusal(exc: reviews.ReviewError) -> ApiError:
    if exc.code == "already_reviewed":
        return ApiError(
            409, _("This purchase has a review already."), code=Conflict.ALREADY_REVIEWED
        )
    if exc.code == "not_a_buyer":
        return ApiError(
            403, _("Only a buyer can review a product, once the order is paid."), code="forbidden"
        )
    return ApiError(422, str(exc), fields={"body": [str(exc)]})


# Moderation ----------------------------------------------------------------------------


@bp.get("/admin/reviews")
@operation(
    "listAdminReviews",
    "admin: reviews",
    "Every review, newest first (filter by state), by cursor: the moderation queue",
    ok=(200, page_of("AdminReview", "CursorMeta"), "A page of reviews"),
    params=[*CURSOR, in_query("status", {"enum": ["pending", "published", "hidden"]})],
)
@staff("reviews:read")
def admin_reviews() -> Response:
    state = request.args.get("status") or None
    limit = limit_arg(50)
    try:
        rows, nxt = reviews.queue(state, _cursor(), limit)
    except reviews.ReviewError as exc:
        raise ApiError(400, str(exc)) from None
    products = reviews.products_of(rows)
    items = [admin_review_data(r, products.get(r.product_id, ("", ""))[0]) for r in rows]
    response = jsonify(
        data=items, meta={"limit": limit, "next_cursor": reviews.cursor_text(nxt) or None}
    )
    if nxt is not None:
        args = {**request.args.to_dict(), "cursor": reviews.cursor_text(nxt)}
        query = "&".join(f"{k}={v}" for k, v in args.items())
        response.headers["Link"] = f'<{request.base_url}?{query}>; rel="next"'
    return response


def _review(review_id: int) -> Review:
    row = reviews.get_review(review_id)
    if row is None:
        raise ApiError(404, _("No such review."))
    return row


def _admin_answer(row: Review) -> Response:
    products = reviews.products_of([row])
    return jsonify(data=admin_review_data(row, products.get(row.product_id, ("", ""))[0]))


@bp.get("/admin/reviews/<int:review_id>")
@operation(
    "getAdminReview",
    "admin: reviews",
    "One review, in any state",
    ok=(200, envelope(ref("AdminReview")), "The review"),
)
@staff("reviews:read")
def admin_review(review_id: int) -> Response:
    return _admin_answer(_review(review_id))


@bp.patch("/admin/reviews/<int:review_id>")
@operation(
    "moderateReview",
    "admin: reviews",
    "Publish, hide or answer a review",
    ok=(200, envelope(ref("AdminReview")), "The review"),
    description="status moves it (its product's count and average follow in the same "
    "transaction); reply sets the shop's answer (an empty string removes it).",
    body=ReviewPatch,
)
@staff("reviews:write")
def moderate_review(review_id: int) -> Response:
    change = body(ReviewPatch)

    def work() -> Review:
        row = _review(review_id)
        if change.status is not None:
            reviews.set_state(row, str(change.status))
        if change.reply is not None:
            reviews.set_reply(row, change.reply)
        return row

    try:
        row = unit_of_work(work)
    except reviews.ReviewError as exc:
        raise ApiError(422, str(exc), fields={"reply": [str(exc)]}) from None
    return _admin_answer(row)


@bp.delete("/admin/reviews/<int:review_id>")
@operation(
    "deleteReview",
    "admin: reviews",
    "Delete a review for good (a published one leaves its product's figures)",
    ok=(204, None, "Deleted"),
)
@staff("reviews:write")
def delete_review(review_id: int) -> tuple[str, int]:
    unit_of_work(lambda: reviews.delete_review(_review(review_id)))
    return "", 204
