"""The OpenAPI 3.1 document for ``/api/v1``.

The component schemas are generated from the pydantic models in ``schemas`` (the same
ones that validate requests and build answers); the paths are a table here. A test walks
the app's URL map and fails if a route or method is missing here, or if this document
names one the app does not serve; another validates real answers against the schemas.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from .schemas import DOCUMENTED

VERSION = "1.0.0"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = _json(_ref("Error"), "Error")
PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    },
]


def _data(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"data": schema}, "required": ["data"]}


def _listing(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"data": {"type": "array", "items": _ref(item)}, "meta": _ref("PageMeta")},
        "required": ["data", "meta"],
    }


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


STAFF: list[dict[str, list[str]]] = [{"apiKey": []}, {"authToken": []}]
SHOPPER: list[dict[str, list[str]]] = [{"authToken": []}, {"session": []}]

PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/products": {
        "get": {
            "summary": "Active products, paginated",
            "parameters": [
                *PAGING,
                {"name": "q", "in": "query", "schema": {"type": "string"}},
                {"name": "category", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "sort",
                    "in": "query",
                    "schema": {"enum": ["newest", "price_asc", "price_desc", "title"]},
                },
            ],
            "responses": {"200": _json(_listing("Product")), "400": ERROR, "404": ERROR},
        },
        "post": {
            "summary": "Create a product (staff)",
            "security": STAFF,
            "requestBody": _body("ProductIn"),
            "responses": {
                "201": _json(_data(_ref("Product")), "Created"),
                "401": ERROR,
                "403": ERROR,
                "409": ERROR,
                "415": ERROR,
                "422": ERROR,
            },
        },
    },
    "/api/v1/products/{slug}": {
        "parameters": [
            {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "get": {
            "summary": "One active product",
            "responses": {"200": _json(_data(_ref("Product"))), "404": ERROR},
        },
        "patch": {
            "summary": "Change a product (staff); only the fields sent change",
            "security": STAFF,
            "requestBody": _body("ProductPatch"),
            "responses": {
                "200": _json(_data(_ref("Product"))),
                "401": ERROR,
                "403": ERROR,
                "404": ERROR,
                "409": ERROR,
                "422": ERROR,
            },
        },
    },
    "/api/v1/categories": {
        "get": {
            "summary": "The category tree",
            "responses": {"200": _json(_data({"type": "array", "items": _ref("Category")}))},
        }
    },
    "/api/v1/cart": {
        "get": {
            "summary": "The session's cart; with ?country= (and ?discount_code=) its totals",
            "security": [{"session": []}, {}],
            "parameters": [
                {"name": "country", "in": "query", "schema": {"type": "string"}},
                {"name": "discount_code", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {"200": _json(_data(_ref("Cart")))},
        }
    },
    "/api/v1/cart/items": {
        "post": {
            "summary": "Add a product to the cart",
            "requestBody": _body("CartItemIn"),
            "responses": {
                "201": _json(_data(_ref("Cart")), "Added"),
                "409": ERROR,
                "415": ERROR,
                "422": ERROR,
            },
        }
    },
    "/api/v1/cart/items/{item_id}": {
        "parameters": [
            {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}
        ],
        "patch": {
            "summary": "Set a line's quantity (0 removes it)",
            "requestBody": _body("QuantityIn"),
            "responses": {"200": _json(_data(_ref("Cart"))), "404": ERROR, "409": ERROR},
        },
        "delete": {
            "summary": "Remove a line",
            "responses": {"200": _json(_data(_ref("Cart"))), "404": ERROR},
        },
    },
    "/api/v1/orders": {
        "get": {
            "summary": "The signed-in shopper's orders, newest first",
            "security": SHOPPER,
            "parameters": PAGING,
            "responses": {"200": _json(_listing("Order")), "401": ERROR},
        }
    },
    "/api/v1/orders/{number}": {
        "parameters": [
            {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "get": {
            "summary": "One of the shopper's own orders",
            "security": SHOPPER,
            "responses": {"200": _json(_data(_ref("Order"))), "401": ERROR, "404": ERROR},
        },
        "patch": {
            "summary": "Move an order to another status (staff); a refused move says why",
            "security": STAFF,
            "requestBody": _body("OrderStatusIn"),
            "responses": {
                "200": _json(_data(_ref("Order"))),
                "401": ERROR,
                "403": ERROR,
                "404": ERROR,
                "409": ERROR,
                "422": ERROR,
            },
        },
    },
    "/api/v1/openapi.json": {
        "get": {"summary": "This document", "responses": {"200": {"description": "OK"}}}
    },
}

MONEY = {
    "type": ["object", "null"],
    "properties": {
        "amount": {"type": "integer", "description": "minor units (cents)"},
        "currency": {"type": "string"},
        "display": {"type": "string"},
    },
}


def _schemas() -> dict[str, Any]:
    """The component schemas, generated from the models the API validates and answers with."""
    _, top = models_json_schema(
        [(model, "validation") for model in DOCUMENTED],
        ref_template="#/components/schemas/{model}",
    )
    return dict(top["$defs"])


@cache
def component_schemas() -> dict[str, Any]:
    return _schemas()


def openapi_document(shop_name: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{shop_name} API",
            "version": VERSION,
            "description": 'Errors are always {"error": {"code", "message"}}. Writes '
            "need Content-Type: application/json.",
        },
        "servers": [{"url": "/"}],
        "paths": PATHS,
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "sf_… API key"},
                "authToken": {"type": "apiKey", "in": "header", "name": "Authentication-Token"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }
