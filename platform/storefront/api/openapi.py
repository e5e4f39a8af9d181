"""The OpenAPI 3.1 document for ``/api/v1``, generated from the routes.

Each route declares its contract (``contract.operation``: id, tag, body model,
parameters, answer, refusals, headers, links) and who may call it (``access``). spectree
builds the operations from those declarations as it finds them in the URL map: the
operation ids and tags, the path parameters, the request bodies, the security, and the
component schemas of the models (the ones that validate requests and build answers,
``schemas``). It wraps no view: it is fed the declarations when the document is made,
so a request costs what it cost before (docs/decisions.md). What this module adds is
what every route shares, written down once: the refusals every route can answer (an
unknown host's 404, 405, 429, a suspended shop's 503; 401 and 403 as its access says),
the rate limit's headers, ``304`` on a tagged read, ``Link`` on a cursor page.

Tests walk the app's URL map against the document both ways, and schemathesis (in
``make test``) fuzzes the app against it as anonymous, shopper and staff.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from flask import current_app
from pydantic.json_schema import models_json_schema
from spectree import SpecTree

from ..accounts.tokens import SCOPES
from .access import Access, declared
from .contract import HEADER_STRING, PATH_SCHEMAS, Operation, declared_operation, param, ref
from .schemas import DOCUMENTED

VERSION = "1.1.0"
METHODS = ("get", "put", "post", "patch", "delete")
TAGS = (
    "catalog",
    "cart",
    "checkout",
    "orders",
    "account",
    "reviews",
    "admin: catalog",
    "admin: orders",
    "admin: customers",
    "admin: webhooks",
    "admin: reviews",
    "meta",
)

ERRORS = {
    400: "The query, a header or the body is malformed",
    401: "No credential, or one that is no good (WWW-Authenticate says which)",
    403: "Signed in, but not allowed (or the key lacks the scope); plan_limit_reached: the "
    "shop's plan does not allow it (error.limit, error.allowed, error.used, error.upgrade)",
    404: "No such resource (or no shop at this host)",
    405: "The path does not take this method (Allow lists those it does)",
    409: "The change conflicts with the resource's state; the message says why",
    412: "If-Match names a state the resource has left",
    413: "The body is larger than 10 MB",
    415: "Writes need Content-Type: application/json",
    422: "Some fields are invalid (error.fields says which and why)",
    429: "Over the rate limit (Retry-After says when to come back); plan_limit_reached: "
    "the shop's plan's API requests per minute",
    502: "The payment provider could not be reached; nothing changed but the order's "
    "session (retry)",
    503: "The shop is closed for now (Retry-After)",
}
# Any route: a bad parameter, no shop, a plan without the API, a limit, closed.
ALWAYS = (400, 403, 404, 405, 429, 503)
WITH_BODY = (413, 415, 422)

RATE_HEADERS = {
    name: {"schema": HEADER_STRING, "description": description}
    for name, description in (
        ("RateLimit-Limit", "Requests allowed in the window"),
        ("RateLimit-Remaining", "Requests left in it"),
        ("RateLimit-Reset", "Seconds until it starts again"),
        ("RateLimit-Policy", "The tightest limit and its window in seconds, e.g. 600;w=60"),
    )
}
RETRY_AFTER = {"Retry-After": {"schema": HEADER_STRING, "description": "Seconds to wait."}}
CONTENT_LANGUAGE = {
    "Content-Language": {
        "schema": HEADER_STRING,
        "description": "The answer's language (BCP 47, e.g. de-DE): error.message and the "
        "other texts are in it (?locale=, Accept-Language, else the shop's default).",
    }
}
LINK = {
    "Link": {
        "schema": HEADER_STRING,
        "description": 'RFC 8288: <the next page\'s URL>; rel="next" (as meta.next_cursor).',
    }
}
IF_NONE_MATCH = param(
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


class _Declarations(SpecTree):
    """spectree, fed the routes' declarations instead of wrapping their views."""

    def __init__(self) -> None:
        super().__init__(
            "flask",
            mode="strict",  # the declared routes only: the pages and /api/ stay out
            annotations=False,
            openapi_version="3.1.0",
            naming_strategy=lambda model: model.__name__,
            nested_naming_strategy=lambda _parent, child: child,
        )
        self._fed: dict[Callable[..., Any], Any] = {}

    def feed(self, view: Callable[..., Any], operation: Operation, access: Access) -> None:
        documented = self.validate(
            json=operation.body,
            tags=(operation.tag,),
            security=access.security(),
            operation_id=operation.operation_id,
            skip_validation=True,
        )(view)
        self._fed[view] = super().get_function_metadata(documented)

    def get_function_metadata(self, func: Callable[..., Any]) -> Any:
        return self._fed.get(func)


