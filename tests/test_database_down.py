"""A database outage is a clear 503, never a 500, wherever the error surfaces.

The real restart is exercised by ``make drills`` (MariaDB stopped and started under load);
these tests pin the three places an outage can surface in a request.
"""

from __future__ import annotations

import pytest
from sqlalchemy.exc import InterfaceError, OperationalError

from tests.fixtures.factories import host


def refused() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("(2003) Can't connect: refused"))


@pytest.mark.settings(TESTING=False, PROPAGATE_EXCEPTIONS=False)
def test_outage_in_a_view_is_503(app, client, make_shop, monkeypatch):
    shop = make_shop("acme")
    from storefront.catalog import services

    def down(*args, **kwargs):
        raise refused()

    monkeypatch.setattr(services, "list_products", down)
    response = client.get("/products", headers=host(shop))
    assert response.status_code == 503 and "briefly unavailable" in response.text
    api = client.get("/api/v1/products", headers=host(shop))
    assert api.status_code == 503 and api.json["error"]["code"] == "unavailable"


@pytest.mark.settings(TESTING=False, PROPAGATE_EXCEPTIONS=False)
def test_outage_after_the_view_is_503(app, client, make_shop):
    shop = make_shop("acme")

    @app.after_request
    def touch_database(response):
        raise InterfaceError("ROLLBACK", {}, Exception("(0, '') connection lost"))

    response = client.get("/cart/", headers=host(shop))
    assert response.status_code == 503


@pytest.mark.settings(TESTING=False, PROPAGATE_EXCEPTIONS=False)
def test_a_real_bug_is_still_a_500(app, client, make_shop, monkeypatch):
    shop = make_shop("acme")
    from storefront.catalog import services

    def bug(*args, **kwargs):
        raise KeyError("oops")

    monkeypatch.setattr(services, "list_products", bug)
    assert client.get("/products", headers=host(shop)).status_code == 500
