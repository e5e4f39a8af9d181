"""The API's one error shape, low enough for every layer to answer in it (the tenancy
hooks answer unknown hosts and suspended shops on ``/api/`` with it too), and the
codes it answers with: one enum the document lists, so a client switches on
``error.code`` and shows ``error.message``."""

from __future__ import annotations

from enum import StrEnum

from flask import Response, has_request_context, jsonify, request

__all__ = ["ERROR_CODES", "Conflict", "ErrorCode", "Refused", "api_error", "wants_json"]


class Conflict(StrEnum):
    """Why a well-formed change meets the state it would change (409). A contract:
    members are added, never renamed."""

    ALREADY_REVIEWED = "already_reviewed"
    ALREADY_SIGNED_IN = "already_signed_in"
    ADDRESS_BOOK_FULL = "address_book_full"
    CART_CHANGED = "cart_changed"
    CART_EMPTY = "cart_empty"
    CATEGORY_HAS_SUBCATEGORIES = "category_has_subcategories"
    CATEGORY_NESTING = "category_nesting"
    CATEGORY_TAKEN = "category_taken"
    DISCOUNT_NOT_APPLICABLE = "discount_not_applicable"
    GIFT_CARD_NOT_APPLICABLE = "gift_card_not_applicable"
    INVALID_CHANGE = "invalid_change"
    INVALID_OPTIONS = "invalid_options"
    INVALID_TRANSITION = "invalid_transition"
    NOT_ENOUGH_STOCK = "not_enough_stock"
    NOT_REFUNDABLE = "not_refundable"
    NOT_SHIPPED_THERE = "not_shipped_there"
    OPTION_REQUIRED = "option_required"
    ORDER_NOT_AWAITING_PAYMENT = "order_not_awaiting_payment"
    PAYMENT_IN_PROGRESS = "payment_in_progress"
    PAYMENT_METHOD_NOT_OFFERED = "payment_method_not_offered"
    PRODUCT_HAS_VARIANTS = "product_has_variants"
    PRODUCT_UNAVAILABLE = "product_unavailable"
    REFUND_EXCEEDS_PAID = "refund_exceeds_paid"
    SHIPPING_RATE_CHANGED = "shipping_rate_changed"
    SHOP_CLOSED = "shop_closed"
    SKU_TAKEN = "sku_taken"
    SLUG_TAKEN = "slug_taken"
    SOLD_OUT = "sold_out"
    TOTAL_CHANGED = "total_changed"
    UNKNOWN_CATEGORY = "unknown_category"
    UNKNOWN_IMAGE = "unknown_image"
    UNKNOWN_LANGUAGE = "unknown_language"
    UNKNOWN_OPTION = "unknown_option"
    WEBHOOK_LIMIT = "webhook_limit"
    WRITE_CONFLICT = "write_conflict"


ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal",
    502: "payment_unavailable",
    503: "unavailable",
}

# Every code an answer can carry: a status's own, each conflict's, and the few others.
ErrorCode = StrEnum(  # type: ignore[misc]
    "ErrorCode",
    {
        name: name
        for name in sorted(
            {
                *(code for status, code in ERROR_CODES.items() if status != 409),
                *Conflict,
                "error",  # a status no row above names (werkzeug's rarer ones)
                "idempotency_key_reused",
                "insufficient_scope",
                "invalid_credentials",
                "invalid_token",
                "plan_limit_reached",  # the shop's plan (storefront.plans): 403, or 429
                "second_factor_required",
                "token_expired",
            }
        )
    },
)


class Refused(ValueError):
    """A change a service will not make; ``str()`` says why to a person and ``code``
    (a ``Conflict``) to a program. Subclasses name their usual reason."""

    code: str = Conflict.INVALID_CHANGE  # a Conflict, or an ErrorCode for other statuses

    def __init__(self, message: str, code: Conflict | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


def wants_json() -> bool:
    return has_request_context() and request.path.startswith("/api/")


def api_error(status: int, message: str, code: str | None = None, **extra: object) -> Response:
    """The API's one error shape: ``{"error": {"code": ..., "message": ...}}``."""
    code = str(code or ERROR_CODES.get(status, "error"))
    body = {"error": {"code": code, "message": message, **extra}}
    response = jsonify(body)
    response.status_code = status
    return response
