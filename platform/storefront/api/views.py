"""``/api/v1``, the shopper's half: catalog (public), cart (a token or the session),
checkout, and a shopper's own orders. Staff resources live in ``admin``. Routes only:
models in ``schemas``, answers in ``serializers``, manners in ``http``, refusals in
``errors``.

Cookie-authenticated writes (the cart) need ``Content-Type: application/json``, which a
cross-site form cannot send without a CORS preflight; the preflights this API grants (to
a shop's listed origins) never allow credentials, so a page elsewhere cannot ride a
shopper's cookie either. The API is therefore exempt from the form CSRF token.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from flask import Blueprint, Response, abort, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from .. import metrics
from ..accounts import tokens
from ..accounts.auth import api_unauthenticated
from ..cart import services as cart_services
from ..catalog import keyset, search_limits
from ..catalog import services as catalog
from ..db import unit_of_work
from ..extensions import csrf, db
from ..i18n import shop_text
from ..listing import paginate
from ..orders import payment_retry, totals
from ..orders import services as orders
from ..orders.checkout import GiftCardRefused
from ..orders.payments import PROVIDERS, enabled_methods
from ..problems import Conflict
from ..tenancy.context import current_tenant
from . import serializers as out
from .access import public, requires_scope
from .contract import (
    CART,
    CART_HEADERS,
    CART_TOKEN,
    CATALOG_CURSOR,
    IDEMPOTENCY,
    LOCALE,
    LOCATION,
    ORDER_KEY,
    PAGING,
    REPLAYED,
    envelope,
    in_query,
    init_contract,
    link,
    operation,
    page_of,
    ref,
)
from .errors import ApiError, body, init_api_errors, paging, refused
from .http import cacheable, decode_mark, limit_arg
from .idempotency import replayed as idempotent_replay
from .idempotency import request_fingerprint, sent_key
from .openapi import openapi_document
from .schemas import CartItemIn, CheckoutIn, PaymentRetryIn, QuantityIn

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
init_api_errors(bp)
init_contract(bp)
log = logging.getLogger(__name__)


@bp.before_request
def _adopt_cart_token() -> None:
    """A signed-in client still sending its guest cart's token: the cart joins the account."""
    token = cart_services.header_token()
    if token and current_user.is_authenticated and tokens.request_key_id() is None:
        cart_services.merge_anonymous_cart(current_user.id, token)
        db.session.commit()


# Catalog ----------------------------------------------------------------------------


@bp.get("/products")
@operation(
    "listProducts",
    "catalog",
    "Active products, a page at a time",
    ok=(
        200,
        {
            "type": "object",
            "properties": {
                "data": {"type": "array", "items": ref("Product")},
                "meta": {"anyOf": [ref("CatalogPageMeta"), ref("CatalogCursorMeta")]},
            },
            "required": ["data", "meta"],
        },
        "A page of products",
    ),
    description="Filter by category (with its subcategories) or text; sort. "
    "Page by cursor (send limit, then cursor: meta.next_cursor and "
    "meta.prev_cursor walk both ways and nothing shifts when products are "
    "added) or by page and per_page (meta.page, total, pages, and the cursors "
    "either side of the page). Answers carry an ETag and Cache-Control; "
    "If-None-Match answers 304.",
    params=[
        *PAGING,
        *CATALOG_CURSOR,
        *LOCALE,
        in_query("q", {"type": "string", "maxLength": 100}),
        in_query("category", {"type": "string", "maxLength": 120}),
        in_query(
            "sort",
            {"enum": ["relevance", "newest", "price_asc", "price_desc", "title"]},
            "relevance (best match first) is the default with q, newest without.",
        ),
    ],
    links={
        "GetProduct": link("getProduct", slug="$response.body#/data/0/slug"),
        "AddToCart": {
            "operationId": "addCartItem",
            "requestBody": {"product_id": "$response.body#/data/0/id", "quantity": 1},
        },
    },
    cached=True,
)
@public
def products() -> Response:
    """Active products: by cursor (``cursor`` or ``limit`` sent: both ways through the
    listing, nothing shifts when products are added) or by page number, as before."""
    page, per_page = paging()
    query = request.args.get("q") or None
    category = request.args.get("category") or None
    sort = request.args.get("sort", "relevance" if query else "newest")
    if sort not in catalog.SORTS:
        raise ApiError(400, _("sort must be one of %(values)s.", values=", ".join(catalog.SORTS)))
    if query:
        _count_search()
    try:
        if "cursor" in request.args or "limit" in request.args:
            at = decode_mark(request.args["cursor"]) if "cursor" in request.args else None
            limit = limit_arg(default=per_page)
            found = keyset.window(limit, sort, category, query, at)
            items = [out.product(p) for p in found.items]
            return cacheable(out.catalog_cursor_listing(items, found.next, found.prev, limit))
        results = catalog.list_products(page, per_page, sort, category, query, transform=None)
        if results.page != page:  # beyond where page numbers reach (meta.pages): cursors go on
            results = replace(results, items=(), page=page)
    except LookupError:
        raise ApiError(404, _("No such category.")) from None
    after, before = keyset.marks_of_page(results, sort, query)
    items = [out.product(p) for p in results.items]
    return cacheable(out.catalog_listing(results, items, after, before))


