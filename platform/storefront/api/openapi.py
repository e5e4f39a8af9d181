"""The OpenAPI 3.1 document for ``/api/v1``.

The component schemas are generated from the pydantic models in ``schemas`` (the same
ones that validate requests and build answers); the operations are a table here, each
built by ``_op`` with the statuses every route can answer (an unknown host's 404, 405,
429, a suspended shop's 503). Who may call each one (its ``security``, 401 and 403)
comes from the route's own declaration (``access``). Tests walk the app's URL map
against it both ways, and schemathesis (in ``make test``) fuzzes the app against it as
anonymous, shopper and staff.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ..accounts.tokens import SCOPES
from .access import declared
from .http import CATALOG_CURSOR_PATTERN, CURSOR_PATTERN, _openapi_path
from .schemas import DOCUMENTED

VERSION = "1.1.0"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


HEADER_STRING = {"type": "string"}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> Any:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def _data(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"data": schema},
        "required": ["data"],
    }


def _listing(item: str, meta: str = "PageMeta") -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"data": {"type": "array", "items": _ref(item)}, "meta": _ref(meta)},
        "required": ["data", "meta"],
    }


ERRORS = {
    400: "The query, a header or the body is malformed",
    401: "No credential, or one that is no good (WWW-Authenticate says which)",
    403: "Signed in, but not allowed (or the key lacks the scope)",
    404: "No such resource (or no shop at this host)",
    405: "The path does not take this method (Allow lists those it does)",
    409: "The change conflicts with the resource's state; the message says why",
    412: "If-Match names a state the resource has left",
    413: "The body is larger than 10 MB",
    415: "Writes need Content-Type: application/json",
    422: "Some fields are invalid (error.fields says which and why)",
    429: "Over the rate limit (Retry-After says when to come back)",
    502: "The payment provider could not be reached; nothing changed but the order's "
    "session (retry)",
    503: "The shop is closed for now (Retry-After)",
}

ALWAYS = (400, 404, 405, 429, 503)

RATE_HEADERS = {
    name: {"schema": HEADER_STRING, "description": description}
    for name, description in (
        ("RateLimit-Limit", "Requests allowed in the window"),
        ("RateLimit-Remaining", "Requests left in it"),
        ("RateLimit-Reset", "Seconds until it starts again"),
        ("RateLimit-Policy", "The tightest limit and its window in seconds, e.g. 600;w=60"),
    )
}


def _param(
    name: str, where: str, schema: dict[str, Any], description: str = "", **extra: Any
) -> Any:
    return {"name": name, "in": where, "schema": schema, "description": description, **extra}


def _query(name: str, schema: dict[str, Any], description: str = "") -> Any:
    return _param(name, "query", schema, description)


PAGING = [
    _query("page", {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 1}),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
]
CURSOR = [
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}),
    _query(
        "cursor",
        {"type": "string", "pattern": CURSOR_PATTERN},
        "meta.next_cursor of the page before (opaque: pass it back as given).",
    ),
]
CATALOG_CURSOR = [
    _query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": 100},
        "Products per answer, by cursor (sent: meta has next_cursor and prev_cursor, "
        "not page numbers; default per_page).",
    ),
    _query(
        "cursor",
        {"type": "string", "pattern": CATALOG_CURSOR_PATTERN},
        "meta.next_cursor or meta.prev_cursor of an earlier answer (opaque: pass it back "
        "as given). It carries its sort; page is not used with it.",
    ),
]
UPDATED_SINCE = _query(
    "updated_since",
    {"type": "string", "format": "date-time"},
    "Only what changed at or after this moment (ISO 8601): pass the last updated_at seen.",
)
LOCALE = [
    _query("locale", {"type": "string", "maxLength": 16}, "e.g. de: overrides Accept-Language."),
]
CART_TOKEN = _param(
    "X-Cart-Token",
    "header",
    {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"},
    "A guest cart's token (Cart.token); without it, the session's cart.",
)
IDEMPOTENCY = _param(
    "Idempotency-Key",
    "header",
    {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"},
    "A new random value per attempt at this action; the same on a retry: a retried "
    "request answers the first one's result (Idempotent-Replayed: true). The same key "
    "with another body is refused: 422, error.code idempotency_key_reused.",
    required=True,
)
IF_MATCH = _param(
    "If-Match", "header", {"type": "string"}, "The ETag read: 412 if the resource has changed."
)


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


PRODUCT_SLUG = _path("slug", {"type": "string", "maxLength": 120})
PRODUCT_ID = _path("product_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})
ITEM_ID = _path("item_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})
VARIANT_ID = _path("variant_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})
IMAGE_ID = _path("image_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})
CUSTOMER_ID = _path("customer_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})
NUMBER = _path("number", {"type": "string", "maxLength": 32})
CATEGORY_SLUG = _path("slug", {"type": "string", "maxLength": 120})
ADDRESS_ID = _path("address_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})
WEBHOOK_ID = _path("webhook_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})


def _op(
    operation_id: str,
    tag: str,
    summary: str,
    ok: tuple[int, dict[str, Any] | None, str],
    *,
    description: str = "",
    body: str | None = None,
    params: list[dict[str, Any]] | None = None,
    errors: tuple[int, ...] = (),
    links: dict[str, Any] | None = None,
    ok_headers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    status, schema, what = ok
    statuses = set(ALWAYS) | set(errors)
    if body:
        statuses |= {413, 415, 422}
    headers = {**RATE_HEADERS, **(ok_headers or {})}
    if schema is None:  # no body: 204, or a 202 that says nothing either way
        success: dict[str, Any] = {"description": what, "headers": headers}
    else:
        success = _json(schema or {}, what, headers)
    if links:
        success["links"] = links
    responses: dict[str, Any] = {str(status): success}
    for code in sorted(statuses):
        responses[str(code)] = _json(_ref("Error"), ERRORS[code])
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "tags": [tag],
        "summary": summary,
        "description": description or summary + ".",
        "parameters": params or [],
        "responses": responses,
    }
    if body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return operation


IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/avif")


def _image_upload() -> dict[str, Any]:
    """The one operation whose body is not JSON: the picture itself."""
    operation = _op(
        "uploadProductImage",
        "admin: catalog",
        "Add a picture to the product (the body is the image file)",
        (201, _data(_ref("AdminProduct")), "The product with its new picture"),
        description="Send the file as the body with its own Content-Type (PNG, JPEG, GIF, "
        "WebP or AVIF, at most 10 MB and 40 megapixels), or as application/octet-stream: "
        "the bytes say which format it is. It is decoded and stored again "
        "without metadata; AVIF, WebP and JPEG/PNG renditions follow within seconds.",
        params=[_query("alt", {"type": "string", "maxLength": 300}, "What the picture shows.")],
        errors=(409, 413, 415, 422),
        ok_headers=LOCATION,
    )
    operation["requestBody"] = {
        "required": True,
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}}
            for kind in (*IMAGE_TYPES, "application/octet-stream")
        },
    }
    return operation


def _link(operation_id: str, **parameters: str) -> dict[str, Any]:
    return {"operationId": operation_id, "parameters": parameters}


ETAG = {"ETag": {"schema": HEADER_STRING, "description": "Send as If-Match when writing."}}
LOCATION = {"Location": {"schema": HEADER_STRING, "description": "The new resource."}}
CART_HEADERS = {"X-Cart-Token": {"schema": HEADER_STRING, "description": "The guest cart's token."}}
CART = _data(_ref("Cart"))


def _paths() -> dict[str, dict[str, Any]]:
    product_links = {
        "GetAdminProduct": _link("getAdminProduct", product_id="$response.body#/data/id")
    }
    return {
        "/api/v1/products": {
            "get": _op(
                "listProducts",
                "catalog",
                "Active products, a page at a time",
                (
                    200,
                    {
                        "type": "object",
                        "properties": {
                            "data": {"type": "array", "items": _ref("Product")},
                            "meta": {"anyOf": [_ref("CatalogPageMeta"), _ref("CatalogCursorMeta")]},
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
                    _query("q", {"type": "string", "maxLength": 100}),
                    _query("category", {"type": "string", "maxLength": 120}),
                    _query(
                        "sort",
                        {"enum": ["relevance", "newest", "price_asc", "price_desc", "title"]},
                        "relevance (best match first) is the default with q, newest without.",
                    ),
                ],
                links={
                    "GetProduct": _link("getProduct", slug="$response.body#/data/0/slug"),
                    "AddToCart": {
                        "operationId": "addCartItem",
                        "requestBody": {"product_id": "$response.body#/data/0/id", "quantity": 1},
                    },
                },
            )
        },
        "/api/v1/products/{slug}": {
            "parameters": [PRODUCT_SLUG],
            "get": _op(
                "getProduct",
                "catalog",
                "One active product",
                (200, _data(_ref("Product")), "The product"),
                params=LOCALE,
            ),
        },
        "/api/v1/categories": {
            "get": _op(
                "listCategories",
                "catalog",
                "The category tree",
                (200, _data({"type": "array", "items": _ref("Category")}), "The tree"),
                params=LOCALE,
            )
        },
        "/api/v1/cart": {
            "get": _op(
                "getCart",
                "cart",
                "The cart; with ?country= (and ?discount_code=) what checkout would charge",
                (200, CART, "The cart"),
                params=[
                    CART_TOKEN,
                    _query("country", {"type": "string", "maxLength": 2}),
                    _query("discount_code", {"type": "string", "maxLength": 40}),
                ],
                ok_headers=CART_HEADERS,
            )
        },
        "/api/v1/cart/items": {
            "post": _op(
                "addCartItem",
                "cart",
                "Add a product to the cart (a new guest cart answers its token)",
                (201, CART, "The cart, with the line"),
                body="CartItemIn",
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
        },
        "/api/v1/cart/items/{item_id}": {
            "parameters": [ITEM_ID],
            "patch": _op(
                "setCartItemQuantity",
                "cart",
                "Set a line's quantity (0 removes it)",
                (200, CART, "The cart"),
                body="QuantityIn",
                params=[CART_TOKEN],
                errors=(409,),
            ),
            "delete": _op(
                "removeCartItem",
                "cart",
                "Remove a line",
                (200, CART, "The cart"),
                params=[CART_TOKEN],
            ),
        },
        "/api/v1/checkout/options": {
            "get": _op(
                "getCheckoutOptions",
                "checkout",
                "Where the shop ships, how it is paid, and the rate for ?country=",
                (200, _data(_ref("CheckoutOptions")), "The options"),
                params=[_query("country", {"type": "string", "pattern": "^[A-Za-z]{2}$"})],
            )
        },
        "/api/v1/checkout": {
            "post": _op(
                "checkout",
                "checkout",
                "Place the order for the cart",
                (201, _data(_ref("Placed")), "The order, and where to send the shopper to pay"),
                description="Takes the cart of X-Cart-Token (or the signed-in account), "
                "prices it for the address and discount code, takes the stock, and answers "
                "the order. With the same Idempotency-Key, a retry answers the same order "
                "(Idempotent-Replayed: true), never a second one; the same key with another "
                "body is a 422 (idempotency_key_reused). For card payment, send "
                "the shopper to payment.redirect_url.",
                body="CheckoutIn",
                params=[IDEMPOTENCY, CART_TOKEN],
                errors=(401, 409),
                ok_headers={**LOCATION, "Idempotent-Replayed": {"schema": HEADER_STRING}},
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
        },
        "/api/v1/orders": {
            "get": _op(
                "listOrders",
                "orders",
                "The signed-in shopper's orders, newest first",
                (200, _listing("Order"), "A page of orders"),
                params=PAGING,
                errors=(401,),
            )
        },
        "/api/v1/orders/{number}": {
            "parameters": [NUMBER],
            "get": _op(
                "getOrder",
                "orders",
                "One of the shopper's orders (or a guest's, with its X-Order-Key)",
                (200, _data(_ref("Order")), "The order"),
                params=[
                    _param(
                        "X-Order-Key",
                        "header",
                        {"type": "string", "maxLength": 64},
                        "Placed.order_key, for a guest's order.",
                    )
                ],
            ),
        },
        "/api/v1/orders/{number}/payment": {
            "parameters": [NUMBER],
            "post": _op(
                "payOrderAgain",
                "orders",
                "Pay again for an order awaiting payment, or switch its payment method",
                (200, _data(_ref("Placed")), "The order, and where to send the shopper to pay"),
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
                body="PaymentRetryIn",
                params=[
                    _param(
                        "X-Order-Key",
                        "header",
                        {"type": "string", "maxLength": 64},
                        "Placed.order_key, for a guest's order.",
                    )
                ],
                errors=(401, 409, 502),
            ),
        },
        "/api/v1/account/login": {
            "post": _op(
                "login",
                "account",
                "Log a shopper in: a token for the Authentication-Token header",
                (200, _data(_ref("LoginAnswer")), "The token and the account"),
                description="The guest cart named by X-Cart-Token joins the account. Limited "
                "per address and per account, like the login page.",
                body="Credentials",
                params=[CART_TOKEN],
                errors=(401, 403),
            )
        },
        "/api/v1/account/register": {
            "post": _op(
                "register",
                "account",
                "Open an account",
                (202, _data(_ref("Registered")), "Done, if the address had no account"),
                description="Answers the same whether or not the address had an account "
                "(the owner of an existing one gets a mail); then log in, after confirming "
                "the address when the shop asks for it.",
                body="Credentials",
                errors=(403, 409),
            )
        },
        "/api/v1/account/token": {
            "post": _op(
                "refreshLoginToken",
                "account",
                "A fresh login token for a good one (a day from now)",
                (200, _data(_ref("LoginAnswer")), "The new token and the account"),
                description="Send the token to renew as Authentication-Token; the answer "
                "has a new one that lives a day from now. The one sent keeps working "
                "until it expires (use the new one and forget it); logout ends both. An "
                "expired token cannot be renewed: log in again.",
            )
        },
        "/api/v1/account/logout": {
            "post": _op(
                "logout",
                "account",
                "Log the shopper out: every login token of the account stops working",
                (204, None, "Logged out"),
                description="Ends every Authentication-Token of the account at once (all "
                "its apps and devices: 401 from now on), and a page session sent instead "
                "of a token. Sessions on the shop's pages stay. API keys are revoked in "
                "the dashboard instead (403).",
            )
        },
        "/api/v1/account/password-reset": {
            "post": _op(
                "requestPasswordReset",
                "account",
                "Mail a password reset link, if the address has an account",
                (202, None, "Sent, if the address has an account"),
                description="Answers 202 whether or not the address has an account (the "
                "API never tells which do); the mail holds a link whose last part is the "
                "token for POST /account/password. Limited per address and per account, "
                "like the reset page.",
                body="ResetRequest",
            )
        },
        "/api/v1/account/password": {
            "post": _op(
                "resetPassword",
                "account",
                "Choose a new password with the token from the reset mail",
                (204, None, "Changed: log in with the new password"),
                description="Every session and login token of the account ends, and so "
                "does the token (it works once). An invalid or expired token is a 422 "
                "naming token; a password the shop refuses a 422 naming password.",
                body="PasswordReset",
            )
        },
        "/api/v1/account/addresses": {
            "get": _op(
                "listAddresses",
                "account",
                "The shopper's address book, the default first",
                (200, _data({"type": "array", "items": _ref("SavedAddress")}), "Every address"),
                description="At most 50 addresses, the default first, then the newest.",
            ),
            "post": _op(
                "addAddress",
                "account",
                "Save an address in the shopper's address book",
                (201, _data(_ref("SavedAddress")), "Saved"),
                description="Held to its country's rules (a 422 names each field that "
                "does not hold); the account's first address is its default. 409 "
                "`address_book_full` at 50 addresses.",
                body="AddressIn",
                errors=(409,),
                ok_headers=LOCATION,
            ),
        },
        "/api/v1/account/addresses/{address_id}": {
            "parameters": [ADDRESS_ID],
            "get": _op(
                "getAddress",
                "account",
                "One of the shopper's addresses",
                (200, _data(_ref("SavedAddress")), "The address"),
            ),
            "patch": _op(
                "changeAddress",
                "account",
                "Change an address, or make it the default",
                (200, _data(_ref("SavedAddress")), "The address as saved"),
                description="The fields sent replace the saved ones and the result is "
                "checked as a whole, like a new address.",
                body="AddressPatch",
            ),
            "delete": _op(
                "deleteAddress",
                "account",
                "Delete an address",
                (204, None, "Deleted"),
                description="When it was the default, the newest address left becomes it.",
            ),
        },
        # Staff ---------------------------------------------------------------------
        "/api/v1/admin/products": {
            "get": _op(
                "listAdminProducts",
                "admin: catalog",
                "Every product, hidden ones too, by last change",
                (200, _listing("AdminProduct", "CursorMeta"), "A page of products"),
                params=[
                    *CURSOR,
                    UPDATED_SINCE,
                    _query("active", {"enum": ["true", "false"]}),
                    _query("q", {"type": "string", "maxLength": 100}),
                ],
            ),
            "post": _op(
                "createProduct",
                "admin: catalog",
                "Create a product",
                (201, _data(_ref("AdminProduct")), "The product"),
                body="ProductIn",
                errors=(409,),
                ok_headers={**LOCATION, **ETAG},
                links=product_links,
            ),
        },
        "/api/v1/admin/products/{product_id}": {
            "parameters": [PRODUCT_ID],
            "get": _op(
                "getAdminProduct",
                "admin: catalog",
                "One product",
                (200, _data(_ref("AdminProduct")), "The product"),
                ok_headers=ETAG,
            ),
            "patch": _op(
                "updateProduct",
                "admin: catalog",
                "Change a product; only the fields sent change",
                (200, _data(_ref("AdminProduct")), "The product"),
                body="ProductPatch",
                params=[IF_MATCH],
                errors=(409, 412),
                ok_headers=ETAG,
            ),
            "delete": _op(
                "deleteProduct",
                "admin: catalog",
                "Delete a product (orders keep their lines)",
                (204, None, "Deleted"),
                params=[IF_MATCH],
                errors=(409, 412),
            ),
        },
        "/api/v1/admin/products/{product_id}/inventory": {
            "parameters": [PRODUCT_ID],
            "post": _op(
                "adjustInventory",
                "admin: catalog",
                "Add or remove units (atomic; never below zero)",
                (200, _data(_ref("AdminProduct")), "The product"),
                description="A product with variants keeps its stock on them: name the "
                "variant (variant_id); the product's stock is their sum.",
                body="InventoryIn",
                errors=(409,),
            ),
        },
        "/api/v1/admin/products/{product_id}/options": {
            "parameters": [PRODUCT_ID],
            "put": _op(
                "setProductOptions",
                "admin: catalog",
                "Set the product's options; every combination is a variant",
                (200, _data(_ref("AdminProduct")), "The product with its variants"),
                description="At most three options and 100 combinations. Variants carry "
                "over where they still fit (a value renamed in place keeps its SKU and "
                "stock; a new option extends them with its first value); new ones start "
                "with no stock, except that a simple product's stock goes to its first "
                "variant; combinations no longer possible leave with their stock. An "
                "empty list makes it a simple product again.",
                body="OptionsIn",
                params=[IF_MATCH],
                errors=(409, 412),
                ok_headers=ETAG,
            ),
        },
        "/api/v1/admin/products/{product_id}/variants/{variant_id}": {
            "parameters": [PRODUCT_ID, VARIANT_ID],
            "patch": _op(
                "updateVariant",
                "admin: catalog",
                "Change a variant's SKU, price, compare-at price or picture",
                (200, _data(_ref("AdminProduct")), "The product"),
                body="VariantPatch",
                params=[IF_MATCH],
                errors=(409, 412),
                ok_headers=ETAG,
            ),
        },
        "/api/v1/admin/products/{product_id}/images": {
            "parameters": [PRODUCT_ID],
            "post": _image_upload(),
        },
        "/api/v1/admin/products/{product_id}/images/{image_id}": {
            "parameters": [PRODUCT_ID, IMAGE_ID],
            "delete": _op(
                "deleteProductImage",
                "admin: catalog",
                "Take a picture off the product",
                (204, None, "Removed"),
                errors=(409,),
            ),
        },
        "/api/v1/admin/categories": {
            "get": _op(
                "listAdminCategories",
                "admin: catalog",
                "Every category",
                (200, _data({"type": "array", "items": _ref("AdminCategory")}), "Categories"),
            ),
            "post": _op(
                "createCategory",
                "admin: catalog",
                "Create a category",
                (201, _data(_ref("AdminCategory")), "The category"),
                body="CategoryIn",
                errors=(409,),
                ok_headers={**LOCATION, **ETAG},
                links={"GetCategory": _link("getCategory", slug="$response.body#/data/slug")},
            ),
        },
        "/api/v1/admin/categories/{slug}": {
            "parameters": [CATEGORY_SLUG],
            "get": _op(
                "getCategory",
                "admin: catalog",
                "One category",
                (200, _data(_ref("AdminCategory")), "The category"),
                ok_headers=ETAG,
            ),
            "patch": _op(
                "updateCategory",
                "admin: catalog",
                "Change a category",
                (200, _data(_ref("AdminCategory")), "The category"),
                body="CategoryPatch",
                params=[IF_MATCH],
                errors=(409, 412),
                ok_headers=ETAG,
            ),
            "delete": _op(
                "deleteCategory",
                "admin: catalog",
                "Delete a category (its products stay)",
                (204, None, "Deleted"),
                errors=(409,),
            ),
        },
        "/api/v1/admin/orders": {
            "get": _op(
                "listAdminOrders",
                "admin: orders",
                "Every order, by last change: filter, and sync with cursors",
                (200, _listing("AdminOrder", "CursorMeta"), "A page of orders"),
                params=[
                    *CURSOR,
                    UPDATED_SINCE,
                    _query(
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
                    _query("created_from", {"type": "string", "format": "date-time"}),
                    _query("created_to", {"type": "string", "format": "date-time"}),
                ],
            )
        },
        "/api/v1/admin/orders/{number}": {
            "parameters": [NUMBER],
            "get": _op(
                "getAdminOrder",
                "admin: orders",
                "One order",
                (200, _data(_ref("AdminOrder")), "The order"),
                ok_headers=ETAG,
            ),
            "patch": _op(
                "setOrderStatus",
                "admin: orders",
                "Move an order to another status; a refused move says why",
                (200, _data(_ref("AdminOrder")), "The order"),
                body="OrderStatusIn",
                params=[IF_MATCH],
                errors=(409, 412),
                ok_headers=ETAG,
            ),
        },
        "/api/v1/admin/orders/{number}/shipment": {
            "parameters": [NUMBER],
            "post": _op(
                "shipOrder",
                "admin: orders",
                "Ship an order with its carrier and tracking number (the shopper is mailed)",
                (200, _data(_ref("AdminOrder")), "The order"),
                body="ShipmentIn",
                params=[IF_MATCH],
                errors=(409, 412),
            ),
        },
        "/api/v1/admin/orders/{number}/cancel": {
            "parameters": [NUMBER],
            "post": _op(
                "cancelOrder",
                "admin: orders",
                "Cancel an order; its units go back in stock, once",
                (200, _data(_ref("AdminOrder")), "The order"),
                params=[IF_MATCH],
                errors=(409, 412),
            ),
        },
        "/api/v1/admin/orders/{number}/refunds": {
            "parameters": [NUMBER],
            "get": _op(
                "listRefunds",
                "admin: orders",
                "An order's refunds",
                (200, _data({"type": "array", "items": _ref("Refund")}), "The refunds"),
            ),
            "post": _op(
                "refundOrder",
                "admin: orders",
                "Refund part or all of a paid order (with the payment provider)",
                (201, _data(_ref("Refund")), "The refund"),
                body="RefundIn",
                params=[IDEMPOTENCY],
                errors=(409,),
                ok_headers={**LOCATION, "Idempotent-Replayed": {"schema": HEADER_STRING}},
            ),
        },
        "/api/v1/admin/customers": {
            "get": _op(
                "listCustomers",
                "admin: customers",
                "Customer accounts, oldest first",
                (200, _listing("Customer", "CursorMeta"), "A page of customers"),
                params=[
                    *CURSOR,
                    _query(
                        "created_since",
                        {"type": "string", "format": "date-time"},
                        "Only accounts opened at or after this moment.",
                    ),
                    _query("q", {"type": "string", "maxLength": 100}),
                ],
            )
        },
        "/api/v1/admin/customers/{customer_id}": {
            "parameters": [CUSTOMER_ID],
            "get": _op(
                "getCustomer",
                "admin: customers",
                "One customer account",
                (200, _data(_ref("Customer")), "The account"),
            ),
        },
        "/api/v1/admin/webhooks": {
            "get": _op(
                "listWebhooks",
                "admin: webhooks",
                "The shop's webhook endpoints (never their secrets)",
                (200, _data({"type": "array", "items": _ref("Webhook")}), "The endpoints"),
            ),
            "post": _op(
                "createWebhook",
                "admin: webhooks",
                "Subscribe an endpoint to events; the answer shows its secret, once",
                (201, _data(_ref("WebhookWithSecret")), "The endpoint, with its secret"),
                description="The URL is held to the dashboard's rules (https, a public "
                "address, never the platform itself: 422 naming url), at most 20 "
                "endpoints (409 webhook_limit). Deliveries are signed as Standard Webhooks "
                "say (webhook-id, webhook-timestamp, webhook-signature) with the secret "
                "answered here, the only time it is shown.",
                body="WebhookIn",
                errors=(409,),
                ok_headers=LOCATION,
                links={"GetWebhook": _link("getWebhook", webhook_id="$response.body#/data/id")},
            ),
        },
        "/api/v1/admin/webhooks/{webhook_id}": {
            "parameters": [WEBHOOK_ID],
            "get": _op(
                "getWebhook",
                "admin: webhooks",
                "One webhook endpoint",
                (200, _data(_ref("Webhook")), "The endpoint"),
            ),
            "patch": _op(
                "updateWebhook",
                "admin: webhooks",
                "Change an endpoint's URL, events or whether it is on",
                (200, _data(_ref("Webhook")), "The endpoint"),
                description="Only the fields sent change. A new URL is checked as a new "
                "endpoint's is (422 naming url); active: true switches an endpoint that "
                "failed back on and forgets its failures.",
                body="WebhookPatch",
            ),
            "delete": _op(
                "deleteWebhook",
                "admin: webhooks",
                "Remove an endpoint (what is still queued for it is dropped)",
                (204, None, "Removed"),
            ),
        },
        "/api/v1/admin/webhooks/{webhook_id}/secret": {
            "parameters": [WEBHOOK_ID],
            "post": _op(
                "rotateWebhookSecret",
                "admin: webhooks",
                "A new signing secret for the endpoint, shown once",
                (200, _data(_ref("WebhookWithSecret")), "The endpoint, with its new secret"),
                description="The old secret stops at once: deliveries from now on, retries "
                "included, are signed with the new one.",
                ok_headers=LOCATION,
            ),
        },
        "/api/v1/openapi.json": {
            "get": _op(
                "getOpenApi",
                "meta",
                "This document",
                (200, {"type": "object"}, "The OpenAPI document"),
            )
        },
    }


@cache
def component_schemas() -> dict[str, Any]:
    """The component schemas, generated from the models the API validates and answers with."""
    from .account import Credentials, LoginAnswer, PasswordReset, Registered, ResetRequest

    models: tuple[type[BaseModel], ...] = (
        *DOCUMENTED,
        Credentials,
        LoginAnswer,
        Registered,
        ResetRequest,
        PasswordReset,
    )
    _, top = models_json_schema(
        [(model, "validation") for model in models],
        ref_template="#/components/schemas/{model}",
    )
    return dict(top["$defs"])


@cache
def paths() -> dict[str, dict[str, Any]]:
    return _http_semantics(_paths())


# Catalog reads the server tags by their body (api.http.cacheable): public, 304 too.
PUBLIC_CACHED = frozenset({"listProducts", "getProduct", "listCategories", "getOpenApi"})
IF_NONE_MATCH = _param(
    "If-None-Match",
    "header",
    {"type": "string"},
    "The ETag of the copy held: 304 (no body) while it is current.",
)
NOT_MODIFIED = {
    "description": "Not modified: the copy the client holds (If-None-Match) is current",
    "headers": {
        "ETag": {"schema": HEADER_STRING, "description": "The same tag."},
        "Cache-Control": {"schema": HEADER_STRING},
    },
}
RETRY_AFTER = {"Retry-After": {"schema": HEADER_STRING, "description": "Seconds to wait."}}
LINK = {
    "Link": {
        "schema": HEADER_STRING,
        "description": 'RFC 8288: <the next page\'s URL>; rel="next" (as meta.next_cursor).',
    }
}


def _http_semantics(items: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What the HTTP layer adds to every operation, written down once: a tagged read
    answers 304 to If-None-Match, a cursor page links the next (Link), a 429 says when to
    come back and what the limit is, a 503 when the shop opens again."""
    for item in items.values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            ok = responses.get("200", {})
            headers = ok.setdefault("headers", {})
            tagged = "ETag" in headers or operation["operationId"] in PUBLIC_CACHED
            if method == "get" and tagged:
                headers.update(
                    ETag={"schema": HEADER_STRING, "description": "The body's entity tag."},
                    **{"Cache-Control": {"schema": HEADER_STRING}},
                )
                operation["parameters"] = [*operation["parameters"], IF_NONE_MATCH]
                responses["304"] = NOT_MODIFIED
            if any(p.get("name") == "cursor" for p in operation["parameters"]):
                headers.update(LINK)
            if "429" in responses:
                responses["429"] = {
                    **responses["429"],
                    "headers": {**RETRY_AFTER, **RATE_HEADERS},
                }
            if "503" in responses:
                responses["503"] = {**responses["503"], "headers": RETRY_AFTER}
            operation["responses"] = dict(sorted(responses.items()))
    return items