@cache
def component_schemas() -> dict[str, Any]:
    """The component schemas, generated from the models the API validates and answers with."""
    _, top = models_json_schema(
        [(model, "validation") for model in DOCUMENTED],
        ref_template="#/components/schemas/{model}",
    )
    return dict(top["$defs"])


def _generate() -> tuple[dict[str, Any], dict[str, Any]]:
    """The paths and component schemas of every declared route of the app."""
    spec = _Declarations()
    routes: dict[str, tuple[Operation, Access]] = {}
    for rule in current_app.url_map.iter_rules():
        view = current_app.view_functions.get(rule.endpoint)
        operation, access = declared_operation(view), declared(view)
        if view is None or operation is None:
            continue
        if access is None:  # tests/test_api_scopes.py names it; the document cannot
            raise LookupError(f"{rule.endpoint} declares an operation but no access")
        spec.feed(view, operation, access)
        routes[operation.operation_id] = (operation, access)
    generated = spec.spec
    paths: dict[str, dict[str, Any]] = {}
    for path, item in sorted(generated["paths"].items()):
        for method in METHODS:
            if method in item:
                operation, access = routes[item[method]["operationId"]]
                paths.setdefault(path, {})[method] = _complete(
                    item[method], operation, access, method
                )
    schemas = {**generated["components"]["schemas"], **component_schemas()}
    return paths, schemas


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> Any:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def _complete(
    generated: dict[str, Any], operation: Operation, access: Access, method: str
) -> dict[str, Any]:
    """spectree's operation, with the declaration's texts, parameters and answers, and
    what the HTTP layer adds to every route (``http``, ``access``)."""
    status, schema, what = operation.ok
    headers = {**RATE_HEADERS, **CONTENT_LANGUAGE, **operation.ok_headers}
    success: dict[str, Any] = (
        {"description": what, "headers": headers}  # no body: 204, or a 202 that says nothing
        if schema is None
        else _json(schema, what, headers)
    )
    if operation.links:
        success["links"] = dict(operation.links)
    parameters = [
        {**parameter, "schema": PATH_SCHEMAS.get(parameter["name"], parameter["schema"])}
        for parameter in generated["parameters"]
    ]
    parameters += operation.params
    statuses = {*ALWAYS, *operation.errors, 401}  # 401: a credential sent and no good
    if operation.body is not None or operation.body_types:
        statuses |= set(WITH_BODY)
    if access.scope is not None or not access.keys:
        statuses.add(403)
    responses: dict[str, Any] = {str(status): success}
    for code in statuses:
        responses[str(code)] = _json(ref("Error"), ERRORS[code], CONTENT_LANGUAGE)
    # A tagged read answers 304 to If-None-Match.
    if method == "get" and (operation.cached or "ETag" in headers):
        headers.update(
            ETag={"schema": HEADER_STRING, "description": "The body's entity tag."},
            **{"Cache-Control": {"schema": HEADER_STRING}},
        )
        parameters.append(IF_NONE_MATCH)
        responses["304"] = NOT_MODIFIED
    if any(parameter["name"] == "cursor" for parameter in parameters):
        headers.update(LINK)  # a cursor page links the next
    responses["429"] = {
        **responses["429"],
        "headers": {**RETRY_AFTER, **RATE_HEADERS, **CONTENT_LANGUAGE},
    }
    responses["503"] = {**responses["503"], "headers": {**RETRY_AFTER, **CONTENT_LANGUAGE}}
    completed = {
        **generated,
        "summary": operation.summary,
        "description": operation.description or operation.summary + ".",
        "parameters": parameters,
        "responses": dict(sorted(responses.items())),
    }
    if operation.body_types:  # the body is a file, not JSON
        completed["requestBody"] = {
            "required": True,
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in operation.body_types
            },
        }
    return completed


def _declarations() -> tuple[dict[str, Any], dict[str, Any]]:
    """Generated once per app (the routes do not change while it runs)."""
    made = current_app.extensions.get("storefront.openapi")
    if made is None:
        made = current_app.extensions["storefront.openapi"] = _generate()
    return made  # type: ignore[no-any-return]


def openapi_document(shop_name: str) -> dict[str, Any]:
    paths, schemas = _declarations()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{shop_name} API",
            "version": VERSION,
            "description": 'Errors are always {"error": {"code", "message"}}: error.code '
            "is the stable machine code, error.message is for people, in the answer's "
            "language (?locale=, Accept-Language, else the shop's default; Content-Language "
            "names it), as every text of the API is. Writes need "
            "Content-Type: application/json. Amounts are Money objects (minor units, "
            "currency, display). Catalog reads are public and cacheable; carts are held "
            "by X-Cart-Token; staff resources live under /api/v1/admin. See docs/api.md.",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": name} for name in TAGS],
        "paths": paths,
        "components": {
            "schemas": schemas,
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
