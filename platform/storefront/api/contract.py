"""What an API route promises, declared once, on the route.

Under the route decorator, ``@operation("getCart", "cart", "The cart", ok=(200, envelope(
ref("Cart")), "The cart"), params=[CART_TOKEN])`` records an ``Operation`` on the view:
its id and tag, its body model, its query and header parameters, its success answer with
the headers it carries, the refusals it can answer, the links a client follows from it.
Who may call it is the route's ``access`` declaration beside it. From these two:

- ``api.openapi`` generates the OpenAPI document (spectree builds the operations from the
  declarations; the HTTP manners every route shares are added there once);
- ``check_parameters`` holds every request's query and header parameters to the
  declaration before the view runs (400 naming the parameter);
- the body is validated by the view with the declared model (``errors.body``).

So a new endpoint is one route with its two declarations (docs/architecture.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from pydantic import BaseModel

from .errors import ApiError
from .http import CATALOG_CURSOR_PATTERN, CURSOR_PATTERN, init_http

View = TypeVar("View", bound=Callable[..., Any])
ATTRIBUTE = "api_operation"
Schema = dict[str, Any]


@dataclass(frozen=True)
class Operation:
    """One route's contract (its security is its ``access`` declaration)."""

    operation_id: str
    tag: str
    summary: str
    ok: tuple[int, Schema | None, str]  # status, body schema (None: no body), description
    description: str = ""
    body: type[BaseModel] | None = None  # the JSON body, validated by the view with it
    body_types: tuple[str, ...] = ()  # a body that is not JSON: its media types (binary)
    params: tuple[Schema, ...] = ()  # query and header parameters
    errors: tuple[int, ...] = ()  # refusals beyond those every route (and every body) has
    ok_headers: Mapping[str, Schema] = field(default_factory=dict)
    links: Mapping[str, Any] = field(default_factory=dict)
    cached: bool = False  # a public read tagged by its body (http.cacheable): 304 too


def operation(
    operation_id: str,
    tag: str,
    summary: str,
    ok: tuple[int, Schema | None, str],
    *,
    description: str = "",
    body: type[BaseModel] | None = None,
    body_types: tuple[str, ...] = (),
    params: list[Schema] | tuple[Schema, ...] = (),
    errors: tuple[int, ...] = (),
    ok_headers: Mapping[str, Schema] | None = None,
    links: Mapping[str, Any] | None = None,
    cached: bool = False,
) -> Callable[[View], View]:
    """Declare the route's contract (see the module's docstring)."""
    declared = Operation(
        operation_id,
        tag,
        summary,
        ok,
        description=description,
        body=body,
        body_types=body_types,
        params=tuple(params),
        errors=errors,
        ok_headers=dict(ok_headers or {}),
        links=dict(links or {}),
        cached=cached,
    )

    def declare(view: View) -> View:
        setattr(view, ATTRIBUTE, declared)
        return view

    return declare


def declared_operation(view: Callable[..., Any] | None) -> Operation | None:
    """The contract a view declares, or None."""
    return getattr(view, ATTRIBUTE, None)


def init_contract(bp: Blueprint) -> None:
    """The API's manners (``http``: limits, access) and then the declared parameters."""
    init_http(bp)
    bp.before_request(check_parameters)


# Schema fragments ---------------------------------------------------------------------


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def envelope(schema: Schema) -> Schema:
    """``{"data": …}``, the shape of every answer with a body."""
    return {"type": "object", "properties": {"data": schema}, "required": ["data"]}


def page_of(item: str, meta: str = "PageMeta") -> Schema:
    return {
        "type": "object",
        "properties": {"data": {"type": "array", "items": ref(item)}, "meta": ref(meta)},
        "required": ["data", "meta"],
    }


def param(name: str, where: str, schema: Schema, description: str = "", **extra: Any) -> Schema:
    return {"name": name, "in": where, "schema": schema, "description": description, **extra}


def in_query(name: str, schema: Schema, description: str = "") -> Schema:
    return param(name, "query", schema, description)


def link(operation_id: str, **parameters: str) -> dict[str, Any]:
    return {"operationId": operation_id, "parameters": parameters}


HEADER_STRING = {"type": "string"}
WHOLE_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
# The path's variables, by name: what the views accept (longer ones are a 404).
PATH_SCHEMAS: dict[str, Schema] = {
    "slug": {"type": "string", "maxLength": 120},
    "number": {"type": "string", "maxLength": 32},
    **{
        name: WHOLE_ID
        for name in (
            "product_id",
            "item_id",
            "variant_id",
            "image_id",
            "customer_id",
            "address_id",
            "webhook_id",
            "card_id",
            "review_id",
        )
    },
}