def _declared_security(items: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each operation with its ``security`` (and its 401/403) as its route declares them
    (``access``): the declaration the server enforces is the only one there is."""
    from flask import current_app

    declared_items = {path: dict(item) for path, item in items.items()}
    for rule in current_app.url_map.iter_rules():
        item = declared_items.get(_openapi_path(rule.rule))
        access = declared(current_app.view_functions.get(rule.endpoint))
        if item is None or access is None:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation = item.get(method.lower())
            if operation is None:
                continue
            responses = dict(operation["responses"])
            # 401 everywhere: a credential that is sent and fails is refused on every route,
            # one that serves guests or anyone too (api/access.py).
            refusals = {401}
            if access.scope is not None or not access.keys:
                refusals.add(403)
            for code in sorted(refusals):
                responses.setdefault(str(code), _json(_ref("Error"), ERRORS[code]))
            item[method.lower()] = {
                **operation,
                "security": access.security(),
                "responses": dict(sorted(responses.items())),
            }
    return declared_items


def openapi_document(shop_name: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{shop_name} API",
            "version": VERSION,
            "description": 'Errors are always {"error": {"code", "message"}}. Writes need '
            "Content-Type: application/json. Amounts are Money objects (minor units, "
            "currency, display). Catalog reads are public and cacheable; carts are held "
            "by X-Cart-Token; staff resources live under /api/v1/admin. See docs/api.md.",
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": name}
            for name in (
                "catalog",
                "cart",
                "checkout",
                "orders",
                "account",
                "admin: catalog",
                "admin: orders",
                "admin: customers",
                "admin: webhooks",
                "meta",
            )
        ],
        "paths": _declared_security(paths()),
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An integration key (sf_…), limited to its scopes: "
                    + "; ".join(f"{name}: {text}" for name, text in SCOPES.items()),
                },
                "authToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authentication-Token",
                    "description": "From POST /api/v1/account/login (a day).",
                },
            },
        },
    }
