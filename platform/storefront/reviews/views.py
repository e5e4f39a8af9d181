"""The shopper's side of reviews: what they may review, the form, and a product's reviews."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import auth_required
from sqlalchemy.exc import IntegrityError

from ..caching import shop_cached
from ..catalog import services as catalog
from ..catalog.views_model import rating_average
from ..db import unit_of_work
from ..errors import error_page
from ..extensions import csrf, db
from ..i18n import current_locale, localized
from ..shared import signed_in_user
from ..tenancy.context import current_tenant
from ..themes import add_safe_globals
from . import invitations, services
from .forms import ReviewForm
from .limits import TooManyReviews, count_review
from .views_model import product_reviews, review_view

bp = Blueprint("reviews", __name__)
PAGE_SIZE = 20
STATE_LABELS = {
    "pending": _l("Waiting for the shop's approval"),
    "published": _l("Published"),
    "hidden": _l("Hidden by the shop"),
}


def _user():  # type: ignore[no-untyped-def]
    user = signed_in_user()
    if user is None:  # auth_required ran first
        abort(401)
    return user


@bp.route("/account/reviews")
@auth_required("session")
def mine() -> str:
    """What the shopper may review, and the reviews they wrote."""
    user = _user()
    written = services.user_reviews(user.id, limit=100)
    products = services.products_of(written)
    return render_template(
        "reviews/account.html",
        to_review=services.reviewable_lines(user.id),
        written=[(review_view(r), products.get(r.product_id)) for r in written],
        states={key: str(label) for key, label in STATE_LABELS.items()},
    )


@bp.route("/account/reviews/new/<int:line_id>", methods=["GET", "POST"])
@auth_required("session")
def new(line_id: int) -> ResponseReturnValue:
    """The review form for one line of the shopper's orders."""
    user = _user()
    try:
        line = services.reviewable_line(user.id, line_id)
    except services.ReviewError as exc:
        return error_page(403 if exc.code == "not_a_buyer" else 409, str(exc))
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            count_review(user.id)
        except TooManyReviews as busy:
            response = error_page(
                429,
                _(
                    "You have written many reviews just now. Please try again in %(num)s minutes.",
                    num=max(1, busy.retry_after // 60),
                ),
            )
            response.headers["Retry-After"] = str(busy.retry_after)
            return response
        try:
            review = unit_of_work(
                lambda: services.create_review(
                    user,
                    line,
                    int(form.rating.data),
                    form.title.data,
                    form.body.data,
                    locale=current_locale(),
                )
            )
        except services.ReviewError as exc:
            form.body.errors = [*form.body.errors, str(exc)]
        except IntegrityError:
            db.session.rollback()
            return error_page(409, _("You have already reviewed this purchase."))
        else:
            if review.status == "published":
                flash(_("Thank you! Your review is published."), "success")
            else:
                flash(
                    _("Thank you! Your review will appear once the shop has checked it."), "success"
                )
            return redirect(url_for("reviews.mine"))
    status = 400 if request.method == "POST" else 200
    return render_template("reviews/form.html", form=form, line=line), status


@bp.route("/reviews/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed link is the credential; a mail client's one-click POST has no token
def unsubscribe(token: str) -> ResponseReturnValue:
    """The review invitation's link. GET: a page with one button (a mail scanner opening
    links unsubscribes nobody); POST (the button, or List-Unsubscribe-Post): recorded."""
    try:
        if request.method == "GET":
            invitations.read_unsubscribe(token)
            return render_template("reviews/unsubscribe.html", token=token, done=False)
        unit_of_work(lambda: invitations.unsubscribe(token))
    except invitations.LinkRefused as exc:
        return render_template("reviews/unsubscribe.html", message=str(exc), done=False), 404
    message = _(
        "You will get no more mails from %(shop)s asking for a review.", shop=current_tenant().name
    )
    return render_template("reviews/unsubscribe.html", message=message, done=True)


@bp.route("/p/<slug>/reviews")
@shop_cached()
def product(slug: str) -> ResponseReturnValue:
    """Every published review of a product, newest first, a page at a time."""
    found = catalog.get_product(slug)
    if found is None:
        abort(404)
    try:
        cursor = services.parse_cursor(request.args.get("after"))
    except services.ReviewError:
        abort(404)
    rows, nxt = services.published_reviews(found.id, cursor, PAGE_SIZE)
    return render_template(
        "reviews/product.html",
        product_slug=found.slug,
        product_title=localized(found.translations, "title", found.title),
        count=found.rating_count,
        average=rating_average(found.rating_count, found.rating_total),
        reviews=[review_view(r) for r in rows],
        next_cursor=services.cursor_text(nxt),
        first_page=cursor is None,
    )


def init_reviews(app: Flask) -> None:
    """The pages, and ``product_reviews(product)`` for every product page (shop overrides
    too): the first page of its published reviews with its figures."""
    app.register_blueprint(bp)
    add_safe_globals(app, product_reviews=_for_product)


def _for_product(product: object) -> object:
    product_id = getattr(product, "id", None)
    if not isinstance(product_id, int):
        return None
    count = getattr(product, "rating_count", 0)
    average = getattr(product, "rating_average", "")
    return product_reviews(product_id, count if isinstance(count, int) else 0, str(average))
