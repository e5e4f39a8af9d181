"""Each route is one URL; its other spelling (with or without the final slash) redirects.

Werkzeug sent ``/cart`` on to ``/cart/`` but answered 404 at ``/checkout/``, ``/account/``,
``/products/`` and ``/login/``: a link typed or pasted the other way was a dead end.
"""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter, PathConverter

from tests.fixtures.factories import host

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _concrete(rule) -> str | None:
    """The rule's path with a stand-in value for each argument (None for ``<path:…>``,
    whose value may end with a slash itself: it has no other spelling)."""
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, PathConverter):
            return None
        values[name] = 1 if isinstance(converter, IntegerConverter) else "x"
    return rule.build(values)[1]


def _every_route(app) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        path = _concrete(rule)
        if path is None or path == "/":
            continue
        routes.extend((method, path) for method in sorted(rule.methods - IGNORED_METHODS))
    return sorted(set(routes))


def _other(path: str) -> str:
    return path[:-1] if path.endswith("/") else path + "/"


def test_every_route_redirects_its_other_spelling_keeping_method_and_query(app, client, make_shop):
    shop = make_shop("acme")
    routes = _every_route(app)
    assert ("GET", "/checkout") in routes and ("GET", "/cart/") in routes
    assert ("POST", "/cart/add") in routes and ("POST", "/api/v1/checkout") in routes
    for method, path in routes:
        answer = client.open(
            _other(path), method=method, query_string="a=1&b=%C3%A9", headers=host(shop)
        )
        assert answer.status_code == 308, (method, path, answer.status_code)
        # 308, not 301: a browser or API client sends a POST again as a POST, body and all.
        assert answer.location == f"http://{shop.primary_host}{path}?a=1&b=%C3%A9", (method, path)


@pytest.mark.parametrize("path", ["/checkout", "/account", "/products", "/login", "/cart/"])
def test_the_pages_answer_at_one_spelling_and_redirect_from_the_other(client, make_shop, path):
    shop = make_shop("acme")
    page = client.get(path, headers=host(shop), follow_redirects=True)
    assert page.status_code == 200
    other = client.get(_other(path), headers=host(shop))
    assert other.status_code == 308 and other.location.endswith(path)
    assert client.get(_other(path), headers=host(shop), follow_redirects=True).status_code == 200


def test_the_redirect_keeps_the_language_prefix(client, make_shop):
    shop = make_shop(
        "acme",
        settings='name = "Acme"\nlocales = ["en_US", "fr_FR"]\ncontact_email = "a@example.com"\n',
    )
    answer = client.get("/fr/products/", headers=host(shop))
    assert answer.status_code == 308
    assert answer.location == f"http://{shop.primary_host}/fr/products"
    assert client.get("/fr/products", headers=host(shop)).status_code == 200


def test_only_a_route_that_exists_is_redirected_to(client, make_shop):
    shop = make_shop("acme")
    assert client.get("/nowhere/", headers=host(shop)).status_code == 404
    # A route with another method is not one to redirect to: GET of a POST-only URL.
    assert client.get("/cart/add/", headers=host(shop)).status_code == 404
    # Doubled slashes are Werkzeug's to merge (one hop), never a jump to another host.
    answer = client.get("/", environ_overrides={"PATH_INFO": "//evil.example/"}, headers=host(shop))
    assert answer.status_code in (308, 404)
    assert not answer.location or answer.location.startswith(f"http://{shop.primary_host}/")
    unknown = client.get("/checkout/", headers={"Host": "nobody.test"})
    assert unknown.status_code == 404  # an unknown host stays the platform's 404
