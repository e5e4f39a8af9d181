"""``/api/v1/admin``: the shop's resources for staff and integrations (products with hidden
ones, categories, stock, orders with shipping, cancelling and refunds, customers).

Every route needs a staff credential in a header: an API key (``Authorization: Bearer``),
limited to its scopes, or a staff account's ``Authentication-Token``. Listings page by
opaque cursors in a stable order (by last change, then id) and filter by
``updated_since``: what an integration syncs through. Single resources carry an
``ETag``; a write sent with ``If-Match`` for a state the resource has left answers 412.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _
from flask_security import auth_required, current_user, permissions_required
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import Role, User
from ..caching import invalidate_shop_cache
from ..cart import services as cart_services
from ..catalog import images, variants
from ..catalog import services as catalog
from ..catalog.loading import load_details
from ..catalog.models import Category, Product
from ..catalog.schemas import NullField, ProductIn, ProductPatch
from ..db import retrying
from ..extensions import csrf, db
from ..i18n import match_locale, other_locales
from ..listing import LIKE_ESCAPE, MAX_ID, contains
from ..orders import services as orders
from ..orders.models import STATUSES, Order
from ..problems import Conflict
from . import serializers as out
from .access import requires_scope
from .contract import (
    CURSOR,
    ETAG,
    IDEMPOTENCY,
    IF_MATCH,
    LOCATION,
    REPLAYED,
    UPDATED_SINCE,
    envelope,
    in_query,
    init_contract,
    link,
    operation,
    page_of,
    ref,
)
from .errors import ApiError, body, init_api_errors, refused
from .http import (
    check_if_match,
    datetime_arg,
    decode_cursor,
    encode_cursor,
    etag_of,
    limit_arg,
    tagged,
)
from .idempotency import replayed, request_fingerprint, sent_key
from .schemas import (
    CategoryIn,
    CategoryPatch,
    InventoryIn,
    OptionsIn,
    OrderStatusIn,
    RefundIn,
    ShipmentIn,
    VariantPatch,
)

bp = Blueprint("api_admin", __name__, url_prefix="/api/v1/admin")
csrf.exempt(bp)
init_api_errors(bp)
init_contract(bp)

View = Callable[..., Any]
RAW_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/avif")
IMAGE_TYPES = frozenset(RAW_IMAGE_TYPES)


def staff(scope: str) -> Callable[[View], View]:
    """Staff whose role allows ``scope``, by a credential in a header; an API key also
    needs ``scope`` (checked with every route's declaration, in ``access``)."""

    def decorate(view: View) -> View:
        guarded = auth_required("token")(permissions_required(scope)(view))
        return requires_scope(scope, staff=True)(guarded)  # type: ignore[no-any-return]

    return decorate


def _sync_page(
    stmt: Select[Any],
    moment_column: Any,
    id_column: Any,
    since_arg: str,
    indexes: tuple[str, ...] = (),
) -> Any:
    """One page of ``stmt`` in (moment, id) order from the request's cursor; returns the
    rows and the next cursor (None on the last page).

    ``indexes``: those that serve the order, named to MariaDB/MySQL. Asked for whole rows,
    its optimizer reads an index by the shop alone (``ref``) and filters the moments as
    it goes: a cursor far down the book walked every order before it (0.8 s at two
    million). Named, it starts at the cursor (``range``): 30 ms. SQLite needs no hint.
    """
    if indexes:
        table = moment_column.class_.__table__
        hint = f"FORCE INDEX ({', '.join(indexes)})"
        stmt = stmt.with_hint(table, hint, "mysql").with_hint(table, hint, "mariadb")
    limit = limit_arg()
    since = datetime_arg(since_arg)
    if since is not None:
        stmt = stmt.where(moment_column >= since)
    cursor = request.args.get("cursor")
    if cursor is not None:
        moment, row_id = decode_cursor(cursor)
        # The bound on the moment alone gives both databases an index range to start
        # from; the OR alone made them walk the listing from its first row.
        stmt = stmt.where(
            moment_column >= moment,
            or_(moment_column > moment, and_(moment_column == moment, id_column > row_id)),
        )
    rows = list(db.session.scalars(stmt.order_by(moment_column, id_column).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    moment_name = moment_column.key
    next_cursor = encode_cursor(getattr(last, moment_name), last.id) if more and last else None
    return rows, next_cursor, limit


def _bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw not in ("true", "false"):
        raise ApiError(400, _("%(name)s must be true or false.", name=name))
    return raw == "true"


# Products ---------------------------------------------------------------------------


def _product(product_id: int) -> Product:
    row = catalog.product_by_id(product_id) if 1 <= product_id <= MAX_ID else None
    if row is None:
        raise ApiError(404, _("No such product."))
    return row


def _product_answer(row: Product, status: int = 200) -> Response:
    response = tagged(jsonify(data=out.admin_product(row)), etag_of(out.product_state(row)))
    response.status_code = status
    if status == 201:
        response.headers["Location"] = f"/api/v1/admin/products/{row.id}"
    return response


@contextmanager
def _catalog_write() -> Iterator[None]:
    """Commit a catalog change, or roll it back and answer 409 (clash) / 422 (category)."""
    try:
        yield
        db.session.commit()
    except (catalog.CatalogError, variants.VariantError) as exc:
        db.session.rollback()
        raise refused(exc) from None
    except ApiError:
        db.session.rollback()
        raise
    except LookupError as exc:
        # 409, not 422: the request is well formed; the shop has no such category.
        db.session.rollback()
        raise ApiError(
            409,
            _("Unknown category."),
            code=Conflict.UNKNOWN_CATEGORY,
            fields={"categories": str(exc)},
        ) from None
    except IntegrityError:
        db.session.rollback()
        raise ApiError(
            409,
            _("Another change to the catalog got there first: retry."),
            code=Conflict.WRITE_CONFLICT,
        ) from None


@bp.get("/products")
@operation(
    "listAdminProducts",
    "admin: catalog",
    "Every product, hidden ones too, by last change",
    ok=(200, page_of("AdminProduct", "CursorMeta"), "A page of products"),
    params=[
        *CURSOR,
        UPDATED_SINCE,
        in_query("active", {"enum": ["true", "false"]}),
        in_query("q", {"type": "string", "maxLength": 100}),
    ],
)
@staff("products:read")
def products() -> Response:
    stmt = select(Product)
    active = _bool_arg("active")
    if active is not None:
        stmt = stmt.where(Product.active.is_(active))
    query = request.args.get("q", "").strip()
    if query:
        like = contains(query)
        stmt = stmt.where(
            or_(
                Product.title.ilike(like, escape=LIKE_ESCAPE),
                Product.sku.ilike(like, escape=LIKE_ESCAPE),
            )
        )
    rows, next_cursor, limit = _sync_page(
        stmt,
        Product.updated_at,
        Product.id,
        "updated_since",
        indexes=("ix_products_tenant_id_updated_at",),
    )
    load_details(rows)
    return out.cursor_listing([out.admin_product(r) for r in rows], next_cursor, limit)


@bp.post("/products")
@operation(
    "createProduct",
    "admin: catalog",
    "Create a product",
    ok=(201, envelope(ref("AdminProduct")), "The product"),
    body=ProductIn,
    errors=(409,),
    ok_headers={**LOCATION, **ETAG},
    links={"GetAdminProduct": link("getAdminProduct", product_id="$response.body#/data/id")},
)
@staff("products:write")
def product_create() -> Response:
    data = body(ProductIn)
    fields = data.model_dump()
    fields["slug"] = fields["slug"] or catalog.free_slug(Product, catalog.slugify(data.title))
    with _catalog_write():
        catalog.check_unique(None, data.sku, fields["slug"])
        created = catalog.create_product(
            fields.pop("sku"), fields.pop("title"), fields.pop("price"), **fields
        )
    return _product_answer(created, 201)


@bp.get("/products/<int:product_id>")
@operation(
    "getAdminProduct",
    "admin: catalog",
    "One product",
    ok=(200, envelope(ref("AdminProduct")), "The product"),
    ok_headers=ETAG,
)
@staff("products:read")
def product(product_id: int) -> Response:
    return _product_answer(_product(product_id))


@bp.patch("/products/<int:product_id>")
@operation(
    "updateProduct",
    "admin: catalog",
    "Change a product; only the fields sent change",
    ok=(200, envelope(ref("AdminProduct")), "The product"),
    body=ProductPatch,
    params=[IF_MATCH],
    errors=(409, 412),
    ok_headers=ETAG,
)
@staff("products:write")
def product_update(product_id: int) -> Response:
    target = _product(product_id)
    try:
        fields = body(ProductPatch).changes()
    except NullField as exc:
        problems = dict.fromkeys(exc.names, _("May not be null."))
        raise ApiError(422, _("Some fields are invalid."), fields=problems) from None
    check_if_match(etag_of(out.product_state(target)))
    categories = fields.pop("categories", None)
    with _catalog_write():
        catalog.update_product(target, categories=categories, **fields)
    return _product_answer(target)


@bp.delete("/products/<int:product_id>")
@operation(
    "deleteProduct",
    "admin: catalog",
    "Delete a product (orders keep their lines)",
    ok=(204, None, "Deleted"),
    params=[IF_MATCH],
    errors=(409, 412),
)
@staff("products:write")
def product_delete(product_id: int) -> tuple[str, int]:
    target = _product(product_id)
    check_if_match(etag_of(out.product_state(target)))
    with _catalog_write():
        cart_services.drop_product(target.id)
        catalog.delete_product(target)
    return "", 204


@bp.post("/products/<int:product_id>/inventory")
@operation(
    "adjustInventory",
    "admin: catalog",
    "Add or remove units (atomic; never below zero)",
    ok=(200, envelope(ref("AdminProduct")), "The product"),
    description="A product with variants keeps its stock on them: name the "
    "variant (variant_id); the product's stock is their sum.",
    body=InventoryIn,
    errors=(409,),
)
@staff("products:write")
def inventory(product_id: int) -> Response:
    """Add or remove units, atomically; never below zero (409 and how many there are)."""
    target = _product(product_id)
    change = body(InventoryIn)

    def adjust() -> None:
        if change.variant_id is None:
            catalog.adjust_stock(target, change.delta)
        else:
            variant = variants.variant_of(target, change.variant_id)
            if variant is None:
                raise ApiError(404, _("This product has no such variant."))
            variants.adjust_variant_stock(target, variant, change.delta)

    with _catalog_write():  # commits nothing left: retrying committed the adjustment
        retrying(adjust)
    return _product_answer(target)


@bp.put("/products/<int:product_id>/options")
@operation(
    "setProductOptions",
    "admin: catalog",
    "Set the product's options; every combination is a variant",
    ok=(200, envelope(ref("AdminProduct")), "The product with its variants"),
    description="At most three options and 100 combinations. Variants carry "
    "over where they still fit (a value renamed in place keeps its SKU and "
    "stock; a new option extends them with its first value); new ones start "
    "with no stock, except that a simple product's stock goes to its first "
    "variant; combinations no longer possible leave with their stock. An "
    "empty list makes it a simple product again.",
    body=OptionsIn,
    params=[IF_MATCH],
    errors=(409, 412),
    ok_headers=ETAG,
)
@staff("products:write")
def product_options(product_id: int) -> Response:
    """Set the product's options; every combination of their values is a variant."""
    target = _product(product_id)
    data = body(OptionsIn)
    check_if_match(etag_of(out.product_state(target)))
    given = [
        variants.OptionIn(
            o.name,
            tuple(o.values),
            {
                locale: (t.name, tuple(t.values))
                for wanted, t in o.translations.items()
                if (locale := match_locale(wanted, other_locales())) is not None
            },
        )
        for o in data.options
    ]
    with _catalog_write():
        variants.set_options(target, given)
    return _product_answer(target)


@bp.patch("/products/<int:product_id>/variants/<int:variant_id>")
@operation(
    "updateVariant",
    "admin: catalog",
    "Change a variant's SKU, price, compare-at price or picture",
    ok=(200, envelope(ref("AdminProduct")), "The product"),
    body=VariantPatch,
    params=[IF_MATCH],
    errors=(409, 412),
    ok_headers=ETAG,
)
@staff("products:write")
def variant_update(product_id: int, variant_id: int) -> Response:
    """Change a variant's SKU, price, compare-at price or picture."""
    target = _product(product_id)
    variant = variants.variant_of(target, variant_id)
    if variant is None:
        raise ApiError(404, _("This product has no such variant."))
    sent = body(VariantPatch).model_dump(exclude_unset=True)
    check_if_match(etag_of(out.product_state(target)))
    picture = sent.get("image_id", -1)
    image_key = variant.image_key
    if picture is None:
        image_key = None
    elif picture != -1:
        found = images.image_of(target, picture)
        if found is None:
            raise ApiError(
                409,
                _("Not one of this product's images."),
                code=Conflict.UNKNOWN_IMAGE,
                fields={"image_id": _("Not one of this product's images.")},
            )
        image_key = found.key
    with _catalog_write():
        variants.update_variant(
            target,
            variant,
            sku=sent.get("sku"),
            price=sent.get("price", variant.price),
            compare_at_price=sent.get("compare_at_price", variant.compare_at_price),
            image_key=image_key,
        )
    return _product_answer(target)


@bp.post("/products/<int:product_id>/images")
@operation(
    "uploadProductImage",
    "admin: catalog",
    "Add a picture to the product (the body is the image file)",
    ok=(201, envelope(ref("AdminProduct")), "The product with its new picture"),
    description="Send the file as the body with its own Content-Type (PNG, JPEG, GIF, "
    "WebP or AVIF, at most 10 MB and 40 megapixels), or as application/octet-stream: "
    "the bytes say which format it is. It is decoded and stored again "
    "without metadata; AVIF, WebP and JPEG/PNG renditions follow within seconds.",
    body_types=(*RAW_IMAGE_TYPES, "application/octet-stream"),
    params=[in_query("alt", {"type": "string", "maxLength": 300}, "What the picture shows.")],
    errors=(409, 413, 415, 422),
    ok_headers=LOCATION,
)
@staff("products:write")
def image_upload(product_id: int) -> Response:
    """Add a picture: the body is the image itself (Content-Type image/png, image/jpeg,
    image/gif, image/webp or image/avif, or application/octet-stream as generated
    clients send a file: the bytes say which, decoding checks them all the same);
    ``?alt=`` describes it."""
    target = _product(product_id)
    if request.mimetype not in (*IMAGE_TYPES, "application/octet-stream"):
        raise ApiError(415, _("Send the image itself with its Content-Type (e.g. image/png)."))
    alt = request.args.get("alt", "")
    with _catalog_write():
        try:
            images.add_image(target, request.get_data(cache=False), alt=alt)
        except images.ImageError as exc:
            raise ApiError(422, str(exc), fields={"body": str(exc)}) from None
    return _product_answer(target, 201)


@bp.delete("/products/<int:product_id>/images/<int:image_id>")
@operation(
    "deleteProductImage",
    "admin: catalog",
    "Take a picture off the product",
    ok=(204, None, "Removed"),
    errors=(409,),
)
@staff("products:write")
def image_delete(product_id: int, image_id: int) -> tuple[str, int]:
    """Take a picture off the product."""
    target = _product(product_id)
    found = images.image_of(target, image_id)
    if found is None:
        raise ApiError(404, _("This product has no such image."))
    with _catalog_write():
        images.remove_image(target, found)
    return "", 204


# Categories -------------------------------------------------------------------------


def _category(slug: str) -> Category:
    row = (
        db.session.scalar(select(Category).where(Category.slug == slug))
        if len(slug) <= 120
        else None
    )
    if row is None:
        raise ApiError(404, _("No such category."))
    return row


def _parent_id(slug: str | None, child: Category | None = None) -> int | None:
    if slug is None:
        return None
    parent = db.session.scalar(select(Category).where(Category.slug == slug))
    if parent is None:
        raise ApiError(
            409,
            _("There is no category “%(slug)s”.", slug=slug),
            code=Conflict.UNKNOWN_CATEGORY,
            fields={"parent": _("There is no such category.")},
        )
    if parent.parent_id is not None or (child is not None and parent.id == child.id):
        raise ApiError(
            409,
            _("Categories nest one level: pick a top-level category as the parent."),
            code=Conflict.CATEGORY_NESTING,
            fields={"parent": _("Not a top-level category.")},
        )
    if child is not None and db.session.scalar(
        select(Category.id).where(Category.parent_id == child.id).limit(1)
    ):
        raise ApiError(
            409,
            _("This category has subcategories: it cannot become one (one level of nesting)."),
            code=Conflict.CATEGORY_NESTING,
        )
    return parent.id


def _category_data(row: Category) -> dict[str, Any]:
    parents = {row.parent_id: _category_slug(row.parent_id)} if row.parent_id else {}
    return out.admin_category(row, parents)


def _category_answer(row: Category, status: int = 200) -> Response:
    data = _category_data(row)
    response = tagged(jsonify(data=data), etag_of(data))
    response.status_code = status
    if status == 201:
        response.headers["Location"] = f"/api/v1/admin/categories/{row.slug}"
    return response


def _category_slug(category_id: int) -> str:
    return db.session.scalar(select(Category.slug).where(Category.id == category_id)) or ""


@bp.get("/categories")
@operation(
    "listAdminCategories",
    "admin: catalog",
    "Every category",
    ok=(200, envelope({"type": "array", "items": ref("AdminCategory")}), "Categories"),
)
@staff("products:read")
def categories() -> Response:
    rows = catalog.all_categories()
    slugs = {row.id: row.slug for row in rows}
    return jsonify(data=[out.admin_category(row, slugs) for row in rows])


@bp.post("/categories")
@operation(
    "createCategory",
    "admin: catalog",
    "Create a category",
    ok=(201, envelope(ref("AdminCategory")), "The category"),
    body=CategoryIn,
    errors=(409,),
    ok_headers={**LOCATION, **ETAG},
    links={"GetCategory": link("getCategory", slug="$response.body#/data/slug")},
)
@staff("products:write")
def category_create() -> Response:
    data = body(CategoryIn)
    slug = data.slug or catalog.free_slug(Category, catalog.slugify(data.name))
    if db.session.scalar(select(Category.id).where(Category.slug == slug)):
        raise ApiError(
            409, _("A category “%(slug)s” exists already.", slug=slug), code=Conflict.CATEGORY_TAKEN
        )
    _parent_id(data.parent)
    with _catalog_write():
        texts = {locale: text.model_dump() for locale, text in data.translations.items()}
        created = catalog.create_category(data.name, slug, data.parent, data.position, texts)
        created.meta_title = data.meta_title or None
        created.meta_description = data.meta_description or None
    return _category_answer(created, 201)


@bp.get("/categories/<slug>")
@operation(
    "getCategory",
    "admin: catalog",
    "One category",
    ok=(200, envelope(ref("AdminCategory")), "The category"),
    ok_headers=ETAG,
)
@staff("products:read")
def category(slug: str) -> Response:
    return _category_answer(_category(slug))


@bp.patch("/categories/<slug>")
@operation(
    "updateCategory",
    "admin: catalog",
    "Change a category",
    ok=(200, envelope(ref("AdminCategory")), "The category"),
    body=CategoryPatch,
    params=[IF_MATCH],
    errors=(409, 412),
    ok_headers=ETAG,
)
@staff("products:write")
def category_update(slug: str) -> Response:
    row = _category(slug)
    changes = body(CategoryPatch).model_dump(exclude_unset=True)
    check_if_match(etag_of(_category_data(row)))
    with _catalog_write():
        if "parent" in changes:
            row.parent_id = _parent_id(changes.pop("parent"), row)
        if "translations" in changes:
            row.translations = catalog.merge_translations(
                row.translations or {}, changes.pop("translations")
            )
        for name, value in changes.items():
            # an empty meta text is none: the page makes it from the name
            setattr(row, name, (value or None) if name.startswith("meta_") else value)
        db.session.flush()
        invalidate_shop_cache()
    return _category_answer(row)


@bp.delete("/categories/<slug>")
@operation(
    "deleteCategory",
    "admin: catalog",
    "Delete a category (its products stay)",
    ok=(204, None, "Deleted"),
    errors=(409,),
)
@staff("products:write")
def category_delete(slug: str) -> tuple[str, int]:
    row = _category(slug)
    with _catalog_write():
        catalog.delete_category(row.slug)
    return "", 204


# Orders -----------------------------------------------------------------------------


def _order(number: str) -> Order:
    row = orders.get_order(number) if len(number) <= 32 else None
    if row is None:
        raise ApiError(404, _("No such order."))
    return row


def _order_answer(row: Order, status: int = 200) -> Response:
    response = tagged(jsonify(data=out.admin_order(row)), etag_of(out.order_state(row)))
    response.status_code = status
    return response


@bp.get("/orders")
@operation(
    "listAdminOrders",
    "admin: orders",
    "Every order, by last change: filter, and sync with cursors",
    ok=(200, page_of("AdminOrder", "CursorMeta"), "A page of orders"),
    params=[
        *CURSOR,
        UPDATED_SINCE,
        in_query(
            "status",
            {
                "enum": [
                    "pending",
                    "paid",
                    "shipped",
                    "delivered",
                    "cancelled",
                    "refunded",
                ]
            },
        ),
        in_query("created_from", {"type": "string", "format": "date-time"}),
        in_query("created_to", {"type": "string", "format": "date-time"}),
    ],
)
@staff("orders:read")
def order_list() -> Response:
    stmt = select(Order)
    status = request.args.get("status")
    if status:
        if status not in STATUSES:
            raise ApiError(400, _("status must be one of %(values)s.", values=", ".join(STATUSES)))
        stmt = stmt.where(Order.status == status)
    created_from, created_to = datetime_arg("created_from"), datetime_arg("created_to")
    if created_from is not None:
        stmt = stmt.where(Order.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(Order.created_at < created_to)
    rows, next_cursor, limit = _sync_page(
        stmt,
        Order.updated_at,
        Order.id,
        "updated_since",
        indexes=("ix_orders_tenant_id_updated_at", "ix_orders_tenant_id_status_updated_at"),
    )
    live = out.Live.of(rows)
    return out.cursor_listing([out.admin_order(r, live) for r in rows], next_cursor, limit)


@bp.get("/orders/<number>")
@operation(
    "getAdminOrder",
    "admin: orders",
    "One order",
    ok=(200, envelope(ref("AdminOrder")), "The order"),
    ok_headers=ETAG,
)
@staff("orders:read")
def order(number: str) -> Response:
    return _order_answer(_order(number))


def _move(row: Order, status: str, **shipping: str | None) -> Response:
    check_if_match(etag_of(out.order_state(row)))
    try:
        retrying(lambda: orders.set_status(row, status, **shipping))  # type: ignore[arg-type]
    except orders.OrderStateError as exc:
        db.session.rollback()
        raise ApiError(409, str(exc), code=Conflict.INVALID_TRANSITION) from None
    return _order_answer(row)


@bp.patch("/orders/<number>")
@operation(
    "setOrderStatus",
    "admin: orders",
    "Move an order to another status; a refused move says why",
    ok=(200, envelope(ref("AdminOrder")), "The order"),
    body=OrderStatusIn,
    params=[IF_MATCH],
    errors=(409, 412),
    ok_headers=ETAG,
)
@staff("orders:write")
def order_update(number: str) -> Response:
    """Move an order along its state machine; a move it may not make answers 409 and why."""
    row = _order(number)
    change = body(OrderStatusIn)
    return _move(row, change.status, carrier=change.carrier, tracking_number=change.tracking_number)


@bp.post("/orders/<number>/shipment")
@operation(
    "shipOrder",
    "admin: orders",
    "Ship an order with its carrier and tracking number (the shopper is mailed)",
    ok=(200, envelope(ref("AdminOrder")), "The order"),
    body=ShipmentIn,
    params=[IF_MATCH],
    errors=(409, 412),
)
@staff("orders:write")
def order_ship(number: str) -> Response:
    """Ship it, with the carrier and tracking number the shopper's mail shows."""
    row = _order(number)
    shipment = body(ShipmentIn)
    return _move(row, "shipped", carrier=shipment.carrier, tracking_number=shipment.tracking_number)


@bp.post("/orders/<number>/cancel")
@operation(
    "cancelOrder",
    "admin: orders",
    "Cancel an order; its units go back in stock, once",
    ok=(200, envelope(ref("AdminOrder")), "The order"),
    params=[IF_MATCH],
    errors=(409, 412),
)
@staff("orders:write")
def order_cancel(number: str) -> Response:
    """Cancel it; its units go back in stock, once."""
    return _move(_order(number), "cancelled")


@bp.get("/orders/<number>/refunds")
@operation(
    "listRefunds",
    "admin: orders",
    "An order's refunds",
    ok=(200, envelope({"type": "array", "items": ref("Refund")}), "The refunds"),
)
@staff("orders:read")
def refund_list(number: str) -> Response:
    row = _order(number)
    return jsonify(data=[out.refund(r, row.currency) for r in orders.refunds_of(row)])


@bp.post("/orders/<number>/refunds")
@operation(
    "refundOrder",
    "admin: orders",
    "Refund part or all of a paid order (with the payment provider)",
    ok=(201, envelope(ref("Refund")), "The refund"),
    body=RefundIn,
    params=[IDEMPOTENCY],
    errors=(409,),
    ok_headers={**LOCATION, **REPLAYED},
)
@staff("orders:write")
def refund_create(number: str) -> Response:
    """Refund part or all of a paid order; ``Idempotency-Key`` makes it happen once."""
    row = _order(number)
    data = body(RefundIn)
    idempotency = sent_key()
    if idempotency is None:
        raise ApiError(
            400,
            _(
                "Send an Idempotency-Key header: 16 to 64 letters, digits, - or _ "
                "(a new one per refund, the same one when retrying it)."
            ),
        )
    key = hashlib.sha256(f"api:{row.number}:{idempotency}".encode()).hexdigest()
    fingerprint = request_fingerprint()

    def attempt() -> tuple[orders.Refund, bool]:
        # The key's refund, if any, answers again (and a key reused for another body is
        # refused, KeyReused: 422), also when a racing retry made it between two runs.
        earlier = orders.refund_for_key(key, fingerprint)
        if earlier is not None:
            return earlier, True
        made = orders.refund(
            row,
            data.amount,
            data.reason,
            key=key,
            restock=data.restock,
            fingerprint=fingerprint,
            to_gift_card=data.to_gift_card,
            actor=str(getattr(current_user, "email", "")),
        )
        return made, False

    try:
        refund, again = retrying(attempt)
    except (orders.RefundError, orders.CheckoutError) as exc:
        db.session.rollback()
        raise refused(exc) from None
    except IntegrityError:  # the same key racing itself: the other request's refund counts
        db.session.rollback()
        raced = orders.refund_for_key(key, fingerprint)
        if raced is None:
            raise ApiError(
                409,
                _("Another refund got there first: read the order again."),
                code=Conflict.WRITE_CONFLICT,
            ) from None
        refund, again = raced, True
    response = jsonify(data=out.refund(refund, row.currency))
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/admin/orders/{row.number}/refunds"
    return replayed(response) if again else response


# Customers --------------------------------------------------------------------------


@bp.get("/customers")
@operation(
    "listCustomers",
    "admin: customers",
    "Customer accounts, oldest first",
    ok=(200, page_of("Customer", "CursorMeta"), "A page of customers"),
    params=[
        *CURSOR,
        in_query(
            "created_since",
            {"type": "string", "format": "date-time"},
            "Only accounts opened at or after this moment.",
        ),
        in_query("q", {"type": "string", "maxLength": 100}),
    ],
)
@staff("customers:read")
def customers() -> Response:
    stmt = select(User).where(User.roles.any(Role.name == "customer"))
    query = request.args.get("q", "").strip()
    if query:
        stmt = stmt.where(User.email.ilike(contains(query), escape=LIKE_ESCAPE))
    rows, next_cursor, limit = _sync_page(stmt, User.created_at, User.id, "created_since")
    return out.cursor_listing([out.customer(r) for r in rows], next_cursor, limit)


@bp.get("/customers/<int:customer_id>")
@operation(
    "getCustomer",
    "admin: customers",
    "One customer account",
    ok=(200, envelope(ref("Customer")), "The account"),
)
@staff("customers:read")
def customer(customer_id: int) -> Response:
    row = db.session.get(User, customer_id)
    if row is None or "customer" not in {r.name for r in row.roles}:
        raise ApiError(404, _("No such customer."))
    return jsonify(data=out.customer(row))