def _count_search() -> None:
    """A search reaches the index: bounded per client and per shop (429 past either)."""
    try:
        search_limits.count_search()
    except search_limits.SearchBusy as busy:
        g.rate_headers = {**g.get("rate_headers", {}), "Retry-After": str(busy.retry_after)}
        metrics.refused_by("search")
        raise ApiError(
            429, _("Too many searches: try again in %(wait)s s.", wait=busy.retry_after)
        ) from None


@bp.get("/products/<slug>")
@operation(
    "getProduct",
    "catalog",
    "One active product",
    ok=(200, envelope(ref("Product")), "The product"),
    params=LOCALE,
    cached=True,
)
@public
def product(slug: str) -> Response:
    row = catalog.get_product(slug)
    if row is None:
        raise ApiError(404, _("No such product."))
    return cacheable(jsonify(data=out.product(row)))


@bp.get("/categories")
@operation(
    "listCategories",
    "catalog",
    "The category tree",
    ok=(200, envelope({"type": "array", "items": ref("Category")}), "The tree"),
    params=LOCALE,
    cached=True,
)
@public
def categories() -> Response:
    return cacheable(jsonify(data=out.category_tree(catalog.category_tree())))


# Cart -------------------------------------------------------------------------------


def _cart_answer(status: int = 200, country: str = "", code: str = "") -> Response:
    data = out.cart(country, code)
    response = jsonify(data=data)
    response.status_code = status
    if data["token"]:
        response.headers[cart_services.TOKEN_HEADER] = data["token"]
    return response


@bp.get("/cart")
@operation(
    "getCart",
    "cart",
    "The cart; with ?country= (and ?discount_code=) what checkout would charge",
    ok=(200, CART, "The cart"),
    params=[
        CART_TOKEN,
        in_query("country", {"type": "string", "maxLength": 2}),
        in_query("discount_code", {"type": "string", "maxLength": 40}),
    ],
    ok_headers=CART_HEADERS,
)
@requires_scope("cart:read", anonymous=True)
def cart() -> Response:
    country = request.args.get("country", "").strip().upper()[:2]
    code = request.args.get("discount_code", "").strip()[:40]
    return _cart_answer(country=country, code=code)


@bp.post("/cart/items")
@operation(
    "addCartItem",
    "cart",
    "Add a product to the cart (a new guest cart answers its token)",
    ok=(201, CART, "The cart, with the line"),
    body=CartItemIn,
    params=[CART_TOKEN],
    errors=(409,),
    ok_headers=CART_HEADERS,
    links={
        "SetQuantity": {
            "operationId": "setCartItemQuantity",
            "parameters": {
                "item_id": "$response.body#/data/items/0/id",
                "X-Cart-Token": "$response.body#/data/token",
            },
        },
    },
)
@requires_scope("cart:write", anonymous=True)
def cart_add() -> Response:
    data = body(CartItemIn)
    try:
        cart_services.add_item(data.product_id, data.quantity, variant_id=data.variant_id)
        db.session.commit()
    except cart_services.CartError as exc:
        db.session.rollback()
        raise refused(exc) from None
    return _cart_answer(201)


