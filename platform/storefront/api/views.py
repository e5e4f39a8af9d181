"""``/api/v1``: catalog (public), cart (session), orders (the shopper's own), product writes
(staff, by API key). Routes only: models in ``schemas``, answers in ``serializers``,
refusals in ``errors``.

Cookie-authenticated writes (the cart) need ``Content-Type: application/json``, which a
cross-site form cannot send without a CORS preflight this API never grants; so the API is
exempt from the form CSRF token, and product writes take credentials from headers only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_security import auth_required, current_user, roles_accepted
from sqlalchemy import select

from ..cart import services as cart_services
from ..catalog import services as catalog
from ..catalog.models import Product
from ..catalog.schemas import NullField, ProductIn, ProductPatch
from ..extensions import csrf, db
from ..listing import paginate
from ..orders import services as orders
from ..tenancy.context import current_tenant
from . import serializers as out
from .errors import ApiError, body, init_api_errors, paging
from .openapi import openapi_document
from .schemas import CartItemIn, OrderStatusIn, QuantityIn

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
init_api_errors(bp)


# Catalog ----------------------------------------------------------------------------


@bp.get("/products")
def products() -> Response:
    page, per_page = paging()
    sort = request.args.get("sort", "newest")
    if sort not in catalog.SORTS:
        raise ApiError(400, f"sort must be one of {', '.join(catalog.SORTS)}.")
    try:
        results = catalog.list_products(
            page,
            per_page,
            sort,
            request.args.get("category") or None,
            request.args.get("q") or None,
        )
    except LookupError:
        raise ApiError(404, "No such category.") from None
    rows = [catalog.product_by_id(item.id) for item in results.items]
    return out.listing(results, [out.product(p) for p in rows if p is not None])


def _active_product(slug: str) -> Product:
    product = catalog.get_product(slug)
    if product is None:
        raise ApiError(404, "No such product.")
    return product


@bp.get("/products/<slug>")
def product(slug: str) -> Response:
    return jsonify(data=out.product(_active_product(slug)))


@bp.get("/categories")
def categories() -> Response:
    return jsonify(data=out.category_tree(catalog.category_tree()))


def _staff_only(view: Any) -> Any:
    return auth_required("token")(roles_accepted("owner", "staff")(view))


@contextmanager
def _catalog_write() -> Iterator[None]:
    """Commit a catalog change, or roll it back and answer 409 (clash) / 422 (category)."""
    try:
        yield
        db.session.commit()
    except catalog.CatalogError as exc:
        db.session.rollback()
        raise ApiError(409, str(exc)) from None
    except LookupError as exc:
        db.session.rollback()
        raise ApiError(422, "Unknown category.", fields={"categories": str(exc)}) from None


@bp.post("/products")
@_staff_only
def product_create() -> tuple[Response, int]:
    data = body(ProductIn)
    fields = data.model_dump()
    fields["slug"] = fields["slug"] or catalog.slugify(data.title)
    with _catalog_write():
        catalog.check_unique(None, data.sku, fields["slug"])
        created = catalog.create_product(
            fields.pop("sku"), fields.pop("title"), fields.pop("price"), **fields
        )
    return jsonify(data=out.product(created)), 201


@bp.patch("/products/<slug>")
@_staff_only
def product_update(slug: str) -> Response:
    target = db.session.scalar(select(Product).where(Product.slug == slug))
    if target is None:
        raise ApiError(404, "No such product.")
    try:
        fields = body(ProductPatch).changes()
    except NullField as exc:
        problems = dict.fromkeys(exc.names, "may not be null")
        raise ApiError(422, "Some fields are invalid.", fields=problems) from None
    categories = fields.pop("categories", None)
    with _catalog_write():
        catalog.update_product(target, categories=categories, **fields)
    return jsonify(data=out.product(target))


# Cart -------------------------------------------------------------------------------


@bp.get("/cart")
def cart() -> Response:
    country = request.args.get("country", "").strip().upper()[:2]
    code = request.args.get("discount_code", "").strip()[:40]
    return jsonify(data=out.cart(country, code))


@bp.post("/cart/items")
def cart_add() -> tuple[Response, int]:
    data = body(CartItemIn)
    try:
        cart_services.add_item(data.product_id, data.quantity)
        db.session.commit()
    except cart_services.CartError as exc:
        db.session.rollback()
        raise ApiError(409, str(exc)) from None
    return jsonify(data=out.cart()), 201


@bp.patch("/cart/items/<int:item_id>")
def cart_update(item_id: int) -> Response:
    data = body(QuantityIn)
    try:
        cart_services.set_quantity(item_id, data.quantity)
        db.session.commit()
    except cart_services.CartError as exc:
        db.session.rollback()
        status = 404 if "no longer in your cart" in str(exc) else 409
        raise ApiError(status, str(exc)) from None
    return jsonify(data=out.cart())


@bp.delete("/cart/items/<int:item_id>")
def cart_remove(item_id: int) -> Response:
    try:
        cart_services.set_quantity(item_id, 0)
        db.session.commit()
    except cart_services.CartError as exc:
        db.session.rollback()
        raise ApiError(404, str(exc)) from None
    return jsonify(data=out.cart())


# Orders -----------------------------------------------------------------------------


@bp.get("/orders")
@auth_required("token", "session")
def order_list() -> Response:
    page, per_page = paging()
    results = paginate(orders.orders_of_query(current_user.id), page, per_page)
    return out.listing(results, [out.order(o) for o in results.items])


@bp.get("/orders/<number>")
@auth_required("token", "session")
def order_detail(number: str) -> Response:
    order = orders.find_visible_order(number, current_user.id)
    if order is None:
        raise ApiError(404, "No such order.")
    return jsonify(data=out.order(order))


@bp.patch("/orders/<number>")
@_staff_only
def order_update(number: str) -> Response:
    """Move an order along its state machine; a move it may not make answers 409 and why."""
    order = orders.get_order(number)
    if order is None:
        raise ApiError(404, "No such order.")
    change = body(OrderStatusIn)
    try:
        orders.set_status(
            order, change.status, carrier=change.carrier, tracking_number=change.tracking_number
        )
    except orders.OrderStateError as exc:
        db.session.rollback()
        raise ApiError(409, str(exc)) from None
    db.session.commit()
    return jsonify(data=out.order(order))


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(current_tenant().name))


# Unknown paths answer 404 and known paths with another method 405 (with Allow), both in
# the API's error shape (errors._http_error): no catch-all route, which answered 404 to a
# method the path does not take.
