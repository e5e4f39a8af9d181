"""The API's one error shape, low enough for every layer to answer in it (the tenancy
hooks answer unknown hosts and suspended shops on ``/api/`` with it too)."""

from __future__ import annotations

from flask import Response, has_request_context, jsonify, request

__all__ = ["ERROR_CODES", "api_error", "wants_json"]

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
    503: "unavailable",
}


def wants_json() -> bool:
    return has_request_context() and request.path.startswith("/api/")


def api_error(status: int, message: str, code: str | None = None, **extra: object) -> Response:
    """The API's one error shape: ``{"error": {"code": ..., "message": ...}}``."""
    body = {
        "error": {"code": code or ERROR_CODES.get(status, "error"), "message": message, **extra}
    }
    response = jsonify(body)
    response.status_code = status
    return response