PAGING = [
    in_query("page", {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 1}),
    in_query("per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
]
CURSOR = [
    in_query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}),
    in_query(
        "cursor",
        {"type": "string", "pattern": CURSOR_PATTERN},
        "meta.next_cursor of the page before (opaque: pass it back as given).",
    ),
]
CATALOG_CURSOR = [
    in_query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": 100},
        "Products per answer, by cursor (sent: meta has next_cursor and prev_cursor, "
        "not page numbers; default per_page).",
    ),
    in_query(
        "cursor",
        {"type": "string", "pattern": CATALOG_CURSOR_PATTERN},
        "meta.next_cursor or meta.prev_cursor of an earlier answer (opaque: pass it back "
        "as given). It carries its sort; page is not used with it.",
    ),
]
UPDATED_SINCE = in_query(
    "updated_since",
    {"type": "string", "format": "date-time"},
    "Only what changed at or after this moment (ISO 8601): pass the last updated_at seen.",
)
LOCALE = [
    in_query("locale", {"type": "string", "maxLength": 16}, "e.g. de: overrides Accept-Language."),
]
CART_TOKEN = param(
    "X-Cart-Token",
    "header",
    {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"},
    "A guest cart's token (Cart.token); without it, the session's cart.",
)
IDEMPOTENCY = param(
    "Idempotency-Key",
    "header",
    {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"},
    "A new random value per attempt at this action; the same on a retry: a retried "
    "request answers the first one's result (Idempotent-Replayed: true). The same key "
    "with another body is refused: 422, error.code idempotency_key_reused.",
    required=True,
)
IF_MATCH = param(
    "If-Match", "header", {"type": "string"}, "The ETag read: 412 if the resource has changed."
)
ORDER_KEY = param(
    "X-Order-Key",
    "header",
    {"type": "string", "maxLength": 64},
    "Placed.order_key, for a guest's order.",
)

ETAG = {"ETag": {"schema": HEADER_STRING, "description": "Send as If-Match when writing."}}
LOCATION = {"Location": {"schema": HEADER_STRING, "description": "The new resource."}}
REPLAYED = {"Idempotent-Replayed": {"schema": HEADER_STRING}}
CART = envelope(ref("Cart"))
CART_HEADERS = {"X-Cart-Token": {"schema": HEADER_STRING, "description": "The guest cart's token."}}


# Parameters, held to the declaration on every request ---------------------------------


def check_parameters() -> None:
    """Hold the query and header parameters to what the route declares of them: a value
    it does not allow is a 400 that names it, never a value quietly ignored."""
    if request.endpoint is None or request.method in ("OPTIONS", "HEAD"):
        return
    declared = declared_operation(current_app.view_functions.get(request.endpoint))
    if declared is None:
        return
    for parameter in declared.params:
        where = parameter["in"]
        source = request.args if where == "query" else request.headers
        value = source.get(parameter["name"])
        if value is None:
            if parameter.get("required"):
                raise ApiError(
                    400,
                    _(
                        "Send the %(name)s header: the API document says what it holds.",
                        name=parameter["name"],
                    ),
                )
            continue
        problem = _violates(parameter["name"], parameter["schema"], value)
        if problem:
            raise ApiError(400, problem)


def _violates(name: str, schema: Schema, value: str) -> str | None:
    """What is wrong with ``value`` (text from a query or header) for ``schema``, said
    in the answer's language with the parameter's ``name``."""
    if "enum" in schema:
        if value in schema["enum"]:
            return None
        return _("%(name)s must be one of %(values)s.", name=name, values=", ".join(schema["enum"]))
    if schema.get("type") == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        if not re.fullmatch(r"-?[0-9]+", value):
            return _("%(name)s must be a whole number.", name=name)
        number = int(value[:20])
        if (low is not None and number < low) or (high is not None and number > high):
            return _("%(name)s must be from %(low)s to %(high)s.", name=name, low=low, high=high)
        return None
    if len(value) > schema.get("maxLength", 10_000):
        return _("%(name)s may be at most %(num)s characters.", name=name, num=schema["maxLength"])
    if "pattern" in schema and not re.search(schema["pattern"], value):
        return _("%(name)s must match %(pattern)s.", name=name, pattern=schema["pattern"])
    if schema.get("format") == "date-time":
        try:
            datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return _(
                "%(name)s must be an ISO 8601 date or time, e.g. %(example)s.",
                name=name,
                example="2026-11-25T08:00:00Z",
            )
    return None
