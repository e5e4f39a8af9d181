"""The catalog by cursor, both ways (issue 31: what Shopify's and Saleor's storefront APIs
give a headless client): a walk forward and back meets every product once in every
sort, a product added meanwhile shifts nothing, page numbers keep working and hand
over cursors, and any cursor of the documented pattern is a place, never an error."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host

SORTS = ("newest", "price_asc", "price_desc", "title", "relevance")


@pytest.fixture
def shop(app, make_shop):
    shop = make_shop("cursors")
    with app.app_context(), tenant_context(shop):
        catalog.create_category("Tents")
        for i in range(11):
            # Ties on purpose: prices and titles repeat, so the id must break them.
            catalog.create_product(
                f"C-{i}",
                f"Tent {'ÄBC'[i % 3]}",
                1000 + 100 * (i % 4),
                stock=3,
                categories=["tents"] if i % 2 else [],
            )
        db.session.flush()
        # The same moment for several rows, as a bulk import makes them.
        db.session.execute(update(Product).where(Product.sku.in_(["C-2", "C-3", "C-4"])).values(
            created_at=db.session.scalar(
                db.select(Product.created_at).where(Product.sku == "C-2")
            )
        ))  # fmt: skip
        db.session.commit()
    return shop


def _walk(client, shop, query: str) -> tuple[list[int], list[int], dict]:
    """Forward from the start to the end by next_cursor, then back by prev_cursor."""
    forward, pages = [], 0
    answer = client.get(f"/api/v1/products?{query}", headers=host(shop)).json
    while True:
        pages += 1
        forward += [p["id"] for p in answer["data"]]
        if answer["meta"]["next_cursor"] is None or pages > 20:
            break
        answer = client.get(
            f"/api/v1/products?{query}&cursor={answer['meta']['next_cursor']}", headers=host(shop)
        ).json
    last = answer
    backward = [p["id"] for p in last["data"]]
    while last["meta"]["prev_cursor"] is not None and pages < 40:
        pages += 1
        last = client.get(
            f"/api/v1/products?{query}&cursor={last['meta']['prev_cursor']}", headers=host(shop)
        ).json
        backward = [p["id"] for p in last["data"]] + backward
    return forward, backward, answer


@pytest.mark.parametrize("sort", SORTS)
def test_a_walk_by_cursor_meets_every_product_once_both_ways(app, client, shop, sort):
    everything = client.get(f"/api/v1/products?per_page=100&sort={sort}", headers=host(shop))
    expected = [p["id"] for p in everything.json["data"]]
    assert len(expected) == 11
    query = f"limit=3&sort={sort}" + ("&q=tent" if sort == "relevance" else "")
    if sort == "relevance":
        everything = client.get("/api/v1/products?per_page=100&q=tent", headers=host(shop))
        expected = [p["id"] for p in everything.json["data"]]
    forward, backward, _ = _walk(client, shop, query)
    assert forward == expected
    assert backward == expected


def test_a_product_added_during_the_walk_shifts_nothing(app, client, shop):
    first = client.get("/api/v1/products?limit=4&sort=price_asc", headers=host(shop)).json
    seen = [p["id"] for p in first["data"]]
    with app.app_context(), tenant_context(shop):
        catalog.create_product("C-NEW", "Cheapest", 1, stock=1)  # ahead of every page
        db.session.commit()
    second = client.get(
        f"/api/v1/products?limit=4&sort=price_asc&cursor={first['meta']['next_cursor']}",
        headers=host(shop),
    ).json
    assert not set(seen) & {p["id"] for p in second["data"]}
    back = client.get(
        f"/api/v1/products?limit=4&sort=price_asc&cursor={second['meta']['prev_cursor']}",
        headers=host(shop),
    ).json
    assert [p["id"] for p in back["data"]] == seen  # the new one is before these
    assert back["meta"]["prev_cursor"] is not None  # and reachable going on back


def test_links_name_both_neighbours_and_the_filters(app, client, shop):
    answer = client.get("/api/v1/products?limit=2&category=tents&sort=title", headers=host(shop))
    assert answer.json["meta"] == {
        "limit": 2,
        "next_cursor": answer.json["meta"]["next_cursor"],
        "prev_cursor": None,
    }
    nxt = answer.headers["Link"].split(";")[0].strip("<>")
    args = parse_qs(urlsplit(nxt).query)
    assert args["category"] == ["tents"] and args["cursor"] == [answer.json["meta"]["next_cursor"]]
    second = client.get(nxt.removeprefix("http://cursors.test"), headers=host(shop))
    assert 'rel="next"' in second.headers["Link"] and 'rel="prev"' in second.headers["Link"]
    assert all("tents" in p["categories"] for p in second.json["data"])


def test_pages_by_number_keep_working_and_hand_over_cursors(app, client, shop):
    page2 = client.get("/api/v1/products?page=2&per_page=4", headers=host(shop)).json
    assert {"page": 2, "per_page": 4, "total": 11, "pages": 3}.items() <= page2["meta"].items()
    page3 = client.get(
        f"/api/v1/products?limit=4&cursor={page2['meta']['next_cursor']}", headers=host(shop)
    ).json
    by_number = client.get("/api/v1/products?page=3&per_page=4", headers=host(shop)).json
    assert [p["id"] for p in page3["data"]] == [p["id"] for p in by_number["data"]]
    page1 = client.get(
        f"/api/v1/products?limit=4&cursor={page2['meta']['prev_cursor']}", headers=host(shop)
    ).json
    first = client.get("/api/v1/products?page=1&per_page=4", headers=host(shop)).json
    assert [p["id"] for p in page1["data"]] == [p["id"] for p in first["data"]]
    assert first["meta"]["prev_cursor"] is None and page1["meta"]["prev_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "na.0.0",
        "nb.99999999999999999.9999999999",
        "ta..1",
        "tb.ff00.3",
        "pda.5.1",
        "ra.999.0",
        "rb.0.0",
        "ta." + "c3" * 800 + ".1",
    ],  # fmt: skip
)
def test_any_cursor_of_the_pattern_is_a_place_not_an_error(app, client, shop, cursor):
    answer = client.get(f"/api/v1/products?cursor={cursor}&q=tent", headers=host(shop))
    assert answer.status_code == 200, answer.json
    assert set(answer.json["meta"]) == {"limit", "next_cursor", "prev_cursor"}


@pytest.mark.parametrize("cursor", ["x", "na.1", "na.1.2.3", "ta.abc.1", "1764057600000000.42"])
def test_a_cursor_off_the_pattern_is_a_400(app, client, shop, cursor):
    answer = client.get(f"/api/v1/products?cursor={cursor}", headers=host(shop))
    assert answer.status_code == 400 and "cursor" in answer.json["error"]["message"]