@bp.patch("/cart/items/<int:item_id>")
@operation(
    "setCartItemQuantity",
    "cart",
    "Set a line's quantity (0 removes it)",
    ok=(200, CART, "The cart"),
    body=QuantityIn,
    params=[CART_TOKEN],
    errors=(409,),
)
@requires_scope("cart:write", anonymous=True)
def cart_update(item_id: int) -> Response:
    data = body(QuantityIn)
    try:
        cart_services.set_quantity(item_id, data.quantity)
        db.session.commit()
    except cart_services.NotInCart as exc:
        db.session.rollback()
        raise ApiError(404, str(exc)) from None
    except cart_services.CartError as exc:
        db.session.rollback()
        raise refused(exc) from None
    return _cart_answer()


@bp.delete("/cart/items/<int:item_id>")
@operation(
    "removeCartItem",
    "cart",
    "Remove a line",
    ok=(200, CART, "The cart"),
    params=[CART_TOKEN],
)
@requires_scope("cart:write", anonymous=True)
def cart_remove(item_id: int) -> Response:
    try:
        cart_services.set_quantity(item_id, 0)
        db.session.commit()
    except cart_services.CartError as exc:
        db.session.rollback()
        raise ApiError(404, str(exc)) from None
    return _cart_answer()


# Checkout ---------------------------------------------------------------------------


@bp.get("/checkout/options")
@operation(
    "getCheckoutOptions",
    "checkout",
    "Where the shop ships, how it is paid, and the rate for ?country=",
    ok=(200, envelope(ref("CheckoutOptions")), "The options"),
    params=[in_query("country", {"type": "string", "pattern": "^[A-Za-z]{2}$"})],
)
@public
def checkout_options() -> Response:
    """Where the shop ships, how it is paid, and (for ``?country=``) the shipping rate."""
    from .schemas import CheckoutOptions, PaymentMethod, ShippingRate

    country = request.args.get("country", "").strip().upper()
    settings = current_tenant().settings
    rate = None
    if country:
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise ApiError(400, _("country must be a two-letter ISO code, e.g. DE."))
        zone = totals.zone_for(country)
        if zone is not None and settings is not None:
            rate = ShippingRate(
                name=zone.name,
                label=zone.label or shop_text(settings, "shipping_label"),
                amount=out.money(zone.rate),
                free_above=out.maybe_money(zone.free_above),
            )
    options = CheckoutOptions(
        countries=[code for code, _name in totals.countries()],
        payment_methods=[PaymentMethod(code=p.code, label=str(p.label)) for p in enabled_methods()],
        shipping_rate=rate,
    )
    return jsonify(data=options.model_dump(mode="json"))


