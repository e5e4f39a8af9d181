"""How the API refuses: one error shape, JSON bodies only, bounded paging."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, request
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import BadRequest

from ..catalog.schemas import field_errors
from ..errors import api_error
from ..idempotency import KeyReused
from ..json_limits import MAX_DEPTH, JSONTooDeep
from ..listing import MAX_PAGE
from ..problems import Refused
from .idempotency import key_reused

MAX_PER_PAGE = 100
RAW_IMAGE_ENDPOINTS = frozenset({"api_admin.image_upload"})


class ApiError(Exception):
    """An answer in the API's error shape. A 409 names its ``code`` (a ``Conflict``):
    tests/test_api_error_codes.py reads every one raised. ``message`` is for people, in
    the answer's language: pass it through gettext (``_()``), or a service's refusal that
    already is (tests/test_api_language.py reads every call)."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def refused(exc: Refused, status: int = 409, **extra: Any) -> ApiError:
    """A service's refusal in the API's shape: its message and its stable code."""
    return ApiError(status, str(exc), code=exc.code, **extra)


def init_api_errors(bp: Blueprint) -> None:
    bp.register_error_handler(ApiError, _answer)
    bp.register_error_handler(KeyReused, key_reused)  # wherever a service finds it
    bp.before_request(_json_writes_only)


def _answer(exc: ApiError) -> Response:
    return api_error(exc.status, exc.message, **exc.extra)


def _json_writes_only() -> None:
    """A write with a body sends JSON. Every type a cross-site form (or a CORS "simple"
    request) can send is refused, so a page elsewhere cannot ride a shopper's cookie; a
    write without a body (``POST .../cancel``) sends no Content-Type at all."""
    has_type = bool(request.headers.get("Content-Type"))
    has_body = bool(request.content_length) or "Transfer-Encoding" in request.headers
    writes = request.method in ("POST", "PUT", "PATCH", "DELETE")
    # An image upload sends the image itself: image/* (or a generated client's
    # application/octet-stream) is no type a form can send either.
    picture = request.endpoint in RAW_IMAGE_ENDPOINTS and (
        request.mimetype.startswith("image/") or request.mimetype == "application/octet-stream"
    )
    if writes and (has_type or has_body) and not request.is_json and not picture:
        raise ApiError(415, _("Send a JSON body with Content-Type: application/json."))
    if writes and has_body and request.is_json:
        _parse_body()
    # The JSON-only rule above is this blueprint's CSRF defence (see views.py);
    # tell Flask-Security's decorators, which would otherwise ask for a form token too.
    g.csrf_valid = True


def _parse_body() -> None:
    """Parse the body now, so a document nested too deep (``json_limits``) is refused
    with its reason; any other malformed body is left for ``body`` to refuse."""
    try:
        request.get_json()
    except BadRequest as exc:
        if _caused_by(exc, JSONTooDeep):
            raise ApiError(
                400, _("The JSON body nests more than %(num)s levels deep.", num=MAX_DEPTH)
            ) from None


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _step in range(8):  # werkzeug's BadRequest wraps Flask's, which wraps the parser's
        if seen is None or isinstance(seen, kind):
            return seen is not None
        seen = seen.__cause__ or seen.__context__
    return False


def body(model: type[BaseModel]) -> Any:
    """The request's JSON body validated by ``model``; 400/422 in the API's shape."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ApiError(400, _("The body must be a JSON object."))
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise ApiError(422, _("Some fields are invalid."), fields=field_errors(exc)) from None


def paging() -> tuple[int, int]:
    """``page`` and ``per_page`` from the query string, bounded."""
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", 20))
    except ValueError:
        raise ApiError(400, _("page and per_page must be whole numbers.")) from None
    if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= MAX_PER_PAGE:
        raise ApiError(
            400,
            _(
                "page must be 1 to %(pages)s, per_page between 1 and %(per_page)s.",
                pages=MAX_PAGE,
                per_page=MAX_PER_PAGE,
            ),
        )
    return page, per_page
