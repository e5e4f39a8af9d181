"""Metrics: /_metrics is for this machine or a token holder, requests are counted with
bounded labels (page-cache answers too), jobs, webhooks and mails move their counters,
per-shop figures live in usage (today, busiest, ``tenantctl usage``), and neither a
Redis outage nor a database outage fails a request or a scrape."""

from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from storefront.metrics import usage
from tests.fixtures.factories import add_products, host

TOKEN = "scrape-token-0123456789"
REMOTE = {"REMOTE_ADDR": "203.0.113.9"}


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/_metrics")
    assert answer.status_code == 200, answer.status_code
    assert answer.content_type.startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def shops(app, two_shops):
    acme, globex = two_shops
    add_products(app, acme, "Anvil")
    add_products(app, globex, "Tent")
    return acme, globex


@pytest.mark.settings(METRICS_TOKEN=TOKEN)
def test_the_endpoint_is_for_this_machine_or_a_token_holder(client, shops):
    acme, _ = shops
    assert client.get("/_metrics").status_code == 200  # loopback (the test client's)
    assert client.get("/_metrics", headers=host(acme)).status_code == 200  # any host
    assert client.get("/_metrics", environ_base=REMOTE).status_code == 404
    relayed = {"X-Forwarded-For": "203.0.113.9"}
    assert client.get("/_metrics", headers=relayed).status_code == 404
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/_metrics", headers=wrong, environ_base=REMOTE).status_code == 404
    right = {"Authorization": f"Bearer {TOKEN}"}
    answer = client.get("/_metrics", headers=right, environ_base=REMOTE)
    assert answer.status_code == 200 and "storefront_http_requests_total" in answer.text


def test_without_a_token_configured_only_this_machine(client):
    right = {"Authorization": "Bearer "}
    assert client.get("/_metrics", headers=right, environ_base=REMOTE).status_code == 404


def test_requests_are_counted_by_route_method_and_status_class(app, client, shops):
    acme, globex = shops
    before = scrape(client)
    for shop in (acme, globex):
        client.get("/products", headers=host(shop))  # rendered, kept in the page cache
        client.get("/products", headers=host(shop))  # answered from the cache
    client.get("/products", headers=host(acme))
    client.get("/nowhere-at-all", headers=host(acme))
    client.post("/products", headers=host(acme))
    after = scrape(client)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    total = "storefront_http_requests_total"
    assert moved(total, route="/products", method="GET", status="2xx") == 5
    assert moved(total, route="unmatched", method="GET", status="4xx") == 1
    assert moved(total, route="unmatched", method="POST", status="4xx") == 1  # 405
    assert moved("storefront_page_cache_total", result="hit") == 3  # the cached answers
    assert moved("storefront_page_cache_total", result="miss") == 3  # the 404 was looked up too
    assert moved("storefront_page_cache_total", result="bypass") == 1  # the POST
    count = "storefront_http_request_duration_seconds_count"
    assert moved(count, route="/products", method="GET") == 5
    assert moved("storefront_http_request_sql_statements_count") >= 4  # not the hits
    assert moved("storefront_http_request_sql_statements_sum") > 0
    assert moved("storefront_http_request_sql_seconds_sum") > 0

    with app.app_context():
        a, g = usage.today(acme.id), usage.today(globex.id)
        assert a["requests"] == 5 and g["requests"] == 2
        assert a["request_seconds"] > 0 and a["sql_statements"] > 0
        assert a["errors"] == 0
        busiest = {load.shop_id: load for load in usage.busiest()}
        assert set(busiest) >= {acme.id, globex.id}
        assert busiest[acme.id].requests_per_minute == pytest.approx(5 / usage.WINDOW_MINUTES)
        assert 0 < busiest[acme.id].busy_share < 1
        assert sum(load.busy_share for load in busiest.values()) == pytest.approx(1, abs=0.01)
    per_shop = "storefront_shop_requests_per_minute"
    assert value(after, per_shop, shop="acme") == pytest.approx(5 / usage.WINDOW_MINUTES)
    assert value(after, per_shop, shop="globex") == pytest.approx(2 / usage.WINDOW_MINUTES)
    assert value(after, "storefront_shops_active") == 2