@bp.post("/checkout")
@operation(
    "checkout",
    "checkout",
    "Place the order for the cart",
    ok=(201, envelope(ref("Placed")), "The order, and where to send the shopper to pay"),
    description="Takes the cart of X-Cart-Token (or the signed-in account), "
    "prices it for the address and discount code, takes the stock, and answers "
    "the order. With the same Idempotency-Key, a retry answers the same order "
    "(Idempotent-Replayed: true), never a second one; the same key with another "
    "body is a 422 (idempotency_key_reused). For card payment, send "
    "the shopper to payment.redirect_url.",
    body=CheckoutIn,
    params=[IDEMPOTENCY, CART_TOKEN],
    errors=(401, 409),
    ok_headers={**LOCATION, **REPLAYED},
    links={
        "GetOrder": {
            "operationId": "getOrder",
            "parameters": {
                "number": "$response.body#/data/order/number",
                "X-Order-Key": "$response.body#/data/order_key",
            },
        }
    },
)
@requires_scope("checkout:write", anonymous=True)
def checkout() -> tuple[Response, int]:
    """The request's cart becomes an order. ``Idempotency-Key`` makes it happen once: the
    same key again (a retry, a double tap) answers the order the first request made."""
    data = body(CheckoutIn)
    settings = current_tenant().settings
    if settings and not settings.features.guest_checkout and not current_user.is_authenticated:
        abort(api_unauthenticated())
    idempotency = sent_key()
    if idempotency is None:
        raise ApiError(
            400,
            _(
                "Send an Idempotency-Key header: 16 to 64 letters, digits, - or _ "
                "(a new one per checkout, the same one when retrying it)."
            ),
        )
    owner = cart_services.cart_owner()
    if owner is None:
        raise ApiError(409, _("Your cart is empty."), code=Conflict.CART_EMPTY)
    key = orders.checkout_key(owner, "api:" + idempotency)
    fingerprint = request_fingerprint()
    # The key's order answers again; a key first sent with another body is refused
    # (KeyReused: 422 idempotency_key_reused, api/idempotency.py).
    earlier = orders.order_for_checkout(key, fingerprint)
    if earlier is not None:
        return _placed(earlier, replayed=True)
    if data.payment_method not in {p.code for p in enabled_methods()}:
        offered = ", ".join(p.code for p in enabled_methods())
        # 409, not 422: the request is well formed; the shop's offer is what it meets.
        raise ApiError(
            409,
            _(
                "Payment method “%(method)s” is not offered here: choose one of %(offered)s "
                "(GET /api/v1/checkout/options).",
                method=data.payment_method,
                offered=offered,
            ),
            code=Conflict.PAYMENT_METHOD_NOT_OFFERED,
            fields={"payment_method": _("Must be one of: %(values)s.", values=offered)},
        )
    missing = (
        []
        if cart_services.nothing_ships(cart_services.current_cart())
        else [
            name for name in ("address", "postal_code", "city") if not getattr(data, name).strip()
        ]
    )
    if missing:  # something ships: where to
        raise ApiError(
            422,
            _("Something in the cart ships: send the address it goes to."),
            fields={name: _("This field is required.") for name in missing},
        )
    zone = totals.zone_for(data.country)
    if zone is None:
        raise ApiError(
            409,
            _(
                "The shop does not ship to %(country)s (GET /api/v1/checkout/options).",
                country=data.country,
            ),
            code=Conflict.NOT_SHIPPED_THERE,
            fields={"country": _("The shop does not ship there.")},
        )
    if data.shipping_rate is not None and data.shipping_rate != zone.name:
        raise ApiError(
            409,
            _(
                "The shipping rate is now “%(name)s”: show the new totals and retry.",
                name=zone.name,
            ),
            code=Conflict.SHIPPING_RATE_CHANGED,
        )
    contact = orders.Contact(
        **data.model_dump(exclude={"shipping_rate", "expected_total", "gift_card_recipient"}),
        gift_card_recipient=data.gift_card_recipient or "",
    )
    try:
        placed = orders.place(
            cart_services.current_cart(),
            contact,
            cart_services.signed_in_user_id(),
            key,
            fingerprint=fingerprint,
            expected_total=data.expected_total,
        )
    except orders.TotalChanged as exc:  # nothing placed, the stock it took returned
        raise ApiError(
            409,
            _(
                "The total is now %(total)s (%(currency)s minor units): show it and retry.",
                total=exc.total,
                currency=exc.currency,
            ),
            code=Conflict.TOTAL_CHANGED,
            total=exc.total,
            currency=exc.currency,
        ) from None
    except orders.CartChanged:  # another checkout of this cart went through first
        raise ApiError(
            409,
            _("The cart changed during checkout: read it and retry."),
            code=Conflict.CART_CHANGED,
        ) from None
    except GiftCardRefused as exc:  # nothing placed; past the guessing limit: 429
        if exc.retry_after:
            g.rate_headers = {**g.get("rate_headers", {}), "Retry-After": str(exc.retry_after)}
            raise ApiError(429, str(exc)) from None
        raise refused(exc) from None
    except orders.CheckoutError as exc:
        raise refused(exc) from None
    return _placed(placed.order, replayed=placed.replayed)


def _placed(order: orders.Order, replayed: bool) -> tuple[Response, int]:
    """The checkout's answer. The order is committed: whatever the payment provider does,
    this is never a 500 (payment can be started again from the order's page)."""
    redirect_url = None
    if order.status == "pending":
        try:
            redirect_url = unit_of_work(
                lambda: PROVIDERS[order.payment_method].start(order), keep_loaded=True
            )
        except Exception:
            log.exception("payment provider %s failed to start for %s", order.payment_method, order)
    response = jsonify(data=out.placed(order, redirect_url))
    response.headers["Location"] = f"/api/v1/orders/{order.number}"
    return (idempotent_replay(response) if replayed else response), 201


