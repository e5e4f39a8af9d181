"""``/api/v1``: catalog (public), cart (session), orders (the shopper's own), product writes
(staff, by ``Authentication-Token``).

Cookie-authenticated writes (the cart) need ``Content-Type: application/json``, which a
cross-site form cannot send without a CORS preflight this API never grants; so the API is
exempt from the form CSRF token, and product writes accept the token header only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from flask import Blueprint, Response, abort, g, jsonify, request
from flask_security import auth_required, current_user, roles_accepted
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from ..cart import services as cart_services
from ..catalog import services as catalog
from ..catalog.models import Product, check_image_url
from ..catalog.money import shop_currency, shop_money
from ..errors import api_error
from ..extensions import csrf, db
from ..listing import MAX_ID, MAX_PAGE, Page
from ..orders import services as orders
from ..orders.models import Order
from ..tenancy.context import current_tenant
from .openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

MAX_PER_PAGE = 100


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return api_error(exc.status, exc.message, **exc.extra)


@bp.before_request
def _json_writes_only() -> None:
    if request.method in ("POST", "PUT", "PATCH") and not request.is_json:
        raise ApiError(415, "Send a JSON body with Content-Type: application/json.")
    # The JSON-only rule above is this blueprint's CSRF defence (see the module docstring);
    # tell Flask-Security's decorators, which would otherwise ask for a form token too.
    g.csrf_valid = True


def _body(model: type[BaseModel]) -> Any:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ApiError(400, "The body must be a JSON object.")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        fields = {
            ".".join(str(p) for p in err["loc"]) or "body": err["msg"] for err in exc.errors()
        }
        raise ApiError(422, "Some fields are invalid.", fields=fields) from None


def _paging() -> tuple[int, int]:
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", 20))
    except ValueError:
        raise ApiError(400, "page and per_page must be whole numbers.") from None
    if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= MAX_PER_PAGE:
        raise ApiError(400, f"page must be 1 to {MAX_PAGE}, per_page between 1 and {MAX_PER_PAGE}.")
    return page, per_page


def _listing(page: Page, items: list[Any]) -> Response:
    return jsonify(
        data=items,
        meta={
            "page": page.page,
            "per_page": page.per_page,
            "total": page.total,
            "pages": page.pages,
        },
    )


def _money(amount: int | None) -> dict[str, Any] | None:
    if amount is None:
        return None
    return {"amount": amount, "currency": shop_currency(), "display": shop_money(amount)}


def product_json(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "sku": product.sku,
        "slug": product.slug,
        "title": product.title,
        "description": product.description,
        "price": _money(product.price),
        "compare_at_price": _money(product.compare_at_price),
        "stock": product.stock,
        "in_stock": product.stock > 0,
        "active": product.active,
        "featured": product.featured,
        "image": product.image_url or f"/p/{product.slug}/image.svg",
        "categories": [c.slug for c in product.categories],
    }


# Catalog ----------------------------------------------------------------------------


@bp.get("/products")
def products() -> Response:
    page, per_page = _paging()
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
    return _listing(results, [product_json(p) for p in rows if p is not None])


def _active_product(slug: str) -> Product:
    product = catalog.get_product(slug)
    if product is None:
        raise ApiError(404, "No such product.")
    return product


@bp.get("/products/<slug>")
def product(slug: str) -> Response:
    return jsonify(data=product_json(_active_product(slug)))


@bp.get("/categories")
def categories() -> Response:
    def tree(nodes: Any) -> list[dict[str, Any]]:
        return [{"slug": c.slug, "name": c.name, "children": tree(c.children)} for c in nodes]

    return jsonify(data=tree(catalog.category_tree()))


def _image_url(value: str | None) -> str | None:
    return check_image_url(value)


ImageUrl = Annotated[str | None, AfterValidator(_image_url)]


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    sku: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    price: int = Field(ge=0, le=2_000_000_000)
    slug: str | None = Field(None, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=120)
    description: str = Field("", max_length=20000)
    compare_at_price: int | None = Field(None, ge=0, le=2_000_000_000)
    stock: int = Field(0, ge=0, le=1_000_000)
    active: bool = True
    featured: bool = False
    image_url: ImageUrl = Field(None, max_length=500)
    categories: list[str] = []


class ProductPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    sku: str | None = Field(None, min_length=1, max_length=64)
    title: str | None = Field(None, min_length=1, max_length=200)
    price: int | None = Field(None, ge=0, le=2_000_000_000)
    slug: str | None = Field(None, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=120)
    description: str | None = Field(None, max_length=20000)
    compare_at_price: int | None = Field(None, ge=0, le=2_000_000_000)
    stock: int | None = Field(None, ge=0, le=1_000_000)
    active: bool | None = None
    featured: bool | None = None
    image_url: ImageUrl = Field(None, max_length=500)
    categories: list[str] | None = None


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
    data = _body(ProductIn)
    fields = data.model_dump()
    fields["slug"] = fields["slug"] or catalog.slugify(data.title)
    with _catalog_write():
        catalog.check_unique(None, data.sku, fields["slug"])
        created = catalog.create_product(
            fields.pop("sku"), fields.pop("title"), fields.pop("price"), **fields
        )
    return jsonify(data=product_json(created)), 201


@bp.patch("/products/<slug>")
@_staff_only
def product_update(slug: str) -> Response:
    from sqlalchemy import select

    target = db.session.scalar(select(Product).where(Product.slug == slug))
    if target is None:
        raise ApiError(404, "No such product.")
    data = _body(ProductPatch)
    fields = data.model_dump(exclude_unset=True)
    for required in ("sku", "title", "price", "slug", "description", "stock", "active", "featured"):
        if required in fields and fields[required] is None:
            raise ApiError(422, "Some fields are invalid.", fields={required: "may not be null"})
    categories = fields.pop("categories", None)
    with _catalog_write():
        catalog.update_product(target, categories=categories, **fields)
    return jsonify(data=product_json(target))


# Cart -------------------------------------------------------------------------------


def cart_json() -> dict[str, Any]:
    view = cart_services.cart_view()
    return {
        "items": [
            {
                "id": line.id,
                "product": {
                    "id": line.product.id,
                    "slug": line.product.slug,
                    "title": line.product.title,
                },
                "quantity": line.quantity,
                "line_total": _money(line.line_total),
            }
            for line in view.lines
        ],
        "count": view.count,
        "subtotal": _money(view.subtotal),
    }


class CartItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    product_id: int = Field(ge=1, le=MAX_ID)
    quantity: int = Field(1, ge=1, le=cart_services.MAX_QUANTITY)


class QuantityIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    quantity: int = Field(ge=0, le=cart_services.MAX_QUANTITY)


@bp.get("/cart")
def cart() -> Response:
    return jsonify(data=cart_json())


@bp.post("/cart/items")
def cart_add() -> tuple[Response, int]:
    data = _body(CartItemIn)
    try:
        cart_services.add_item(data.product_id, data.quantity)
        db.session.commit()
    except cart_services.CartError as exc:
        db.session.rollback()
        raise ApiError(409, str(exc)) from None
    return jsonify(data=cart_json()), 201


@bp.patch("/cart/items/<int:item_id>")
def cart_update(item_id: int) -> Response:
    data = _body(QuantityIn)
    try:
        cart_services.set_quantity(item_id, data.quantity)
        db.session.commit()
    except cart_services.CartError as exc:
        db.session.rollback()
        status = 404 if "no longer in your cart" in str(exc) else 409
        raise ApiError(status, str(exc)) from None
    return jsonify(data=cart_json())


@bp.delete("/cart/items/<int:item_id>")
def cart_remove(item_id: int) -> Response:
    try:
        cart_services.set_quantity(item_id, 0)
        db.session.commit()
    except cart_services.CartError as exc:
        db.session.rollback()
        raise ApiError(404, str(exc)) from None
    return jsonify(data=cart_json())


# Orders -----------------------------------------------------------------------------


def order_json(order: Order) -> dict[str, Any]:
    view = orders.order_view(order)
    return {
        "number": order.number,
        "status": order.status,
        "created_at": order.created_at.isoformat() + "Z",
        "email": order.email,
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
        "total": order.total,
        "total_display": view.total_display,
    }


@bp.get("/orders")
@auth_required("token", "session")
def order_list() -> Response:
    page, per_page = _paging()
    mine = orders.orders_of(current_user.id)
    chunk = mine[(page - 1) * per_page : page * per_page]
    results = Page(items=tuple(chunk), page=page, per_page=per_page, total=len(mine))
    return _listing(results, [order_json(o) for o in chunk])


@bp.get("/orders/<number>")
@auth_required("token", "session")
def order_detail(number: str) -> Response:
    order = orders.find_visible_order(number, current_user.id)
    if order is None:
        raise ApiError(404, "No such order.")
    return jsonify(data=order_json(order))


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(current_tenant().name))


@bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(anything: str) -> Response:
    abort(404, "No such API endpoint; see /api/v1/openapi.json.")
