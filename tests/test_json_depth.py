"""A JSON body nested deeper than ``json_limits.MAX_DEPTH`` is a 400 in the API's error
shape on every JSON write, never a 500 (``RecursionError`` in the parser).

The red team sent a 2 KB body nested 1,000 deep to the anonymous writes (cart, checkout,
login, register) and got 500s; the walk below sends it to every write route the URL map
serves to guests, and to one that needs a key.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from storefront.accounts import tokens
from storefront.accounts.models import User
from storefront.api.access import declared
from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.json_limits import MAX_DEPTH, depth
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host

ARRAYS = "[" * 1000 + "]" * 1000  # 2 KB
OBJECTS = '{"a":' * 1000 + "1" + "}" * 1000


@pytest.fixture
def shop(app, make_shop, make_user):
    acme = make_shop("acme")
    make_user(acme, "staff@example.com", roles=["staff"])
    with app.app_context(), tenant_context(acme):
        catalog.create_product("A-1", "Anvil", 1999, stock=5)
        db.session.commit()
    return acme


def refused_as_too_deep(answer) -> bool:
    error = answer.json["error"]
    return (
        answer.status_code == 400
        and error["code"] == "bad_request"
        and f"more than {MAX_DEPTH} levels" in error["message"]
    )


def anonymous_writes(app):
    for rule in app.url_map.iter_rules():
        access = declared(app.view_functions[rule.endpoint])
        if rule.rule.startswith("/api/") and access is not None and access.anonymous:
            for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
                yield method, re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", "1", rule.rule)


def test_every_anonymous_json_write_refuses_a_body_nested_1000_deep(app, client, shop):
    writes = sorted(anonymous_writes(app))
    # cart add and change, checkout, login, register at least
    assert len(writes) >= 5, writes
    for method, path in writes:
        for text in (ARRAYS, OBJECTS):
            answer = client.open(
                path,
                method=method,
                data=text,
                content_type="application/json",
                headers={**host(shop), "Idempotency-Key": "d" * 20},
            )
            assert refused_as_too_deep(answer), (method, path, answer.status_code, answer.text)


def test_a_staff_write_refuses_it_too(app, client, shop):
    with app.app_context(), tenant_context(shop):
        staff = db.session.scalar(select(User).where(User.email == "staff@example.com"))
        key = tokens.create_key(staff, "deep").secret
        db.session.commit()
    auth = {**host(shop), "Authorization": f"Bearer {key}"}
    nested = '{"title":' * 1000 + '"x"' + "}" * 1000
    answer = client.post(
        "/api/v1/admin/products", data=nested, content_type="application/json", headers=auth
    )
    assert refused_as_too_deep(answer), answer.text
    # UTF-16 (which JSON allows) is measured as what it decodes to
    utf16 = client.post(
        "/api/v1/admin/products",
        data=ARRAYS.encode("utf-16"),
        content_type="application/json",
        headers=auth,
    )
    assert refused_as_too_deep(utf16), utf16.text


def test_a_body_at_the_limit_is_parsed_and_brackets_in_strings_do_not_count(app, client, shop):
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert depth(at_limit) == MAX_DEPTH
    assert depth('{"sku": "' + "[{" * 5000 + '", "title": "\\"]]"}') == 1
    answer = client.post(
        "/api/v1/cart/items", data=at_limit, content_type="application/json", headers=host(shop)
    )
    assert answer.status_code == 400 and "JSON object" in answer.json["error"]["message"]
    hidden = {"product_id": 1, "quantity": 1, "note": "[" * 5000}
    answer = client.post("/api/v1/cart/items", json=hidden, headers=host(shop))
    assert answer.status_code == 422 and "levels deep" not in answer.text  # "note" is unknown