# A shopper's orders -----------------------------------------------------------------


@bp.get("/orders")
@operation(
    "listOrders",
    "orders",
    "The signed-in shopper's orders, newest first",
    ok=(200, page_of("Order"), "A page of orders"),
    params=PAGING,
    errors=(401,),
)
@requires_scope("account:read")
def order_list() -> Response:
    """The signed-in shopper's orders (a key with account:read: its owner's own); the
    shop's orders are at /api/v1/admin/orders."""
    page, per_page = paging()
    results = paginate(orders.orders_of_query(current_user.id), page, per_page)
    live = out.Live.of(results.items)
    return out.listing(results, [out.order(o, live) for o in results.items])


@bp.get("/orders/<number>")
@operation(
    "getOrder",
    "orders",
    "One of the shopper's orders (or a guest's, with its X-Order-Key)",
    ok=(200, envelope(ref("Order")), "The order"),
    params=[ORDER_KEY],
)
@requires_scope("account:read", anonymous=True)
def order_detail(number: str) -> Response:
    """The shopper's own order (signed in), or a guest's with its ``X-Order-Key``."""
    user_id = current_user.id if current_user.is_authenticated else None
    key = request.headers.get("X-Order-Key", "").strip()[:64] or None
    order = orders.find_visible_order(number, user_id, key) if len(number) <= 32 else None
    if order is None:
        raise ApiError(404, _("No such order."))
    return jsonify(data=out.order(order))


@bp.post("/orders/<number>/payment")
@operation(
    "payOrderAgain",
    "orders",
    "Pay again for an order awaiting payment, or switch its payment method",
    ok=(200, envelope(ref("Placed")), "The order, and where to send the shopper to pay"),
    description="For an order whose card payment was cancelled, failed, or "
    "could not start (payment.redirect_url was null). A card payment answers a "
    "new payment.redirect_url for exactly the order's total; the previous "
    "session is closed first and can no longer settle the order. Another "
    "method of GET /checkout/options switches to it (payment.instructions). "
    "One live session at a time: submits at once answer one session; a later "
    "call replaces it (the one before is closed). An order "
    "that no longer awaits payment is a 409 order_not_awaiting_payment; an "
    "unoffered method 409 payment_method_not_offered; a session already paid "
    "or being started 409 payment_in_progress; an unreachable provider 502 "
    "payment_unavailable.",
    body=PaymentRetryIn,
    params=[ORDER_KEY],
    errors=(401, 409, 502),
)
@requires_scope("checkout:write", anonymous=True)
def order_payment(number: str) -> Response:
    """Pay again for an order awaiting payment (the card payment was cancelled, failed or
    could not start): a new redirect_url, or another method the shop offers. Clicks at
    once make one session; a paid or cancelled order is a 409."""
    user_id = current_user.id if current_user.is_authenticated else None
    key = request.headers.get("X-Order-Key", "").strip()[:64] or None
    order = orders.find_visible_order(number, user_id, key) if len(number) <= 32 else None
    if order is None:
        raise ApiError(404, _("No such order."))
    data = body(PaymentRetryIn)
    try:
        started = payment_retry.pay_again(order, data.payment_method)
    except payment_retry.PaymentRetryError as exc:
        db.session.rollback()
        raise ApiError(exc.status, str(exc), code=exc.code) from None
    return jsonify(data=out.placed(started.order, started.redirect_url))


@bp.get("/openapi.json")
@operation(
    "getOpenApi",
    "meta",
    "This document",
    ok=(200, {"type": "object"}, "The OpenAPI document"),
    cached=True,
)
@public
def openapi() -> Response:
    response = jsonify(openapi_document(current_tenant().name))
    return cacheable(response, max_age=300)


# Unknown paths answer 404 and known paths with another method 405 (with Allow), both in
# the API's error shape (errors._http_error): no catch-all route, which answered 404 to a
# method the path does not take.
